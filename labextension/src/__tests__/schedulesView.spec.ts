/**
 * @jest-environment jsdom
 */
const makeRequest = jest.fn();
const notifyError = jest.fn();

// jsdom has no DragEvent, which @lumino/dragdrop (under @lumino/widgets) extends on import.
const scope = globalThis as { DragEvent?: unknown };
scope.DragEvent ??= class extends MouseEvent {};

jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://127.0.0.1:8888/lab-base/' }),
    makeRequest: (...args: unknown[]) => makeRequest(...args)
  }
}));

// The view's dialogs and notifications (JupyterLab's, not loadable under jest).
jest.mock('@jupyterlab/apputils', () => ({
  Dialog: { cancelButton: jest.fn(), warnButton: jest.fn() },
  showDialog: jest.fn(),
  Notification: {
    error: (...args: unknown[]) => notifyError(...args),
    success: jest.fn()
  }
}));

import { FlowClient } from '../client';
import { formatWhen } from '../model';
import { HISTORY_LIMIT, SchedulesView } from '../schedulesView';
import { ISchedule, IScheduleHistoryEntry } from '../types';

const BASE = 'http://127.0.0.1:8888/lab-base/jupyter-flow';
const RUN_NOW = `${BASE}/schedules/nightly/run-now?path=nb.ipynb`;
const HISTORY = `${BASE}/schedules/nightly/history?path=nb.ipynb&limit=${HISTORY_LIMIT}`;

/** What ServerConnection.makeRequest resolves to (jsdom has no fetch Response). */
function reply(status: number, body: unknown): unknown {
  return { ok: status < 400, status, text: async () => JSON.stringify(body) };
}

function schedule(name: string): ISchedule {
  return {
    name,
    flow: { name: 'DemoFlow', source_path: '/w/demo_flow.py', package_key: 'abc' },
    target: 'local',
    cron: '0 6 * * *',
    timezone: 'UTC',
    params: {},
    paused: false,
    created: 0,
    updated: 0,
    next_fire_times: ['2030-01-01T06:00:00+00:00']
  };
}

const FIRED = 1893477600; // 2030-01-01 06:00:00 UTC

function entry(id: number, fields: Partial<IScheduleHistoryEntry>): IScheduleHistoryEntry {
  return {
    id,
    schedule: 'nightly',
    fire_time: FIRED,
    status: 'done',
    run_id: `r-${id}`,
    reason: '',
    started: FIRED,
    finished: FIRED + 5,
    pid: null,
    trigger: 'cron',
    ...fields
  };
}

interface IFakeServer {
  answerRunNow: () => Promise<unknown>;
  history: IScheduleHistoryEntry[];
}

/** A server with two schedules, `nightly` and `weekly`. */
function server(fake: IFakeServer): void {
  makeRequest.mockImplementation(async (url: string) => {
    if (url.includes('/run-now')) {
      return fake.answerRunNow();
    }
    if (url.includes('/history')) {
      return reply(200, { name: 'nightly', entries: fake.history });
    }
    return reply(200, { schedules: [schedule('nightly'), schedule('weekly')], targets: ['local'] });
  });
}

