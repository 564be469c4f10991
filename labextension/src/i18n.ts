/**
 * The extension's words go through JupyterLab's translator (domain "jupyter_flow"), as
 * the extension template and jupyterlab-git do. The views are made in many places (and by
 * tests, with no application), so the bundle is set once when the plugin activates and
 * read from here; until then a string passes through unchanged.
 */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';

export const DOMAIN = 'jupyter_flow';

let bundle: TranslationBundle | null = null;

/** Use `translator` (the application's ITranslator; null: none, strings as written). */
export function setTranslator(translator: ITranslator | null): void {
  bundle = (translator ?? nullTranslator).load(DOMAIN);
}

/** The translation of `msgid`, with `%1`, `%2`... replaced by `args`. */
export function __(msgid: string, ...args: (string | number)[]): string {
  bundle ??= nullTranslator.load(DOMAIN);
  return bundle.__(msgid, ...args);
}
