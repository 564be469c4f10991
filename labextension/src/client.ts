/**
 * Typed calls to each endpoint of the server extension (all through request.ts).
 */
import { requestAPI } from './request';
import { IFlowClient } from './tokens';
import {
  IArtifacts,
  IBackends,
  ICancellingRun,
  ICronPreview,
  IExportResult,
  IGraph,
  ILogs,
  IPreview,
  IRunSummary,
  ISchedule,
  IScheduleHistory,
  IScheduleRun,
  IScheduleSpec,
  ISchedules,
  IStartedRun
} from './types';

export interface IStoreOptions {
  /** The store location setting; empty: the server's configured default. */
  root?: string;
}

export class FlowClient implements IFlowClient {
  constructor(private readonly _store: () => IStoreOptions = () => ({})) {}

  graph(path: string, content?: unknown): Promise<IGraph> {
    if (content === undefined) {
      return requestAPI<IGraph>('graph', { query: { path } });
    }
    return requestAPI<IGraph>('graph', { method: 'POST', body: { path, content } });
  }

  exportNotebook(path: string): Promise<IExportResult> {
    return requestAPI<IExportResult>('export', { method: 'POST', body: { path } });
  }

  backends(path: string): Promise<IBackends> {
    return requestAPI<IBackends>('backends', { query: { path, ...this._store() } });
  }

  async runs(path: string, flow: string, limit = 20): Promise<IRunSummary[]> {
    const query = { path, flow, limit, ...this._store() };
    const answer = await requestAPI<{ runs: IRunSummary[] }>('runs', { query });
    return answer.runs;
  }

  run(path: string, flow: string, id: string): Promise<IRunSummary> {
    return requestAPI<IRunSummary>(`runs/${flow}/${id}`, { query: { path, ...this._store() } });
  }

  logs(path: string, flow: string, id: string, step?: string, tail = 200): Promise<ILogs> {
    const query = { path, step, tail, ...this._store() };
    return requestAPI<ILogs>(`runs/${flow}/${id}/logs`, { query });
  }

  artifacts(path: string, flow: string, id: string): Promise<IArtifacts> {
    const query = { path, ...this._store() };
    return requestAPI<IArtifacts>(`runs/${flow}/${id}/artifacts`, { query });
  }

  preview(
    path: string,
    flow: string,
    id: string,
    step: string,
    name: string,
    index = 0
  ): Promise<IPreview> {
    const query = { path, index, ...this._store() };
    return requestAPI<IPreview>(`runs/${flow}/${id}/artifacts/${step}/${name}`, { query });
  }

  /** `secrets` (secret parameter -> value) reach the run through its environment only. */
  startRun(
    path: string,
    backend: string,
    parameters: Record<string, string>,
    secrets: Record<string, string> = {}
  ): Promise<IStartedRun> {
    const extra = Object.keys(secrets).length ? { secrets } : {};
    const body = { path, backend, parameters, ...extra, ...this._store() };
    return requestAPI<IStartedRun>('run', { method: 'POST', body });
  }

  /** Stop a run this server started; a 409 says it ended or runs elsewhere. */
  cancelRun(path: string, flow: string, id: string): Promise<ICancellingRun> {
    return requestAPI<ICancellingRun>(`runs/${flow}/${id}/cancel`, {
      method: 'POST',
      query: { path, ...this._store() }
    });
  }

  schedules(path: string, flow: string): Promise<ISchedules> {
    return requestAPI<ISchedules>('schedules', { query: { path, flow, ...this._store() } });
  }

  createSchedule(path: string, spec: IScheduleSpec): Promise<ISchedule> {
    const body = { path, ...spec, name: spec.name || undefined, ...this._store() };
    return requestAPI<ISchedule>('schedules', { method: 'POST', body });
  }

  setSchedulePaused(path: string, name: string, paused: boolean): Promise<ISchedule> {
    const action = paused ? 'pause' : 'resume';
    return requestAPI<ISchedule>(`schedules/${name}/${action}`, {
      method: 'POST',
      query: { path },
      body: { ...this._store() }
    });
  }

  async deleteSchedule(path: string, name: string): Promise<void> {
    await requestAPI(`schedules/${name}`, {
      method: 'DELETE',
      query: { path, ...this._store() }
    });
  }

  runScheduleNow(path: string, name: string): Promise<IScheduleRun> {
    return requestAPI<IScheduleRun>(`schedules/${name}/run-now`, {
      method: 'POST',
      query: { path },
      body: { ...this._store() }
    });
  }

  scheduleHistory(path: string, name: string, limit = 10): Promise<IScheduleHistory> {
    return requestAPI<IScheduleHistory>(`schedules/${name}/history`, {
      query: { path, limit, ...this._store() }
    });
  }

  cronPreview(cron: string, timezone: string, n = 5): Promise<ICronPreview> {
    return requestAPI<ICronPreview>('cron', { query: { cron, timezone, n } });
  }
}
