/**
 * Services shared between the extension's plugins (and other extensions).
 */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';
import { NotebookPanel } from '@jupyterlab/notebook';

import {
  IArtifacts,
  IBackends,
  ICancellingRun,
  ICronPreview,
  IExportResult,
  IGraph,
  ILogs,
  IPreview,
  IProblem,
  IRunSummary,
  ISchedule,
  IScheduleHistory,
  IScheduleRun,
  IScheduleSpec,
  ISchedules,
  IStartedRun
} from './types';

/** Typed access to the server extension's REST API. */
export interface IFlowClient {
  graph(path: string, content?: unknown): Promise<IGraph>;
  exportNotebook(path: string): Promise<IExportResult>;
  backends(path: string): Promise<IBackends>;
  runs(path: string, flow: string, limit?: number): Promise<IRunSummary[]>;
  run(path: string, flow: string, id: string): Promise<IRunSummary>;
  logs(path: string, flow: string, id: string, step?: string, tail?: number): Promise<ILogs>;
  /** A run's outputs, from its records. */
  artifacts(path: string, flow: string, id: string): Promise<IArtifacts>;
  /** A bounded preview of one task's output (`index`: the foreach item, 0 otherwise). */
  preview(
    path: string,
    flow: string,
    id: string,
    step: string,
    name: string,
    index?: number
  ): Promise<IPreview>;
  /** `secrets` (secret parameter -> value) reach the run through its environment only. */
  startRun(
    path: string,
    backend: string,
    parameters: Record<string, string>,
    secrets?: Record<string, string>
  ): Promise<IStartedRun>;
  /** Stop a run this server started (SIGINT to its driver, as Ctrl-C). */
  cancelRun(path: string, flow: string, id: string): Promise<ICancellingRun>;
  schedules(path: string, flow: string): Promise<ISchedules>;
  createSchedule(path: string, spec: IScheduleSpec): Promise<ISchedule>;
  setSchedulePaused(path: string, name: string, paused: boolean): Promise<ISchedule>;
  deleteSchedule(path: string, name: string): Promise<void>;
  /** Start one run of the schedule now; answers what identifies it in the engine. */
  runScheduleNow(path: string, name: string): Promise<IScheduleRun>;
  /** The schedule's latest fires, newest first. */
  scheduleHistory(path: string, name: string, limit?: number): Promise<IScheduleHistory>;
  cronPreview(cron: string, timezone: string, n?: number): Promise<ICronPreview>;
}

export const IFlowClient = new Token<IFlowClient>(
  'jupyter-flow:IFlowClient',
  'Typed access to the jupyter_flow server extension.'
);

/** The flow of one open notebook: its DAG as last analysed, and problems. */
export interface INotebookFlow {
  readonly panel: NotebookPanel;
  readonly graph: IGraph | null;
  /** Problems of the last analysis or the last failed export. */
  readonly problems: IProblem[];
  readonly changed: ISignal<INotebookFlow, void>;
  /** Analyse the notebook's current (possibly unsaved) content now. */
  refresh(): Promise<void>;
  /** Save, export, and remember located problems; resolves to the export or null. */
  exportFlow(): Promise<IExportResult | null>;
  /** Select and reveal the notebook cell (1-based index). */
  revealCell(index: number): void;
}

/** The flows of open notebooks, and which one is current. */
export interface IFlowNotebooks {
  readonly current: INotebookFlow | null;
  readonly currentChanged: ISignal<IFlowNotebooks, INotebookFlow | null>;
  forPanel(panel: NotebookPanel): INotebookFlow | undefined;
  /** A run started from the UI, so the Flow panel can follow it. */
  readonly runStarted: ISignal<IFlowNotebooks, IStartedRun>;
  notifyRunStarted(run: IStartedRun): void;
}

export const IFlowNotebooks = new Token<IFlowNotebooks>(
  'jupyter-flow:IFlowNotebooks',
  'The flow (DAG, problems) of each open notebook.'
);
