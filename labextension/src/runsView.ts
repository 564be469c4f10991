/**
 * The runs of the current notebook's flow, whatever started them (this panel, `%flow run`,
 * the CLI, a schedule): polled while the panel is on screen, faster while any is active;
 * the selected run's steps and its log tail, and Stop on an active run.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { note } from './dom';
import { formatWhen, isActive, runProgress } from './model';
import { RunDetail } from './runDetail';
import { IFlowClient } from './tokens';
import { IRunSummary } from './types';
import { __ } from './i18n';

/** While a run is active: its steps and logs move. */
const ACTIVE_POLL_MS = 1500;
/** Otherwise: a run started elsewhere shows up within this (one cheap indexed listing). */
const IDLE_POLL_MS = 4000;

export class RunsView extends Widget {
  constructor(private readonly _client: IFlowClient) {
    super();
    this.addClass('jp-Flow-runsView');
    this._list = document.createElement('ul');
    this._list.className = 'jp-Flow-runs';
    this._detail = new RunDetail({
      changed: () => void this.refresh(),
      preview: artifact => {
        const { _path: path, _flow: flow, _selected: id } = this;
        if (!path || !flow || !id) {
          return Promise.reject(new Error('no run is selected'));
        }
        return this._client.preview(path, flow, id, artifact.step, artifact.name, artifact.index);
      }
    });
    this.node.append(this._list, this._detail.node);
  }

  /** The run whose page is shown (the DAG paints its step statuses), or null. */
  get shownRun(): ISignal<this, IRunSummary | null> {
    return this._shownRun;
  }

  /** Show the runs of `flow` (of the notebook at `path`). */
  setFlow(path: string | null, flow: string | null): void {
    if (path === this._path && flow === this._flow) {
      return;
    }
    this._path = path;
    this._flow = flow;
    this._runs = [];
    this._selected = null;
    this._logs = '';
    this._logsKey = '';
    this._artifactsKey = '';
    this._detail.reset();
    this._stopping.clear();
    this._stopError = '';
    void this.refresh();
  }

  /** Follow a run just started from the UI. */
  follow(id: string): void {
    if (id !== this._selected) {
      this._detail.reset();
    }
    this._selected = id;
    this._stopError = '';
    void this.refresh();
  }

