"""The scheduler's decisions with a fake clock and fake processes: missed-fire policy,
concurrency policy, pause, on-finish triggers. (The real daemon is tested in integration.)"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from jupyter_flow.schedule import local
from jupyter_flow.schedule.daemon import DaemonOptions, Scheduler
from jupyter_flow.schedule.model import FlowShape, Schedule
from jupyter_flow.schedule.store import ScheduleStore

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc).timestamp()
_pids = itertools.count(4_000_000)  # above any real pid: never alive


@dataclass
class FakeProc:
    pid: int
    returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


@pytest.fixture
def procs(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeProc]]:
    """Runs 'start' as fake processes; a run is running until the test finishes it."""
    started: dict[str, FakeProc] = {}
    running: set[int] = set()

    def spawn(schedule: Schedule, run_id: str) -> FakeProc:
        proc = FakeProc(next(_pids))
        started[run_id] = proc
        running.add(proc.pid)
        return proc

    def status(self: local.Launcher, entry) -> tuple[str, str]:
        proc = started[entry.run_id]
        return ("running", "") if proc.returncode is None else ("done", "")

    monkeypatch.setattr(local, "spawn", spawn)
    monkeypatch.setattr(local.Launcher, "_status", status)
    yield started


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _schedule(root: str, **changes: object) -> Schedule:
    shape = FlowShape("TinyFlow", "/x/tiny_flow.py", "tiny_flow", "k" * 64)
    base = Schedule(name="tiny", flow=shape, target="local", cron="*/10 * * * *", root=root)
    return replace(base, **changes)  # type: ignore[arg-type]


def _scheduler(root: str, schedule: Schedule, clock: Clock, **options: object) -> Scheduler:
    store = ScheduleStore(root)
    store.put(schedule)
    with store._db() as con:  # the schedule was created at T0
        con.execute("UPDATE schedules SET last_fire = ?", (T0,))
    return Scheduler(store, DaemonOptions(tick=0.01, **options), clock=clock)  # type: ignore[arg-type]


def _statuses(sched: Scheduler) -> list[tuple[str, str]]:
    return [(h.status, h.trigger) for h in sched.store.history("tiny")]


def test_fires_on_time_and_forbid_skips_while_running(root: str, procs) -> None:
    clock = Clock()
    sched = _scheduler(root, _schedule(root), clock)
    clock.now = T0 + 5
    sched.tick()
    assert _statuses(sched) == []
    clock.now = T0 + 601
    sched.tick()
    assert _statuses(sched) == [("running", "cron")]
    clock.now = T0 + 1201  # still running: forbid skips
    sched.tick()
    assert _statuses(sched) == [("running", "cron"), ("skipped", "cron")]
    assert "still running" in sched.store.history("tiny")[-1].reason
    next(iter(procs.values())).returncode = 0
    clock.now = T0 + 1801
    sched.tick()
    assert _statuses(sched) == [("done", "cron"), ("skipped", "cron"), ("running", "cron")]


def test_allow_overlaps_and_replace_cancels_the_previous(root: str, procs) -> None:
    clock = Clock()
    sched = _scheduler(root, _schedule(root, concurrency="allow"), clock)
    for k in (1, 2):
        clock.now = T0 + 600 * k + 1
        sched.tick()
    assert _statuses(sched) == [("running", "cron"), ("running", "cron")]

    root2 = str(Path(root) / "other")
    clock = Clock()
    sched = _scheduler(root2, _schedule(root2, concurrency="replace"), clock)
    for k in (1, 2):
        clock.now = T0 + 600 * k + 1
        sched.tick()
    history = sched.store.history("tiny")
    assert [h.status for h in history] == ["replaced", "running"]
    assert history[0].reason == f"replaced by run {history[1].run_id}"


@pytest.mark.parametrize(("policy", "expected"), [("run-once", "running"), ("skip", "skipped")])
def test_missed_fires_are_coalesced_into_one_or_skipped(
    root: str, procs, policy: str, expected: str
) -> None:
    clock = Clock()
    sched = _scheduler(root, _schedule(root), clock, missed=policy, grace=60.0)
    clock.now = T0 + 3 * 3600 + 300  # down for 3 h: 18 fires missed, the last 5 min ago
    sched.tick()
    history = sched.store.history("tiny")
    assert [(h.status, h.trigger) for h in history] == [(expected, "missed")]
    assert history[0].fire_time == T0 + 3 * 3600
    says = "18 fires coalesced" if policy == "run-once" else "missed 18 fire(s)"
    assert says in history[0].reason
    clock.now = T0 + 3 * 3600 + 601  # then back to normal
    sched.tick()
    assert sched.store.history("tiny")[-1].trigger == "cron"


def test_paused_schedules_do_not_fire(root: str, procs) -> None:
    clock = Clock()
    sched = _scheduler(root, _schedule(root, paused=True), clock)
    clock.now = T0 + 3600
    sched.tick()
    assert _statuses(sched) == []


def test_a_fire_recorded_before_a_crash_is_started_once_on_restart(root: str, procs) -> None:
    clock = Clock()
    sched = _scheduler(root, _schedule(root), clock)
    # the killed scheduler had recorded the fire (and consumed it) but not started it
    entry_id = sched.store.record_fire(
        "tiny", T0 + 600, "starting", run_id="r-1", advance_to=T0 + 600
    )
    sched.store.record_fire("tiny", T0 + 1, "starting", run_id="r-0", trigger="run-now")

    recovered = sched.launcher.recover()
    assert [(e.id, e.run_id, e.status) for e in recovered] == [(entry_id, "r-1", "running")]
    assert list(procs) == ["r-1"]  # started under its recorded run id; run-now is not redone
    assert sched.launcher.recover() == []  # and only once
