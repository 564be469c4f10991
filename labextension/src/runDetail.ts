/**
 * The selected run's page in the Flow panel: what it ran with (parameters, trigger,
 * backend), its steps (click one to see only its logs), its outputs (click one for a
 * preview: a DataFrame's first rows, a figure, an array, a repr) and the log tail.
 */
import { failureNote, failureOf } from './failure';
import { note } from './dom';
import { isActive } from './model';
import { IArtifact, IPreview, IRunSummary } from './types';
import { __ } from './i18n';

/** What the run page needs from its owner (the runs list, which polls). */
export interface IRunDetailHost {
  /** The shown step or preview changed: fetch what is now needed and render again. */
  changed(): void;
  /** Load a preview of one output. */
  preview(artifact: IArtifact): Promise<IPreview>;
}

export class RunDetail {
  constructor(private readonly _host: IRunDetailHost) {
    this.node = document.createElement('div');
    this.node.className = 'jp-Flow-runDetail';
  }

  readonly node: HTMLDivElement;

  /** The step whose logs are shown, or null for the whole run. */
  get step(): string | null {
    return this._step;
  }

  /** A new run is shown: forget the step and the preview of the last one. */
  reset(): void {
    this._step = null;
    this._preview = null;
    this._previewing = null;
    this._artifacts = [];
  }

  setArtifacts(artifacts: IArtifact[]): void {
    this._artifacts = artifacts;
  }

  render(run: IRunSummary | undefined, logs: string, errors: string[]): void {
    this.node.textContent = '';
    for (const error of errors.filter(Boolean)) {
      this.node.appendChild(note(error, 'jp-Flow-error'));
    }
    if (!run) {
      return;
    }
    this._run = run;
    const failure = failureOf(run);
    if (failure) {
      this.node.appendChild(failureNote(failure));
    }
    this.node.appendChild(facts(run));
    this.node.appendChild(this._stepsTable(run));
    this.node.appendChild(this._artifactsTable(run));
    if (this._previewing || this._preview) {
      this.node.appendChild(this._previewNode());
    }
    const title = document.createElement('h4');
    title.className = 'jp-Flow-logsTitle';
    title.textContent = this._step ? __('Logs of %1', this._step) : __('Logs');
    const pre = document.createElement('pre');
    pre.className = 'jp-Flow-logs';
    const silent = isActive(run) ? __('(no output yet)') : __('(nothing printed)');
    pre.textContent = logs || (this._step ? '' : (run.launch_log ?? '')) || silent;
    this.node.append(title, pre);
  }

  private _stepsTable(run: IRunSummary): HTMLElement {
    const table = document.createElement('table');
    table.className = 'jp-Flow-steps';
    for (const step of run.steps) {
      const row = table.insertRow();
      row.dataset.step = step.name;
      row.title = __('Show only this step’s logs (click again for all)');
      row.classList.toggle('jp-mod-selected', step.name === this._step);
      row.insertCell().textContent = step.name;
      const status = row.insertCell();
      status.textContent = step.status;
      status.className = `jp-Flow-stepStatus jp-Flow-stepStatus-${step.status}`;
      row.insertCell().textContent = `${step.tasks_done}/${step.tasks_total}`;
      if (step.caught_note) {
        status.textContent = `⚠ ${step.status}`;
        row.title = __('%1. %2', step.caught_note, row.title);
      }
      row.addEventListener('click', () => {
        this._step = this._step === step.name ? null : step.name;
        this._host.changed();
      });
    }
    return table;
  }

  private _artifactsTable(run: IRunSummary): HTMLElement {
    const section = document.createElement('div');
    section.className = 'jp-Flow-artifacts';
    const title = document.createElement('h4');
    title.textContent = __('Outputs');
    section.appendChild(title);
    if (this._artifacts.length === 0) {
      section.appendChild(
        note(isActive(run) ? __('None saved yet.') : __('This run saved no outputs.'))
      );
      return section;
    }
    const table = document.createElement('table');
    for (const artifact of this._artifacts) {
      const row = table.insertRow();
      const key = artifactKey(artifact);
      row.dataset.artifact = key;
      row.classList.toggle('jp-mod-selected', key === this._previewing);
      row.title = __('Preview this value');
      const name = artifact.foreach ? `${artifact.name}[${artifact.index}]` : artifact.name;
      row.insertCell().textContent = `${artifact.step}.${name}`;
      row.insertCell().textContent = artifact.type;
      row.insertCell().textContent = artifact.summary;
      row.addEventListener('click', () => void this._showPreview(artifact));
    }
    section.appendChild(table);
    return section;
  }

