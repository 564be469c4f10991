/**
 * The schedules of the current notebook's flow: trigger, target, next fire times;
 * create (dialog), pause/resume, delete, Run now and the History of each. Local schedules
 * fire only while a scheduler runs for their store: when none does, the panel says so
 * instead of promising a next fire. The "next" line is kept current every second (a time
 * that passed is never shown as upcoming: the list is read again, and a time still past
 * then is overdue). Refreshed every REFRESH_MS while shown, so fires (and
 * a scheduler stopping) show up without a click.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { describeCron } from './cron';
import { defaultScheduleName, formatWhen, IParameter } from './model';
import { FlowRequestError } from './request';
import { askSchedule } from './scheduleDialog';
import {
  INextFire,
  ISchedulerStatus,
  noScheduler,
  nextFire,
  noSchedulerHint,
  unfired
} from './schedulerStatus';
import { IFlowClient } from './tokens';
import { ISchedule, IScheduleHistoryEntry } from './types';
import { __ } from './i18n';

/** How many fires History shows. */
export const HISTORY_LIMIT = 10;

/** How often the shown schedules (and open histories) are read again. */
export const REFRESH_MS = 10000;

/** How often the "next" lines are brought up to date with the clock. */
export const CLOCK_MS = 1000;

/** What a row shows below its actions: the run Run now started, or why it did not. */
interface IRowStatus {
  text: string;
  error: boolean;
}

export class SchedulesView extends Widget {
  constructor(private readonly _client: IFlowClient) {
    super();
    this.addClass('jp-Flow-schedulesView');
    const title = document.createElement('h3');
    title.textContent = __('Schedules');
    this._create = document.createElement('button');
    this._create.className = 'jp-Button jp-mod-styled jp-mod-reject jp-Flow-newSchedule';
    this._create.textContent = __('New schedule');
    this._create.addEventListener('click', () => void this._createSchedule());
    this._warning = document.createElement('div');
    this._warning.className = 'jp-Flow-noScheduler';
    this._warning.setAttribute('role', 'alert');
    Object.assign(this._warning.style, {
      margin: '6px 0',
      padding: '4px 6px',
      borderLeft: '3px solid var(--jp-warn-color0)',
      background: 'var(--jp-warn-color3)',
      color: 'var(--jp-ui-font-color1)'
    });
    this._warning.hidden = true;
    // a failed action is said here, under the buttons, not in a toast that covers them
    this._actionError = document.createElement('p');
    this._actionError.className = 'jp-Flow-error jp-Flow-actionError';
    this._actionError.setAttribute('role', 'alert');
    this._actionError.hidden = true;
    this._list = document.createElement('ul');
    this._list.className = 'jp-Flow-schedules';
    this.node.append(title, this._create, this._warning, this._actionError, this._list);
    this._timer = window.setInterval(() => void this._poll(), REFRESH_MS);
    this._clock = window.setInterval(() => this._updateNext(), CLOCK_MS);
  }

  dispose(): void {
    window.clearInterval(this._timer);
    window.clearInterval(this._clock);
    super.dispose();
  }

  /** Whether the panel shows this section (its node is the panel's, not a Lumino child). */
  private get _shown(): boolean {
    return this.node.isConnected && this.node.offsetParent !== null;
  }

  /** Bring each "next" line up to date with the clock; when a shown time has passed, read
   * the schedules again (at most every REFRESH_MS / 5), so it is replaced or overdue. */
  private _updateNext(now: Date = new Date()): void {
    let stale = false;
    for (const [schedule, line] of this._nextLines) {
      const fire = nextFire(schedule.next_fire_times, schedule.target, this._scheduler, now);
      showNext(line, fire);
      const first = schedule.next_fire_times[0];
      stale ||= first !== undefined && new Date(first).getTime() < now.getTime();
    }
    const since = now.getTime() - this._refreshed;
    if (stale && this._shown && since > REFRESH_MS / 5) {
      void this.refresh();
    }
  }

