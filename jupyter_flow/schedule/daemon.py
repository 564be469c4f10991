"""``jupyter flow scheduler``: the embedded scheduler daemon for local schedules.

It binds nothing: it reads schedules from SQLite every tick, fires what is due, and writes
every fire to the history before starting its run, so it can be killed at any instant and
restarted without losing or duplicating a schedule. One daemon per store (a PID file).

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
from .local import Launcher, _alive
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
    return store.dir / "scheduler.pid"


class Scheduler:
    def __init__(
        self,
        store: ScheduleStore,
        options: DaemonOptions,
        *,
        clock: Callable[[], float] = time.time,
        out: TextIO | None = None,
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
        self.launcher = Launcher(store)
        self.stopping = threading.Event()

    def say(self, text: str) -> None:
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
        if schedule.concurrency == "replace":
            for old in active:
                self.launcher.stop(old, replaced_by=str(entry.run_id))
                self.say(f"{schedule.name}: replaced run {old.run_id}")
        self.say(f"{schedule.name}: started {schedule.flow.name}/{entry.run_id} ({trigger})")

    # -- the loop ----------------------------------------------------------------------
    def serve(self) -> None:
        """Tick until SIGTERM/SIGINT (or ``stopping`` is set); runs keep going after it."""
        path = pid_file(self.store)
        self._claim(path)
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        self.say(
            f"scheduler started (pid {os.getpid()}, store {self.store.root}, "
            f"tick {self.options.tick:g}s, missed fires: {self.options.missed})"
        )
        try:
            for entry in self.launcher.recover():
                self.say(f"{entry.schedule}: started {entry.run_id}, recorded before a crash")
            self.launcher.reconcile()
            while not self.stopping.is_set():
                self.tick()
                self.stopping.wait(self.options.tick)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if path.is_file() and path.read_text().strip() == str(os.getpid()):
                path.unlink()
            self.say("scheduler stopped")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def _claim(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            other = int(path.read_text().strip())
        except (OSError, ValueError):
            other = 0
        if other and other != os.getpid() and _alive(other):
            raise ConfigError(
                f"a scheduler is already running for {self.store.root} (pid {other})",
                hint=f"stop it first (kill {other}) or use another --root",
            )
        tmp = path.with_suffix(".tmp")
        tmp.write_text(str(os.getpid()))
        tmp.replace(path)


def options_from_env(tick: float | None, missed: str | None, grace: float | None) -> DaemonOptions:
    env_tick = os.environ.get(TICK_ENV)
    return DaemonOptions(
        tick=tick if tick is not None else float(env_tick) if env_tick else 1.0,
        missed=missed or "run-once",
        grace=grace if grace is not None else 60.0,
    )