  private async _showPreview(artifact: IArtifact): Promise<void> {
    const key = artifactKey(artifact);
    if (this._previewing === key && this._preview) {
      this._previewing = null; // a second click closes it
      this._preview = null;
      this._host.changed();
      return;
    }
    this._previewing = key;
    this._preview = null;
    this._rerender();
    let answer: IPreview;
    try {
      answer = await this._host.preview(artifact);
    } catch (error) {
      const message = String((error as Error).message ?? error);
      answer = {
        step: artifact.step,
        index: artifact.index,
        name: artifact.name,
        kind: 'error',
        message
      };
    }
    if (this._previewing === key) {
      this._preview = answer;
      this._rerender();
    }
  }

  private _rerender(): void {
    const logs = this.node.querySelector('.jp-Flow-logs')?.textContent ?? '';
    const errors = Array.from(this.node.querySelectorAll(':scope > .jp-Flow-error')).map(
      node => node.textContent ?? ''
    );
    if (this._run) {
      this.render(this._run, logs, errors);
    }
  }

  private _previewNode(): HTMLElement {
    const box = document.createElement('div');
    box.className = 'jp-Flow-preview';
    const shown = this._preview;
    if (!shown) {
      box.appendChild(note(__('Loading…')));
      return box;
    }
    box.dataset.kind = shown.kind;
    if (shown.kind === 'table') {
      box.appendChild(note(__('%1 rows × %2 columns', shown.shape[0], shown.shape[1])));
      box.appendChild(frameTable(shown.columns, shown.index, shown.rows));
    } else if (shown.kind === 'image') {
      const image = document.createElement('img');
      image.src = `data:image/png;base64,${shown.png}`;
      image.alt = `${shown.step}.${shown.name}`;
      box.appendChild(image);
    } else if (shown.kind === 'text') {
      if (shown.shape) {
        box.appendChild(note(__('array %1 of %2', shown.shape.join(' × '), String(shown.dtype))));
      }
      const pre = document.createElement('pre');
      pre.textContent = shown.text;
      box.appendChild(pre);
    } else {
      box.appendChild(note(shown.message, 'jp-Flow-error'));
    }
    return box;
  }

  private _run: IRunSummary | null = null;
  private _step: string | null = null;
  private _artifacts: IArtifact[] = [];
  private _previewing: string | null = null;
  private _preview: IPreview | null = null;
}

function artifactKey(artifact: IArtifact): string {
  return `${artifact.step}/${artifact.index}/${artifact.name}`;
}

/** Parameters, what started the run and where it ran: one line each. */
function facts(run: IRunSummary): HTMLElement {
  const list = document.createElement('dl');
  list.className = 'jp-Flow-runFacts';
  const params = Object.entries(run.params ?? {});
  const rows: [string, string][] = [
    [__('Parameters'), params.map(([k, v]) => `${k}=${String(v)}`).join(', ') || __('(defaults)')],
    [
      __('Started by'),
      run.schedule
        ? __('schedule %1', run.schedule)
        : run.origin_run
          ? __('resume of %1', run.origin_run)
          : __('hand')
    ]
  ];
  if (run.executor) {
    rows.push([__('Ran on'), run.executor]);
  }
  for (const [term, value] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    list.append(dt, dd);
  }
  return list;
}

function frameTable(columns: string[], index: string[], rows: string[][]): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'jp-Flow-frame';
  const head = table.createTHead().insertRow();
  head.appendChild(document.createElement('th'));
  for (const column of columns) {
    const th = document.createElement('th');
    th.textContent = column;
    head.appendChild(th);
  }
  const body = table.createTBody();
  rows.forEach((values, i) => {
    const row = body.insertRow();
    const th = document.createElement('th');
    th.textContent = index[i] ?? '';
    row.appendChild(th);
    for (const value of values) {
      row.insertCell().textContent = value;
    }
  });
  return table;
}
