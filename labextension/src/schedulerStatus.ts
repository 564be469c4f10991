/**
 * Who fires the local schedules of a store, as GET schedules reports it, and what a
 * schedule row says about its next fire: upcoming, overdue, or never (nobody fires it).
 * Pure functions, so the panel's words can be tested without a browser.
 */
import { __ } from './i18n';

/** The `scheduler` field of GET schedules: the live holder of the store's lease, if any. */
export interface ISchedulerStatus {
  alive: boolean;
  pid: number | null;
  host: string | null;
  /** Seconds since the epoch: when it took the lease. */
  since: number | null;
  kind: 'daemon' | 'jupyter-server' | null;
  /** Whether this Jupyter server runs a scheduler (it may be standing by for another). */
  in_server: boolean;
}

/** A fire time this many seconds past is being fired now (the scheduler ticks, a run
 * takes a moment to start), not yet overdue. */
export const OVERDUE_AFTER = 5;

/** The warning when nobody fires the local schedules (a function: translated when shown). */
export function noScheduler(): string {
  return __('No scheduler is running for this store: local schedules will not fire.');
}

/** How to get one running, depending on whether this server could run it. */
export function noSchedulerHint(status: ISchedulerStatus): string {
  return status.in_server
    ? __(
        "This server's scheduler could not take the store; see the server log, or run `%1` in a terminal.",
        'jupyter flow scheduler'
      )
    : __(
        "Run `%1` in a terminal, or turn on this server's (%2).",
        'jupyter flow scheduler',
        'c.FlowSchedulerApp.enabled = True'
      );
}

/** The words under a schedule: when it fires next, if it will. */
export interface INextFire {
  text: string;
  kind: 'upcoming' | 'due' | 'overdue' | 'never' | 'none';
}

/**
 * `times` are the next fire times the server computed (ISO strings), possibly a while ago:
 * the first one still ahead of `now` is the next fire. When they have all passed, the
 * latest is due (just passed) or overdue (more than OVERDUE_AFTER ago): never upcoming.
 */
export function nextFire(
  times: string[],
  target: string,
  status: ISchedulerStatus | null,
  now: Date = new Date()
): INextFire {
  if (!times.length) {
    return { text: '', kind: 'none' };
  }
  if (target === 'local' && status !== null && !status.alive) {
    return { text: __('will not fire: no scheduler is running'), kind: 'never' };
  }
  const ms = now.getTime();
  const ahead = times.find(t => new Date(t).getTime() >= ms);
  if (ahead !== undefined) {
    return { text: __('next: %1', shown(ahead)), kind: 'upcoming' };
  }
  const latest = times[times.length - 1];
  if (ms - new Date(latest).getTime() <= OVERDUE_AFTER * 1000) {
    return { text: __('due now: %1', shown(latest)), kind: 'due' };
  }
  return { text: __('overdue: was due %1', shown(times[0])), kind: 'overdue' };
}

/** A fire time as the server wrote it, in the schedule's time zone. */
function shown(iso: string): string {
  return iso.replace('T', ' ');
}

/** Whether any schedule shown depends on a local scheduler that nobody runs. */
export function unfired(
  schedules: { target: string; paused: boolean }[],
  status: ISchedulerStatus | null
): boolean {
  return status !== null && !status.alive && schedules.some(s => s.target === 'local' && !s.paused);
}