  /** Read the schedules again while the panel is shown, and the histories open in it. */
  private async _poll(): Promise<void> {
    if (!this._shown || !this._path || !this._flow) {
      return;
    }
    await this.refresh();
    const path = this._path;
    for (const name of this._historyOpen) {
      await this._loadHistory(path, name);
    }
  }

  setFlow(path: string | null, flow: string | null, params: IParameter[]): void {
    this._params = params;
    if (path === this._path && flow === this._flow) {
      return;
    }
    this._path = path;
    this._flow = flow;
    this._starting.clear();
    this._status.clear();
    this._historyOpen.clear();
    this._history.clear();
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const { _path: path, _flow: flow } = this;
    this._create.disabled = !path || !flow;
    if (!path || !flow) {
      this._render([]);
      return;
    }
    this._refreshed = Date.now();
    try {
      const answer = await this._client.schedules(path, flow);
      this._targets = answer.targets;
      this.setHidden(false);
      if (path === this._path && flow === this._flow) {
        this._schedules = answer.schedules;
        // an older server sends no scheduler status: promise nothing either way
        const status = (answer as { scheduler?: ISchedulerStatus }).scheduler;
        this._scheduler = status ?? null;
        this._render(answer.schedules);
      }
    } catch (error) {
      // Schedules are an optional part of jupyter_flow: no routes, no section.
      this.setHidden(error instanceof FlowRequestError && error.status === 404);
      this._schedules = [];
      this._render([], String((error as Error).message));
    }
  }

  private async _createSchedule(): Promise<void> {
    const { _path: path, _flow: flow } = this;
    if (!path || !flow) {
      return;
    }
    const spec = await askSchedule(
      this._client,
      this._targets,
      defaultScheduleName(flow),
      this._params
    );
    if (!spec) {
      return;
    }
    await this._act(async () => {
      const created = await this._client.createSchedule(path, spec);
      Notification.success(__('Scheduled %1 as %2', created.flow.name, created.name), {
        autoClose: 3000
      });
    });
  }

  private async _act(action: () => Promise<void>): Promise<void> {
    this._actionError.hidden = true;
    try {
      await action();
    } catch (error) {
      this._actionError.textContent = String((error as Error).message ?? error);
      this._actionError.hidden = false;
    }
    await this.refresh();
  }

  private _render(schedules: ISchedule[], error = ''): void {
    this._showWarning(error ? [] : schedules);
    this._nextLines.clear();
    this._list.textContent = '';
    if (error) {
      this._list.appendChild(item(error, 'jp-Flow-error'));
      return;
    }
    if (!schedules.length) {
      this._list.appendChild(item(this._flow ? 'No schedules yet.' : '', 'jp-Flow-note'));
      return;
    }
    for (const schedule of schedules) {
      this._list.appendChild(this._row(schedule));
    }
  }

  /** The panel-wide warning when active local schedules have nobody to fire them. */
  private _showWarning(schedules: ISchedule[]): void {
    const status = this._scheduler;
    this._warning.hidden = !status || !unfired(schedules, status);
    this._warning.textContent = '';
    if (!this._warning.hidden && status) {
      const head = document.createElement('strong');
      head.textContent = `⚠ ${noScheduler()}`;
      const hint = document.createElement('div');
      hint.className = 'jp-Flow-note';
      hint.textContent = noSchedulerHint(status);
      this._warning.append(head, hint);
    }
  }

