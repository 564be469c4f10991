/**
 * Where and why a run failed, worded by the server exactly as the CLI and the kernel word it
 * (`Run.summary()["failure"]`): "step 'combine' failed (cell 6, line 3: "..."): KeyError: 'y'".
 */
import { IRunSummary } from './types';
import { __ } from './i18n';

export interface IFailure {
  headline: string;
  /** 'cell 6, line 3: "..."' for an exported notebook, else the module file and line. */
  where: string;
  /** 1-based notebook cell, when the failing line is in a step cell. */
  cell: number | null;
  cell_id: string | null;
  /** 1-based line in that cell, counting its %%step line. */
  line: number | null;
}

export function failureOf(run: IRunSummary): IFailure | null {
  return (run as IRunSummary & { failure?: IFailure | null }).failure ?? null;
}

/** The failure as one line above the run's steps; the cell and line ride as data. */
export function failureNote(failure: IFailure): HTMLElement {
  const p = document.createElement('p');
  p.className = 'jp-Flow-error jp-Flow-failure';
  p.textContent = failure.headline;
  if (failure.cell !== null) {
    p.dataset.cell = String(failure.cell);
    p.title =
      failure.line !== null
        ? __('notebook cell %1, line %2', failure.cell, failure.line)
        : __('notebook cell %1', failure.cell);
  }
  if (failure.line !== null) {
    p.dataset.line = String(failure.line);
  }
  return p;
}
