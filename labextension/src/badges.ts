/**
 * A badge on every `%%step` cell: step name, resources, inferred inputs/outputs; and
 * the located problems of a cell, shown on that cell.
 */
import { Cell } from '@jupyterlab/cells';
import { Notebook } from '@jupyterlab/notebook';
import { PanelLayout, Widget } from '@lumino/widgets';

import { describeStep, problemsByCell } from './model';
import { IGraph, IProblem, IStep } from './types';
import { __ } from './i18n';

export const BADGE_CLASS = 'jp-Flow-badge';
const PROBLEM_CLASS = 'jp-Flow-badge-problem';

export function renderBadges(notebook: Notebook, graph: IGraph | null, problems: IProblem[]): void {
  const byId = new Map<string, IStep>();
  const byIndex = new Map<number, IStep>();
  for (const step of graph?.steps ?? []) {
    if (step.cell_id) {
      byId.set(step.cell_id, step);
    }
    byIndex.set(step.cell_index, step);
  }
  const located = problemsByCell(problems);
  notebook.widgets.forEach((cell, i) => {
    const step = byId.get(cell.model.id) ?? byIndex.get(i + 1);
    const cellProblems = located.get(i + 1) ?? [];
    let badge = badges.get(cell);
    if (!step && cellProblems.length === 0) {
      badge?.dispose();
      badges.delete(cell);
      return;
    }
    if (!badge || badge.isDisposed) {
      badge = new Widget();
      badge.addClass(BADGE_CLASS);
      // A widget of the cell's own layout stays on top when the cell re-renders.
      (cell.layout as PanelLayout).insertWidget(0, badge);
      badges.set(cell, badge);
    }
    fillBadge(badge.node, step, cellProblems);
  });
}

const badges = new WeakMap<Cell, Widget>();

function fillBadge(badge: HTMLElement, step: IStep | undefined, problems: IProblem[]): void {
  badge.textContent = '';
  badge.classList.toggle(PROBLEM_CLASS, problems.length > 0);
  if (step) {
    badge.dataset.step = step.name;
    const text = document.createElement('span');
    text.className = 'jp-Flow-badge-text';
    text.textContent = describeStep(step);
    badge.appendChild(text);
  } else {
    delete badge.dataset.step;
  }
  for (const problem of problems) {
    const line = document.createElement('div');
    line.className = 'jp-Flow-badge-message';
    line.textContent = problem.hint
      ? __('%1 (%2)', problem.message, problem.hint)
      : problem.message;
    badge.appendChild(line);
  }
  badge.title = step ? describeStep(step) : problems.map(p => p.text).join('\n');
}
