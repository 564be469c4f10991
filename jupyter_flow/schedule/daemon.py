"""``jupyter flow scheduler``: the embedded scheduler daemon for local schedules.

It binds nothing: it reads schedules from SQLite every tick, fires what is due, and writes
every fire to the history before starting its run, so it can be killed at any instant and
restarted without losing or duplicating a schedule. The same loop runs inside the Jupyter
server (``jupyter_flow.server.scheduler``). Of all the schedulers of one store only the
holder of its lease (``lease.py``) fires; the others stand by and take over when it stops.

Missed fires (the daemon was down, or the machine asleep): a fire more than ``grace``
seconds late is *missed*. With ``missed="run-once"`` (the default) all the fires missed for
a schedule are coalesced into one run started at once; with ``missed="skip"`` they are
recorded in the history as skipped and the schedule waits for its next fire.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

from ..errors import ConfigError
from .cron import fire_times_between
from .lease import HEARTBEAT_NAME, HolderKind, Lease, read_holder
from .local import Launcher
from .model import Schedule
from .store import ScheduleStore

MISSED_POLICIES = ("run-once", "skip")
TICK_ENV = "JUPYTER_FLOW_SCHEDULER_TICK"


@dataclass(frozen=True)
class DaemonOptions:
    tick: float = 1.0  # seconds between looks at the database
    missed: str = "run-once"
    grace: float = 60.0  # a fire later than this counts as missed


def pid_file(store: ScheduleStore) -> Path:
    """The lease holder's heartbeat: its pid, host and times (JSON)."""
    return store.dir / HEARTBEAT_NAME


class Scheduler:
    def __init__(
        self,
        store: ScheduleStore,
        options: DaemonOptions,
        *,
        clock: Callable[[], float] = time.time,
        out: TextIO | None = None,
        kind: HolderKind = "daemon",
        log: Callable[[str], None] | None = None,
        detach: bool = False,
    ) -> None:
        if options.missed not in MISSED_POLICIES:
            raise ConfigError(
                f"unknown missed-fire policy {options.missed!r}",
                hint=f"choose one of: {', '.join(MISSED_POLICIES)}",
            )
        self.store = store
        self.options = options
        self.clock = clock
        self.out = out
        self.log = log
        self.launcher = Launcher(store, detach=detach)
        self.lease = Lease(store.dir, kind, tick=options.tick)
        self.stopping = threading.Event()
        self._standing_by = False
        self._started = False

    def say(self, text: str) -> None:
        if self.log is not None:
            self.log(text)
        if self.out is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            print(f"[{stamp}] {text}", file=self.out, flush=True)

    # -- one tick ----------------------------------------------------------------------
    def tick(self) -> None:
        now = self.clock()
        for schedule in self.store.all("local"):
            if schedule.paused:
                continue
            try:
                if schedule.cron:
                    self._cron(schedule, now)
                else:
                    self._on_finish(schedule)
            except Exception as err:  # one broken schedule must not stop the others
                self.say(f"{schedule.name}: could not fire: {type(err).__name__}: {err}")
        self.launcher.reconcile()

    def _cron(self, schedule: Schedule, now: float) -> None:
        assert schedule.cron is not None
        due = fire_times_between(
            schedule.cron, schedule.timezone, self.store.last_fire(schedule.name), now
        )
        if not due:
            return
        latest = due[-1]
        late = now - latest > self.options.grace
        if late and self.options.missed == "skip":
            reason = f"missed {len(due)} fire(s) while the scheduler was not running"
            self.launcher.skip(schedule, latest, reason, trigger="missed")
            self.say(f"{schedule.name}: {reason}; skipped (policy: skip)")
            return
        reason = f"{len(due)} fires coalesced into one" if len(due) > 1 else ""
        self._fire(schedule, latest, "missed" if late else "cron", reason)

    def _on_finish(self, schedule: Schedule) -> None:
        from ..client import list_runs

        assert schedule.on_finish is not None
        since = self.store.last_fire(schedule.name)
        done = [
            r
            for r in list_runs(schedule.on_finish, status="done", root=schedule.root, limit=20)
            if (r.finished or 0) > since
        ]
        for run in sorted(done, key=lambda r: r.finished or 0):
            self._fire(
                schedule,
                float(run.finished or 0),
                f"on-finish:{run.pathspec}",
                f"{run.pathspec} finished",
            )

    def _fire(self, schedule: Schedule, fire_time: float, trigger: str, reason: str) -> None:
        active = self.launcher.reconcile(schedule)
        if active and schedule.concurrency == "forbid":
            self.launcher.skip(
                schedule,
                fire_time,
                f"run {active[0].run_id} still running (concurrency: forbid)",
                trigger,
            )
            self.say(f"{schedule.name}: skipped, run {active[0].run_id} still running")
            return
        entry = self.launcher.launch(
            schedule, fire_time, trigger, reason=reason, advance_to=fire_time
        )
        if entry is None:  # another scheduler fired it first (a split lease): never twice
            self.say(f"{schedule.name}: fire at {fire_time:.0f} already taken; not started")
            return
        if schedule.concurrency == "replace":
            for old in active:
                self.launcher.stop(old, replaced_by=str(entry.run_id))
                self.say(f"{schedule.name}: replaced run {old.run_id}")
        self.say(f"{schedule.name}: started {schedule.flow.name}/{entry.run_id} ({trigger})")

    # -- the loop ----------------------------------------------------------------------
    def serve(self) -> None:
        """``run()`` until SIGTERM/SIGINT; runs it started keep going after it."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run(self) -> None:
        """Tick until ``stopping`` is set (any thread may set it), holding the lease or
        standing by for it."""
        try:
            while not self.stopping.is_set():
                self.step()
                self.stopping.wait(self.options.tick)
        finally:
            self.close()

    def step(self) -> bool:
        """One tick if this scheduler holds the store's lease (taking it when it is free);
        else stand by. Returns whether it fired for the store."""
        was_holding = self.lease.held
        if not self.lease.hold():
            if was_holding or not self._standing_by:
                holder = read_holder(self.store.dir)
                who = holder.describe() if holder else "another scheduler"
                self.say(
                    f"standing by: {who} fires the local schedules of {self.store.root}; "
                    "this one takes over if it stops"
                )
            self._standing_by = True
            return False
        if not was_holding:
            self._on_acquired()
        self.tick()
        return True

    def _on_acquired(self) -> None:
        if self._standing_by:
            self.say(f"took over the local schedules of {self.store.root}: the other stopped")
        else:
            self.say(
                f"scheduler started (pid {os.getpid()}, store {self.store.root}, "
                f"tick {self.options.tick:g}s, missed fires: {self.options.missed})"
            )
        self._standing_by = False
        self._started = True
        for entry in self.launcher.recover():
            self.say(f"{entry.schedule}: started {entry.run_id}, recorded before a crash")
        self.launcher.reconcile()

    def close(self) -> None:
        """Let go of the lease (a standby takes over at its next tick)."""
        self.lease.release()
        if self._started or self._standing_by:
            self.say("scheduler stopped")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()


def options_from_env(tick: float | None, missed: str | None, grace: float | None) -> DaemonOptions:
    env_tick = os.environ.get(TICK_ENV)
    return DaemonOptions(
        tick=tick if tick is not None else float(env_tick) if env_tick else 1.0,
        missed=missed or "run-once",
        grace=grace if grace is not None else 60.0,
    )
