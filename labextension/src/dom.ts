/**
 * Small DOM helpers the panel's views share.
 */

/** A paragraph of plain text (a note, a hint, an error line). */
export function note(text: string, className = 'jp-Flow-note'): HTMLElement {
  const p = document.createElement('p');
  p.className = className;
  p.textContent = text;
  return p;
}
