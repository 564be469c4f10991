/**
 * The JSON shapes the server extension answers (see jupyter_flow/server).
 */

export interface IResources {
  cpu?: number | null;
  memory_mb?: number | null;
  gpu?: number | null;
}

export interface IStep {
  name: string;
  /** A %%step cell that could not be read (its problem says why): drawn, marked. */
  unreadable?: boolean;
  /** 1-based, as the user counts cells. */
  cell_index: number;
  cell_id: string | null;
  inputs: string[];
  outputs: string[];
  resources: IResources;
  foreach?: string | null;
  after?: string[];
  retries?: number | null;
  timeout?: number | string | null;
  packages?: string[];
}

export interface ICellLocation {
  kind: 'cell';
  index: number;
  cell_id: string | null;
  first_line: string;
  line: number | null;
}

export interface IStepLocation {
  kind: 'step';
  step: string;
  task: number | null;
}

/** A located user error (``FlowError.to_json()``). */
export interface IProblem {
  error: string;
  message: string;
  hint: string | null;
  location: ICellLocation | IStepLocation | null;
  text: string;
}

export interface IGraph {
  flow: string;
  path: string;
  module_path: string;
  parameters: unknown;
  /** Parameter name -> the type its value is converted to (int, float, bool, str, list,
   * dict, secret, ...): JSON cannot tell a float default of 1.0 from an int. */
  parameter_types?: Record<string, string>;
  steps: IStep[];
  edges: [string, string][];
  problems: IProblem[];
}

export interface IExportResult {
  path: string;
  flow: string;
  module_path: string;
  source: string;
  steps: IStep[];
  edges: [string, string][];
  problems: IProblem[];
}

export type RunStatus = 'starting' | 'running' | 'done' | 'failed' | 'cancelled' | 'lost';

export interface IStepStatus {
  name: string;
  status: string;
  tasks_total: number;
  tasks_done: number;
  tasks_running: number;
  tasks_failed: number;
  /** Finished but failed in a way `catch=True` let pass (counted in tasks_done too). */
  tasks_caught?: number;
  /** Never finished: the run ended (cancelled with it, or lost with its driver). */
  tasks_stopped?: number;
  /** What the terminal shows beside ⚠ for a caught step, '' otherwise. */
  caught_note?: string;
}

export interface IRunSummary {
  id: string;
  flow: string;
  status: RunStatus;
  /** Seconds since the epoch (or an ISO string). */
  created: number | string | null;
  finished: number | string | null;
  params: Record<string, unknown>;
  steps: IStepStatus[];
  launch_log?: string;
  /** The schedule that started the run, if one did. */
  schedule?: string | null;
  /** Where its steps ran (local, kubernetes, batch...). */
  executor?: string;
  /** The run this one resumed. */
  origin_run?: string | null;
}

/** One output of one task, as the records describe it (no value loaded). */
export interface IArtifact {
  step: string;
  index: number;
  foreach: boolean;
  name: string;
  type: string;
  size: number;
  summary: string;
  /** The value `run.data.NAME` gives. */
  final: boolean;
}

export interface IArtifacts {
  id: string;
  flow: string;
  artifacts: IArtifact[];
}

/** A bounded look at one artifact, loaded by the server in a child process. */
export type IPreview = { step: string; index: number; name: string } & (
  | {
      kind: 'table';
      shape: [number, number];
      columns: string[];
      dtypes: string[];
      index: string[];
      rows: string[][];
      truncated: boolean;
    }
  | { kind: 'image'; png: string }
  | { kind: 'text'; text: string; truncated: boolean; shape?: number[]; dtype?: string }
  | { kind: 'error'; message: string }
);

export interface IStartedRun {
  id: string;
  flow: string;
  pathspec: string;
  backend: string;
  module_path: string;
  status: RunStatus;
}

/** The answer to a stop request: the run is being cancelled (SIGINT, as Ctrl-C). */
export interface ICancellingRun {
  id: string;
  flow: string;
  status: 'cancelling';
}

/** One executor as the server describes it (`BackendInfo.to_json()`). */
export interface IBackendInfo {
  name: string;
  /** Whether a run can start on it here (its SDK is installed). */
  usable: boolean;
  /** Why not, when it is not usable. */
  reason: string | null;
  /** What to do about it, e.g. "pip install 'jupyter-flow[kubernetes]'". */
  hint: string | null;
  /** e.g. gpu, secret-env (tasks inherit the environment the run starts with). */
  capabilities: string[];
}

export interface IBackends {
  backends: IBackendInfo[];
  default: string;
  root: string;
  schedules: boolean;
}

export interface ILogs {
  id: string;
  flow: string;
  step: string | null;
  logs: string;
}

export interface ISchedule {
  name: string;
  flow: { name: string; source_path: string; package_key: string };
  target: string;
  cron: string | null;
  timezone: string;
  params: Record<string, string>;
  paused: boolean;
  created: number;
  updated: number;
  next_fire_times: string[];
}

export interface ISchedules {
  schedules: ISchedule[];
  targets: string[];
}

/** The answer to Run now: what identifies the started run in the schedule's engine
 * (`Flow/run-id` for the local target). */
export interface IScheduleRun {
  name: string;
  run: string;
}

/** One fire of a schedule (`HistoryEntry.to_json()`); times in seconds since the epoch. */
export interface IScheduleHistoryEntry {
  id: number;
  schedule: string;
  fire_time: number;
  /** starting | running | done | failed | cancelled | lost | skipped | replaced */
  status: string;
  run_id: string | null;
  reason: string;
  started: number | null;
  finished: number | null;
  pid: number | null;
  /** cron | missed | run-now | on-finish:<Flow/run> */
  trigger: string;
}

export interface IScheduleHistory {
  name: string;
  entries: IScheduleHistoryEntry[];
}

export interface IScheduleSpec {
  cron: string;
  timezone: string;
  target: string;
  name: string;
  parameters: Record<string, string>;
}

export interface ICronPreview {
  cron: string;
  timezone: string;
  next: string[];
}
