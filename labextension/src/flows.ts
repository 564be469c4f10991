/**
 * `IFlowNotebooks`: one `NotebookFlow` per open notebook, and the current one.
 */
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { NotebookFlow } from './notebookFlow';
import { IFlowClient, IFlowNotebooks, INotebookFlow } from './tokens';
import { IStartedRun } from './types';

export class FlowNotebooks implements IFlowNotebooks {
  constructor(
    private readonly _tracker: INotebookTracker,
    private readonly _client: IFlowClient,
    private readonly _docManager: IDocumentManager
  ) {
    _tracker.forEach(panel => this._ensure(panel));
    _tracker.widgetAdded.connect((_, panel) => this._ensure(panel));
    // The tracker may announce a new current notebook before "widgetAdded".
    _tracker.currentChanged.connect(() => this._currentChanged.emit(this.current));
  }

  get current(): INotebookFlow | null {
    const panel = this._tracker.currentWidget;
    return panel ? this._ensure(panel) : null;
  }

  get currentChanged(): ISignal<IFlowNotebooks, INotebookFlow | null> {
    return this._currentChanged;
  }

  get runStarted(): ISignal<IFlowNotebooks, IStartedRun> {
    return this._runStarted;
  }

  forPanel(panel: NotebookPanel): INotebookFlow | undefined {
    return this._flows.get(panel);
  }

  private _ensure(panel: NotebookPanel): NotebookFlow {
    let flow = this._flows.get(panel);
    if (!flow) {
      flow = new NotebookFlow(panel, this._client, this._docManager);
      this._flows.set(panel, flow);
      panel.disposed.connect(() => this._flows.delete(panel));
    }
    return flow;
  }

  notifyRunStarted(run: IStartedRun): void {
    this._runStarted.emit(run);
  }

  private _flows = new Map<NotebookPanel, NotebookFlow>();
  private _currentChanged = new Signal<IFlowNotebooks, INotebookFlow | null>(this);
  private _runStarted = new Signal<IFlowNotebooks, IStartedRun>(this);
}