/** Let the view's pending requests and re-render happen. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

function row(view: SchedulesView, name = 'nightly'): HTMLElement {
  return view.node.querySelector(`.jp-Flow-schedule[data-name="${name}"]`)!;
}

function action(view: SchedulesView, name: string, which: string): HTMLButtonElement {
  return row(view, name).querySelector(`button[data-action="${which}"]`)!;
}

async function showSchedules(): Promise<SchedulesView> {
  const view = new SchedulesView(new FlowClient());
  view.setFlow('nb.ipynb', 'DemoFlow', []);
  await settle();
  return view;
}

function calls(method: string): string[] {
  return makeRequest.mock.calls.filter(([, init]) => init.method === method).map(([url]) => url);
}

let view: SchedulesView | null = null;

beforeEach(() => {
  makeRequest.mockReset();
  notifyError.mockReset();
});
afterEach(() => view?.dispose());

describe('SchedulesView Run now', () => {
  it('POSTs to the schedule run-now URL, says Starting… meanwhile, then shows the run', async () => {
    let answer: (value: unknown) => void = () => undefined;
    server({ answerRunNow: () => new Promise(resolve => (answer = resolve)), history: [] });
    view = await showSchedules();
    expect(action(view, 'nightly', 'run-now').textContent).toBe('Run now');
    action(view, 'nightly', 'run-now').click();
    expect(calls('POST')).toEqual([RUN_NOW]);
    const posted = makeRequest.mock.calls.find(([url]) => url === RUN_NOW)![1];
    expect(JSON.parse(posted.body)).toEqual({});
    expect(action(view, 'nightly', 'run-now').disabled).toBe(true);
    expect(action(view, 'nightly', 'run-now').textContent).toBe('Starting…');
    expect(action(view, 'weekly', 'run-now').disabled).toBe(false);

    answer(reply(202, { name: 'nightly', run: 'DemoFlow/r-20300101' }));
    await settle();
    expect(action(view, 'nightly', 'run-now').disabled).toBe(false);
    expect(action(view, 'nightly', 'run-now').textContent).toBe('Run now');
    const status = row(view).querySelector('.jp-Flow-scheduleStatus')!;
    expect(status.textContent).toBe('Started run DemoFlow/r-20300101');
    expect(status.classList.contains('jp-Flow-error')).toBe(false);
    expect(row(view, 'weekly').querySelector('.jp-Flow-scheduleStatus')).toBeNull();
    // the run id stays shown when the list is refreshed
    await view.refresh();
    expect(row(view).querySelector('.jp-Flow-scheduleStatus')!.textContent).toContain('r-20300101');
    expect(notifyError).not.toHaveBeenCalled();
  });

  it('shows the server refusal as an error on the row and offers Run now again', async () => {
    const text = "no schedule named 'nightly'\n  hint: list the schedules to see names";
    server({
      answerRunNow: async () => reply(404, { error: 'NotFound', message: 'no schedule', text }),
      history: []
    });
    view = await showSchedules();
    action(view, 'nightly', 'run-now').click();
    await settle();
    const status = row(view).querySelector('.jp-Flow-scheduleStatus.jp-Flow-error');
    expect(status?.textContent).toBe(text);
    // said on the row only: a sticky toast would cover the panel's buttons (issue 14.9)
    expect(notifyError).not.toHaveBeenCalled();
    expect(action(view, 'nightly', 'run-now').disabled).toBe(false);
    expect(action(view, 'nightly', 'run-now').textContent).toBe('Run now');
  });
});

describe('SchedulesView History', () => {
  it('loads the last fires and shows when, status, run id, trigger and reason', async () => {
    const history = [
      entry(3, { status: 'running', run_id: 'r-now', trigger: 'run-now', finished: null }),
      entry(2, { status: 'failed', reason: 'the run exited before it started' }),
      entry(1, { status: 'skipped', run_id: null, reason: 'the previous run is still running' })
    ];
    server({ answerRunNow: async () => reply(202, {}), history });
    view = await showSchedules();
    expect(row(view).querySelector('.jp-Flow-scheduleHistory')).toBeNull();
    action(view, 'nightly', 'history').click();
    await settle();
    expect(calls('GET')).toContain(HISTORY);

    const shown = Array.from(row(view).querySelectorAll('.jp-Flow-historyEntry'));
    expect(shown.map(li => (li as HTMLElement).dataset.status)).toEqual([
      'running',
      'failed',
      'skipped'
    ]);
    const text = (li: Element, cls: string) => li.querySelector(cls)?.textContent;
    expect(text(shown[0], '.jp-Flow-historyWhen')).toBe(formatWhen(FIRED));
    expect(text(shown[0], '.jp-Flow-status')).toBe('running');
    expect(text(shown[0], '.jp-Flow-runId')).toBe('r-now');
    expect(text(shown[0], '.jp-Flow-historyTrigger')).toBe('run-now');
    expect(shown[0].querySelector('.jp-Flow-historyReason')).toBeNull();
    expect(text(shown[1], '.jp-Flow-historyReason')).toBe('the run exited before it started');
    expect(text(shown[2], '.jp-Flow-runId')).toBe('—');
    expect(action(view, 'nightly', 'history').textContent).toBe('Hide history');
    // only the schedule asked about
    expect(row(view, 'weekly').querySelector('.jp-Flow-scheduleHistory')).toBeNull();

    action(view, 'nightly', 'history').click();
    await settle();
    expect(row(view).querySelector('.jp-Flow-scheduleHistory')).toBeNull();
    expect(action(view, 'nightly', 'history').textContent).toBe('History');
  });

  it('says so when the schedule has not fired yet, and reloads after Run now', async () => {
    const fake: IFakeServer = {
      answerRunNow: async () => reply(202, { name: 'nightly', run: 'DemoFlow/r-new' }),
      history: []
    };
    server(fake);
    view = await showSchedules();
    action(view, 'nightly', 'history').click();
    await settle();
    expect(row(view).querySelector('.jp-Flow-scheduleHistory')?.textContent).toBe('No runs yet.');

    fake.history = [entry(1, { status: 'running', run_id: 'r-new', trigger: 'run-now' })];
    action(view, 'nightly', 'run-now').click();
    await settle();
    const shown = row(view).querySelectorAll('.jp-Flow-historyEntry');
    expect(shown).toHaveLength(1);
    expect(shown[0].querySelector('.jp-Flow-runId')?.textContent).toBe('r-new');
    expect(shown[0].querySelector('.jp-Flow-historyTrigger')?.textContent).toBe('run-now');
  });
});