  async refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    const { _path: path, _flow: flow } = this;
    const seq = ++this._seq;
    if (!path || !flow) {
      this._render();
      return;
    }
    try {
      const runs = await this._client.runs(path, flow);
      if (this._selected && !runs.some(run => run.id === this._selected)) {
        runs.unshift(await this._client.run(path, flow, this._selected));
      }
      for (const id of this._stopping) {
        if (!runs.some(run => run.id === id && isActive(run))) {
          this._stopping.delete(id);
        }
      }
      const selected = this._selected ?? runs[0]?.id ?? null;
      const chosen = runs.find(run => run.id === selected);
      // a finished run's logs and outputs do not change: fetched once, not at every poll
      const step = this._detail.step ?? undefined;
      const runKey = chosen ? `${chosen.id}:${chosen.status}` : '';
      const logsKey = `${runKey}:${step ?? ''}`;
      const logs =
        chosen && (isActive(chosen) || logsKey !== this._logsKey)
          ? (await this._client.logs(path, flow, chosen.id, step)).logs
          : this._logs;
      if (chosen && (isActive(chosen) || runKey !== this._artifactsKey)) {
        this._detail.setArtifacts((await this._client.artifacts(path, flow, chosen.id)).artifacts);
        this._artifactsKey = runKey;
      }
      if (seq !== this._seq) {
        return; // a newer refresh (a click, a Stop) has the last word
      }
      this._runs = runs;
      this._selected = selected;
      this._logs = chosen ? logs : '';
      this._logsKey = logsKey;
      this._error = '';
    } catch (error) {
      if (seq !== this._seq) {
        return;
      }
      this._error = String((error as Error).message ?? error);
    }
    if (path !== this._path || flow !== this._flow) {
      return;
    }
    this._render();
    this._schedule();
  }

  /** The next poll; skipped (but kept scheduled) while the panel is not on screen. */
  private _schedule(): void {
    window.clearTimeout(this._timer);
    if (this.isDisposed || !this._flow) {
      return;
    }
    const delay = this._runs.some(isActive) ? ACTIVE_POLL_MS : IDLE_POLL_MS;
    this._timer = window.setTimeout(() => {
      if (document.hidden || this.node.offsetParent === null) {
        this._schedule();
      } else {
        void this.refresh();
      }
    }, delay);
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
  }

  private _render(): void {
    this._list.textContent = '';
    if (!this._flow || this._runs.length === 0) {
      const empty = this._flow
        ? __('No runs yet: use Run Flow.')
        : __('No flow in this notebook yet.');
      this._list.appendChild(note(empty));
      this._detail.render(undefined, '', [this._error, this._stopError]);
      this._shownRun.emit(null);
      return;
    }
    for (const run of this._runs) {
      const item = document.createElement('li');
      item.className = 'jp-Flow-run';
      item.dataset.id = run.id;
      item.dataset.status = run.status;
      item.classList.toggle('jp-mod-selected', run.id === this._selected);
      const status = document.createElement('span');
      status.className = `jp-Flow-status jp-Flow-status-${run.status}`;
      status.textContent = run.status;
      const label = document.createElement('span');
      label.className = 'jp-Flow-runId';
      label.textContent = run.id;
      const when = document.createElement('span');
      when.className = 'jp-Flow-runWhen';
      when.textContent = [formatWhen(run.created), runProgress(run)].filter(Boolean).join(' · ');
      item.append(status, label, when);
      if (isActive(run)) {
        item.appendChild(this._stopButton(run.id));
      }
      item.addEventListener('click', () => this.follow(run.id));
      this._list.appendChild(item);
    }
    const chosen = this._runs.find(run => run.id === this._selected);
    this._detail.render(chosen, this._logs, [this._error, this._stopError]);
    this._shownRun.emit(chosen ?? null);
  }

  private _stopButton(id: string): HTMLButtonElement {
    const stopping = this._stopping.has(id);
    const button = document.createElement('button');
    button.className = 'jp-Button jp-mod-styled jp-mod-warn jp-Flow-stopRun';
    button.dataset.action = 'stop';
    button.title = __('Stop this run as Ctrl-C would: its tasks are cancelled, finished ones kept');
    button.textContent = stopping ? __('Stopping…') : __('Stop');
    button.disabled = stopping;
    button.addEventListener('click', event => {
      event.stopPropagation(); // stopping a run does not select it
      void this._stop(id, button);
    });
    return button;
  }

  /** Ask the server to stop the run; its status then comes from the usual polling. */
  private async _stop(id: string, button: HTMLButtonElement): Promise<void> {
    const { _path: path, _flow: flow } = this;
    if (!path || !flow || this._stopping.has(id)) {
      return;
    }
    this._stopping.add(id);
    this._stopError = '';
    button.disabled = true;
    button.textContent = __('Stopping…');
    try {
      await this._client.cancelRun(path, flow, id);
    } catch (error) {
      this._stopping.delete(id);
      this._stopError = String((error as Error).message ?? error);
    }
    if (path === this._path && flow === this._flow) {
      await this.refresh();
    }
  }

  private _list: HTMLUListElement;
  private _detail: RunDetail;
  private _shownRun = new Signal<this, IRunSummary | null>(this);
  private _path: string | null = null;
  private _flow: string | null = null;
  private _runs: IRunSummary[] = [];
  private _selected: string | null = null;
  private _logs = '';
  /** The run id and status the shown logs were fetched for. */
  private _logsKey = '';
  /** The run id and status the outputs were fetched for. */
  private _artifactsKey = '';
  /** Bumped by each refresh, so an older one that answers late is dropped. */
  private _seq = 0;
  private _error = '';
  private _stopError = '';
  /** Runs whose Stop was accepted, until they are no longer active. */
  private _stopping = new Set<string>();
  private _timer = 0;
}