  private _row(schedule: ISchedule): HTMLElement {
    const row = document.createElement('li');
    row.className = 'jp-Flow-schedule';
    row.dataset.name = schedule.name;
    row.dataset.paused = String(schedule.paused);
    const head = document.createElement('div');
    head.className = 'jp-Flow-scheduleHead';
    const title = document.createElement('strong');
    title.textContent = schedule.name;
    const state = document.createElement('span');
    const stalled = unfired([schedule], this._scheduler);
    const look = schedule.paused ? 'cancelled' : stalled ? 'failed' : 'done';
    state.className = `jp-Flow-status jp-Flow-status-${look}`;
    state.textContent = schedule.paused ? __('paused') : stalled ? __('not firing') : __('active');
    if (stalled) {
      state.title = noScheduler();
    }
    head.append(title, state);
    const trigger = document.createElement('div');
    trigger.className = 'jp-Flow-note';
    const words = schedule.cron ? describeCron(schedule.cron) : '';
    trigger.textContent = __(
      '%1 — %2 (%3) on %4',
      schedule.cron ?? '',
      words,
      schedule.timezone,
      schedule.target
    );
    const next = document.createElement('div');
    showNext(next, nextFire(schedule.next_fire_times, schedule.target, this._scheduler));
    this._nextLines.set(schedule, next);
    const actions = document.createElement('div');
    actions.className = 'jp-Flow-actions';
    const path = this._path!;
    actions.append(
      button(schedule.paused ? 'Resume' : 'Pause', () =>
        this._act(async () => {
          await this._client.setSchedulePaused(path, schedule.name, !schedule.paused);
        })
      ),
      this._runNowButton(path, schedule.name),
      this._historyButton(path, schedule.name),
      button('Delete', () => this._delete(path, schedule.name))
    );
    row.append(head, trigger, next, actions);
    const status = this._status.get(schedule.name);
    if (status) {
      const line = document.createElement('div');
      line.className = `jp-Flow-scheduleStatus ${status.error ? 'jp-Flow-error' : 'jp-Flow-note'}`;
      line.textContent = status.text;
      row.appendChild(line);
    }
    if (this._historyOpen.has(schedule.name)) {
      row.appendChild(historyList(this._history.get(schedule.name)));
    }
    return row;
  }

  private _runNowButton(path: string, name: string): HTMLButtonElement {
    const starting = this._starting.has(name);
    const element = button(starting ? __('Starting…') : __('Run now'), () =>
      this._runNow(path, name)
    );
    element.dataset.action = 'run-now';
    element.title = __('Start one run of this schedule now, with its pinned code and parameters');
    element.disabled = starting;
    return element;
  }

  private _historyButton(path: string, name: string): HTMLButtonElement {
    const open = this._historyOpen.has(name);
    const element = button(open ? __('Hide history') : __('History'), () =>
      this._toggleHistory(path, name)
    );
    element.dataset.action = 'history';
    element.setAttribute('aria-expanded', String(open));
    return element;
  }

  /** Start a run now; the row then shows its id (or the refusal). */
  private async _runNow(path: string, name: string): Promise<void> {
    if (this._starting.has(name)) {
      return;
    }
    this._starting.add(name);
    this._status.delete(name);
    this._rerender();
    let status: IRowStatus;
    try {
      const answer = await this._client.runScheduleNow(path, name);
      status = { text: __('Started run %1', answer.run), error: false };
    } catch (error) {
      status = { text: String((error as Error).message ?? error), error: true }; // in the row
    }
    if (path !== this._path) {
      return; // another notebook is shown now
    }
    this._starting.delete(name);
    this._status.set(name, status);
    this._rerender();
    if (this._historyOpen.has(name)) {
      await this._loadHistory(path, name);
    }
  }

  private async _toggleHistory(path: string, name: string): Promise<void> {
    if (this._historyOpen.delete(name)) {
      this._rerender();
      return;
    }
    this._historyOpen.add(name);
    await this._loadHistory(path, name);
  }

  private async _loadHistory(path: string, name: string): Promise<void> {
    if (!this._history.has(name)) {
      this._history.set(name, null);
    }
    this._rerender();
    let entries: IScheduleHistoryEntry[] | string;
    try {
      entries = (await this._client.scheduleHistory(path, name, HISTORY_LIMIT)).entries;
    } catch (error) {
      entries = String((error as Error).message ?? error);
    }
    if (path === this._path && this._historyOpen.has(name)) {
      this._history.set(name, entries);
      this._rerender();
    }
  }

