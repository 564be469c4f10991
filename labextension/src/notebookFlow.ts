/**
 * The flow of one open notebook: re-analysed (unsaved content included) as the user
 * edits, exported on demand; badges follow every analysis.
 */
import { Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { renderBadges } from './badges';
import { FlowRequestError } from './request';
import { IFlowClient, INotebookFlow } from './tokens';
import { IExportResult, IGraph, IProblem } from './types';
import { __ } from './i18n';

const DEBOUNCE_MS = 600;

let warned = false;

/** Tell the user once when the server side is missing (not one toast per keystroke). */
function warnOnce(error: unknown): void {
  console.warn('jupyter-flow: cannot analyse the notebook', error);
  if (!warned && error instanceof FlowRequestError && error.problems.length === 0) {
    warned = true;
    const missing = error.status === 404;
    Notification.warning(
      missing
        ? __(
            'The jupyter_flow server extension is not enabled: run `%1` and restart JupyterLab.',
            'jupyter server extension enable jupyter_flow'
          )
        : __('Flow: cannot analyse the notebook: %1', error.message),
      { autoClose: false }
    );
  }
}

export class NotebookFlow implements INotebookFlow {
  constructor(
    readonly panel: NotebookPanel,
    private readonly _client: IFlowClient,
    private readonly _docManager: IDocumentManager
  ) {
    void panel.context.ready.then(() => {
      panel.context.model.contentChanged.connect(this._schedule, this);
      void this.refresh();
    });
    panel.disposed.connect(() => {
      window.clearTimeout(this._timer);
      Signal.clearData(this);
    });
  }

  get graph(): IGraph | null {
    return this._graph;
  }

  get problems(): IProblem[] {
    return this._problems;
  }

  get changed(): ISignal<INotebookFlow, void> {
    return this._changed;
  }

  async refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    const model = this.panel.context.model;
    if (this.panel.isDisposed || !model) {
      return;
    }
    const ticket = ++this._ticket;
    try {
      const graph = await this._client.graph(this.panel.context.path, model.toJSON());
      if (ticket !== this._ticket) {
        return;
      }
      this._graph = graph;
      this._problems = graph.problems;
    } catch (error) {
      if (ticket !== this._ticket) {
        return;
      }
      this._problems = error instanceof FlowRequestError ? error.problems : [];
      warnOnce(error);
    }
    this._update();
  }

  async exportFlow(): Promise<IExportResult | null> {
    const context = this.panel.context;
    await context.save();
    let result: IExportResult;
    try {
      result = await this._client.exportNotebook(context.path);
    } catch (error) {
      if (error instanceof FlowRequestError) {
        this._problems = error.problems;
        this._update();
        Notification.error(__('Export to Flow failed: %1', error.message), { autoClose: false });
        return null;
      }
      throw error;
    }
    this._problems = result.problems;
    if (this._graph) {
      this._graph = { ...this._graph, steps: result.steps, edges: result.edges };
    }
    this._update();
    this._docManager.openOrReveal(result.module_path, undefined, undefined, {
      mode: 'split-right',
      ref: this.panel.id
    });
    Notification.success(
      __('Exported %1 steps of %2 to %3', result.steps.length, result.flow, result.module_path),
      { autoClose: 4000 }
    );
    return result;
  }

  revealCell(index: number): void {
    const notebook = this.panel.content;
    const cell = notebook.widgets[index - 1];
    if (!cell) {
      return;
    }
    notebook.activeCellIndex = index - 1;
    void notebook.scrollToCell(cell, 'center');
    this.panel.activate();
  }

  private _schedule(): void {
    window.clearTimeout(this._timer);
    this._timer = window.setTimeout(() => void this.refresh(), DEBOUNCE_MS);
  }

  private _update(): void {
    renderBadges(this.panel.content, this._graph, this._problems);
    this._changed.emit();
  }

  private _graph: IGraph | null = null;
  private _problems: IProblem[] = [];
  private _timer = 0;
  private _ticket = 0;
  private _changed = new Signal<INotebookFlow, void>(this);
}
