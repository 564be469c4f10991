/**
 * @jest-environment jsdom
 */
const makeRequest = jest.fn();

// jsdom has no DragEvent, which @lumino/dragdrop (under @lumino/widgets) extends on import.
const scope = globalThis as { DragEvent?: unknown };
scope.DragEvent ??= class extends MouseEvent {};

jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://127.0.0.1:8888/lab-base/' }),
    makeRequest: (...args: unknown[]) => makeRequest(...args)
  }
}));

jest.mock('@jupyterlab/apputils', () => ({
  Dialog: { cancelButton: jest.fn(), warnButton: jest.fn() },
  showDialog: jest.fn(),
  Notification: { error: jest.fn(), success: jest.fn() }
}));

import { FlowClient } from '../client';
import { ISchedulerStatus, nextFire, unfired } from '../schedulerStatus';
import { SchedulesView } from '../schedulesView';
import { ISchedule } from '../types';

const NOW = new Date('2030-01-01T06:00:30Z');
const TIMES = ['2030-01-01T06:00:00+00:00', '2030-01-01T06:01:00+00:00'];
const ALIVE: ISchedulerStatus = {
  alive: true,
  pid: 42,
  host: 'box',
  since: 1893477000,
  kind: 'jupyter-server',
  in_server: true
};
const DEAD: ISchedulerStatus = {
  alive: false,
  pid: null,
  host: null,
  since: null,
  kind: null,
  in_server: false
};

describe('nextFire', () => {
  it('names the first time still ahead', () => {
    expect(nextFire(TIMES, 'local', ALIVE, NOW)).toEqual({
      text: 'next: 2030-01-01 06:01:00+00:00',
      kind: 'upcoming'
    });
  });

  it('says a time that just passed is due now, not upcoming', () => {
    const just = new Date('2030-01-01T06:01:03Z');
    expect(nextFire(TIMES, 'local', ALIVE, just)).toEqual({
      text: 'due now: 2030-01-01 06:01:00+00:00',
      kind: 'due'
    });
  });

  it('calls times all in the past overdue, never upcoming', () => {
    const later = new Date('2030-01-01T06:05:00Z');
    expect(nextFire(TIMES, 'local', ALIVE, later)).toEqual({
      text: 'overdue: was due 2030-01-01 06:00:00+00:00',
      kind: 'overdue'
    });
  });

  it('promises no fire of a local schedule nobody fires', () => {
    expect(nextFire(TIMES, 'local', DEAD, NOW).kind).toBe('never');
    expect(nextFire(TIMES, 'kubernetes', DEAD, NOW).kind).toBe('upcoming'); // its engine fires
    expect(nextFire([], 'local', DEAD, NOW).kind).toBe('none'); // paused
  });

  it('unfired: an active local schedule and no live scheduler', () => {
    expect(unfired([{ target: 'local', paused: false }], DEAD)).toBe(true);
    expect(unfired([{ target: 'local', paused: true }], DEAD)).toBe(false);
    expect(unfired([{ target: 'local', paused: false }], ALIVE)).toBe(false);
    expect(unfired([{ target: 'local', paused: false }], null)).toBe(false);
  });
});

function schedule(): ISchedule {
  return {
    name: 'nightly',
    flow: { name: 'DemoFlow', source_path: '/w/demo_flow.py', package_key: 'abc' },
    target: 'local',
    cron: '0 6 * * *',
    timezone: 'UTC',
    params: {},
    paused: false,
    created: 0,
    updated: 0,
    next_fire_times: ['2099-01-01T06:00:00+00:00']
  };
}

async function shown(scheduler: ISchedulerStatus): Promise<SchedulesView> {
  makeRequest.mockImplementation(async () => ({
    ok: true,
    status: 200,
    text: async () => JSON.stringify({ schedules: [schedule()], targets: ['local'], scheduler })
  }));
  const view = new SchedulesView(new FlowClient());
  view.setFlow('nb.ipynb', 'DemoFlow', []);
  for (let i = 0; i < 10; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
  return view;
}

describe('SchedulesView without a scheduler', () => {
  it('warns instead of showing a next fire', async () => {
    const view = await shown(DEAD);
    const warning = view.node.querySelector<HTMLElement>('.jp-Flow-noScheduler')!;
    expect(warning.hidden).toBe(false);
    expect(warning.textContent).toContain('local schedules will not fire');
    expect(warning.textContent).toContain('jupyter flow scheduler');
    const next = view.node.querySelector<HTMLElement>('.jp-Flow-nextFire')!;
    expect(next.dataset.kind).toBe('never');
    expect(next.textContent).not.toContain('next:');
    expect(view.node.querySelector('.jp-Flow-status')!.textContent).toBe('not firing');
    view.dispose();
  });

  it('shows the next fire when a scheduler is alive', async () => {
    const view = await shown(ALIVE);
    expect(view.node.querySelector<HTMLElement>('.jp-Flow-noScheduler')!.hidden).toBe(true);
    const next = view.node.querySelector<HTMLElement>('.jp-Flow-nextFire')!;
    expect(next.textContent).toBe('next: 2099-01-01 06:00:00+00:00');
    expect(view.node.querySelector('.jp-Flow-status')!.textContent).toBe('active');
    view.dispose();
  });
});

describe('SchedulesView "next" line', () => {
  it('follows the clock: a time that passed is not shown as upcoming', async () => {
    const view = await shown(ALIVE);
    const late = new Date('2099-01-01T07:00:00Z');
    (view as unknown as { _updateNext(now: Date): void })._updateNext(late);
    const next = view.node.querySelector<HTMLElement>('.jp-Flow-nextFire')!;
    expect(next.dataset.kind).toBe('overdue');
    expect(next.textContent).toBe('overdue: was due 2099-01-01 06:00:00+00:00');
    view.dispose();
  });
});