  /** Show the last schedules again with the rows' current state. */
  private _rerender(): void {
    if (this._schedules.length) {
      this._render(this._schedules);
    }
  }

  private async _delete(path: string, name: string): Promise<void> {
    const answer = await showDialog({
      title: __('Delete schedule'),
      body: __('Delete the schedule %1? Runs it already started are kept.', name),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: __('Delete') })]
    });
    if (answer.button.accept) {
      await this._act(() => this._client.deleteSchedule(path, name));
    }
  }

  private _create: HTMLButtonElement;
  private _warning: HTMLDivElement;
  private _timer: number;
  private _clock: number;
  /** When the schedules were last asked for (ms since the epoch). */
  private _refreshed = 0;
  /** Each shown schedule's "next" line, kept current by the clock. */
  private _nextLines = new Map<ISchedule, HTMLElement>();
  /** The store's scheduler as last reported; null when the server does not say. */
  private _scheduler: ISchedulerStatus | null = null;
  private _actionError: HTMLParagraphElement;
  private _list: HTMLUListElement;
  private _path: string | null = null;
  private _flow: string | null = null;
  private _targets: string[] = ['local'];
  private _params: IParameter[] = [];
  private _schedules: ISchedule[] = [];
  /** Schedules whose Run now is in flight. */
  private _starting = new Set<string>();
  private _status = new Map<string, IRowStatus>();
  private _historyOpen = new Set<string>();
  /** Loaded history per schedule: entries, an error message, or null while loading. */
  private _history = new Map<string, IScheduleHistoryEntry[] | string | null>();
}

function showNext(line: HTMLElement, fire: INextFire): void {
  const calm = fire.kind === 'upcoming' || fire.kind === 'due';
  line.className = `jp-Flow-nextFire ${calm ? 'jp-Flow-note' : 'jp-Flow-error'}`;
  line.dataset.kind = fire.kind;
  line.textContent = fire.text;
}

/** A schedule's fires, newest first: when, status, run id, trigger, reason. */
function historyList(entries: IScheduleHistoryEntry[] | string | null | undefined): HTMLElement {
  const list = document.createElement('ul');
  list.className = 'jp-Flow-scheduleHistory';
  if (entries === null || entries === undefined) {
    list.appendChild(item('Loading…', 'jp-Flow-note'));
    return list;
  }
  if (typeof entries === 'string') {
    list.appendChild(item(entries, 'jp-Flow-error'));
    return list;
  }
  if (!entries.length) {
    list.appendChild(item('No runs yet.', 'jp-Flow-note'));
    return list;
  }
  for (const entry of entries) {
    const li = document.createElement('li');
    li.className = 'jp-Flow-historyEntry';
    li.dataset.status = entry.status;
    li.dataset.trigger = entry.trigger;
    const when = span('jp-Flow-historyWhen', formatWhen(entry.fire_time));
    const status = span(`jp-Flow-status jp-Flow-status-${entry.status}`, entry.status);
    const run = span('jp-Flow-runId', entry.run_id ?? '—');
    const trigger = span('jp-Flow-historyTrigger', entry.trigger);
    li.append(when, status, run, trigger);
    if (entry.reason) {
      li.appendChild(span('jp-Flow-historyReason', entry.reason));
    }
    list.appendChild(li);
  }
  return list;
}

function span(className: string, text: string): HTMLElement {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

function item(text: string, className: string): HTMLElement {
  const li = document.createElement('li');
  li.className = className;
  li.textContent = text;
  return li;
}

function button(label: string, onClick: () => Promise<void>): HTMLButtonElement {
  const element = document.createElement('button');
  element.className = 'jp-Button jp-mod-styled jp-mod-reject';
  element.textContent = label;
  element.dataset.action = label.toLowerCase();
  element.addEventListener('click', () => void onClick());
  return element;
}
