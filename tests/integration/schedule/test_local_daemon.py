"""The real scheduler daemon: per-second schedules, restarts, SIGKILL, SIGTERM, on-finish.

Waits poll the history with generous deadlines (the machine is shared), never sleep a
fixed time and assert.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_flow.client import Run
from jupyter_flow.schedule import api
from jupyter_flow.schedule.model import HistoryEntry
from jupyter_flow.schedule.store import ScheduleStore

pytestmark = pytest.mark.slow

TICK_FLOW = """
import time
from jupyter_flow import Flow

flow = Flow("TickFlow", parameters={"sleep": 0.0})


@flow.step(outputs="slept")
def nap(sleep):
    time.sleep(sleep)
    return sleep
"""

AFTER_FLOW = """
from jupyter_flow import Flow

flow = Flow("AfterFlow")


@flow.step(outputs="note")
def note():
    return "ran after TickFlow"
"""


class Daemon:
    """``jupyter flow scheduler`` as a child process, stopped by PID."""

    def __init__(self, root: str, log: Path) -> None:
        self.root = root
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "JUPYTER_FLOW_SCHEDULER_TICK": "0.2",
            "JUPYTER_FLOW_RETRY_BACKOFF": "0",
        }
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_flow", "scheduler", "--root", self.root],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self.proc = None
        return code


@pytest.fixture
def daemon(root: str, tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(root, tmp_path / "scheduler.log")
    yield d
    if d.proc is not None:
        d.stop(signal.SIGKILL)
    for entry in ScheduleStore(root).history(active_only=True):  # runs it left behind
        if entry.pid:
            try:
                os.kill(entry.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def wait_for(what: str, check: Callable[[], bool], timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def history(root: str, name: str) -> list[HistoryEntry]:
    return api.schedule_history(name, root)


def test_daemon_fires_survives_restart_and_sigkill(write_flow, root: str, daemon: Daemon) -> None:
    path = write_flow(TICK_FLOW, name="tick_flow.py")
    # every second, each run takes over 1 s: forbid must skip the overlapping fires
    api.create_schedule(path, "* * * * * *", params={"sleep": 1.0}, root=root)

    daemon.start()
    wait_for(
        "two finished runs",
        lambda: sum(h.status == "done" for h in history(root, "tick-flow")) >= 2,
    )
    assert daemon.stop(signal.SIGTERM) == 0
    assert not (Path(root) / "scheduler.pid").exists()
    assert "scheduler stopped" in daemon.log.read_text()

    entries = history(root, "tick-flow")
    done = [h for h in entries if h.status == "done"]
    for entry in done:
        assert Run(f"TickFlow/{entry.run_id}", root=root).status == "done"
        assert Run(f"TickFlow/{entry.run_id}", root=root).data.slept == 1.0
    skipped = [h for h in entries if h.status == "skipped"]
    assert skipped and all("concurrency: forbid" in h.reason for h in skipped)
    # never two runs at once: each run started after the previous one finished
    runs = sorted((Run(f"TickFlow/{h.run_id}", root=root) for h in done), key=lambda r: r.created)
    assert all(
        a.finished is not None and a.finished <= b.created for a, b in itertools.pairwise(runs)
    )

    # SIGKILL mid-way loses nothing: the schedule stays, the next daemon carries on
    before = len([h for h in history(root, "tick-flow") if h.status == "done"])
    daemon.start()
    wait_for("a fire after restart", lambda: len(history(root, "tick-flow")) > len(entries))
    daemon.stop(signal.SIGKILL)
    assert [s.name for s in api.list_schedules(root)] == ["tick-flow"]
    daemon.start()  # a stale PID file from the killed daemon does not block it
    wait_for(
        "more finished runs",
        lambda: sum(h.status == "done" for h in history(root, "tick-flow")) >= before + 2,
    )
    api.pause_schedule("tick-flow", root)
    assert daemon.stop() == 0  # runs it started go on without it
    wait_for(
        "the last runs to end",
        lambda: all(h.status not in ("starting", "running") for h in history(root, "tick-flow")),
    )
    final = history(root, "tick-flow")
    bad = [(h.status, h.reason) for h in final if h.status not in ("done", "skipped")]
    assert not bad
    assert len({h.run_id for h in final if h.run_id}) == len([h for h in final if h.run_id])


def test_on_finish_and_run_now(write_flow, root: str, daemon: Daemon, cli) -> None:
    tick = write_flow(TICK_FLOW, name="tick_flow.py")
    after = write_flow(AFTER_FLOW, name="after_flow.py")
    api.create_schedule(after, None, on_finish="TickFlow", root=root)
    api.create_schedule(tick, "0 0 1 1 *", root=root)  # yearly: only run-now fires it
    daemon.start()

    started = cli("schedule", "run-now", "tick-flow", "--root", root)
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("started TickFlow/")
    tick_run = started.stdout.split()[-1]
    wait_for("AfterFlow to run after TickFlow", lambda: any(
        h.status == "done" for h in history(root, "after-flow")
    ))  # fmt: skip
    after_entries = history(root, "after-flow")
    assert after_entries[0].trigger == f"on-finish:{tick_run}"
    assert Run(f"AfterFlow/{after_entries[0].run_id}", root=root).data.note == "ran after TickFlow"
    assert [h.trigger for h in history(root, "tick-flow")] == ["run-now"]
    assert daemon.stop() == 0


def test_a_second_daemon_stands_by_and_takes_over(
    root: str, daemon: Daemon, tmp_path: Path, write_flow
) -> None:
    path = write_flow(TICK_FLOW, name="tick_flow.py")
    api.create_schedule(path, "0 0 1 1 *", root=root)
    daemon.start()
    wait_for("the lease", lambda: api.scheduler_status(root).alive, timeout=30)
    first = api.scheduler_status(root)
    assert daemon.proc is not None and first.pid == daemon.proc.pid
    second = Daemon(root, tmp_path / "second.log")
    second.start()
    try:
        wait_for("the standby", lambda: "standing by" in second.log.read_text(), timeout=30)
        assert f"pid {first.pid}" in second.log.read_text()
        assert api.scheduler_status(root).pid == first.pid
        daemon.stop(signal.SIGKILL)
        wait_for("the take-over", lambda: "took over" in second.log.read_text(), timeout=30)
        assert second.proc is not None and api.scheduler_status(root).pid == second.proc.pid
    finally:
        if second.proc is not None:
            second.stop()


def test_a_schedule_runs_the_code_it_pinned(write_flow, root: str) -> None:
    path = write_flow(AFTER_FLOW, name="after_flow.py")
    api.create_schedule(path, "0 0 1 1 *", root=root)
    path.write_text(AFTER_FLOW.replace("ran after TickFlow", "edited later"))

    pathspec = api.run_now("after-flow", root)  # no daemon needed for run-now
    wait_for(
        "the run to finish",
        lambda: history(root, "after-flow")[0].status not in ("starting", "running"),
    )
    assert history(root, "after-flow")[0].status == "done"
    assert Run(pathspec, root=root).data.note == "ran after TickFlow"  # the pinned version

    api.create_schedule(path, "0 0 1 1 *", root=root, update=True)  # explicit update
    shutil.rmtree(Path(root) / "schedule-code")  # unpacked code is a cache of the store's
    pathspec = api.run_now("after-flow", root)
    wait_for("the second run", lambda: history(root, "after-flow")[-1].status == "done")
    assert Run(pathspec, root=root).data.note == "edited later"


def test_a_failing_run_is_recorded_as_failed(write_flow, root: str, cli) -> None:
    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("BrokenFlow")

        @flow.step(outputs="x")
        def boom():
            raise ValueError("bad data")
        """,
        name="broken_flow.py",
    )
    api.create_schedule(path, "0 0 1 1 *", root=root)
    pathspec = api.run_now("broken-flow", root)
    wait_for("the run to end", lambda: history(root, "broken-flow")[0].status != "running")
    entry = history(root, "broken-flow")[0]
    assert (entry.status, f"BrokenFlow/{entry.run_id}") == ("failed", pathspec)
    shown = cli("schedule", "history", "broken-flow")
    assert "failed" in shown.stdout and entry.run_id in shown.stdout
