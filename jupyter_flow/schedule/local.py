"""The local target: schedules kept in the store's SQLite, fired by the local scheduler
(``jupyter flow scheduler``, or the one inside a running Jupyter server).

Each fire starts ``python -m jupyter_flow run <pinned copy> --root ROOT --run-id ID`` as its
own process (in its own session, so stopping or restarting the scheduler never kills a run)
and records it in the schedule's history; the run's status is read back from the store
through ``jupyter_flow.client.Run``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import FlowError
from .base import ScheduleTarget
from .model import Applied, HistoryEntry, Schedule
from .pin import local_module, pin_local, restore_local
from .store import ScheduleStore, state_dir

STARTING_GRACE = 10.0  # a "starting" entry with neither process nor run is lost after this


def log_path(schedule: Schedule, run_id: str) -> Path:
    return state_dir(schedule.root) / "schedule-logs" / schedule.name / f"{run_id}.log"


def pinned_module(schedule: Schedule) -> Path:
    """The module file inside the unpacked pinned package."""
    return local_module(
        state_dir(schedule.root), schedule.flow.package_key, schedule.flow.module_file
    )


def run_command(schedule: Schedule, run_id: str) -> list[str]:
    module = str(pinned_module(schedule))
    command = [sys.executable, "-m", "jupyter_flow", "run", module, "--root", schedule.root]
    command += ["--run-id", run_id, "--schedule", schedule.name, "--quiet"]
    for key, value in sorted(schedule.params.items()):
        command += ["--param", f"{key}={value}"]
    return command


_DETACH = (
    "import subprocess, sys\n"
    "with open(sys.argv[1], 'ab') as out:\n"
    "    p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=out,\n"
    "                         stderr=subprocess.STDOUT, start_new_session=True)\n"
    "print(p.pid)\n"
)


def spawn_detached(schedule: Schedule, run_id: str) -> int:
    """Start the run through a short-lived middle process, so it is nobody's child here:
    a long-lived caller (the Jupyter server) is left with no process to reap."""
    log = log_path(schedule, run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    middle = subprocess.run(
        [sys.executable, "-c", _DETACH, str(log), *run_command(schedule, run_id)],
        env=_env(schedule),
        capture_output=True,
        text=True,
        check=False,
    )
    if middle.returncode != 0 or not middle.stdout.strip().isdigit():
        raise OSError(f"could not start the run: {middle.stderr.strip()[-300:]}")
    return int(middle.stdout.strip())


def _env(schedule: Schedule) -> dict[str, str]:
    env = dict(os.environ)
    # the pinned package first (its project code and jupyter_flow), then the module's
    # original folder for what the package leaves out (large data files)
    pinned = str(pinned_module(schedule).parent)
    folder = str(Path(schedule.flow.source_path).parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pinned, folder, env.get("PYTHONPATH")) if p)
    return env


def spawn(schedule: Schedule, run_id: str) -> subprocess.Popen[bytes]:
    """Start the run in its own session; stdout/stderr go to the schedule's log folder."""
    log = log_path(schedule, run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            run_command(schedule, run_id),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(schedule),
            start_new_session=True,
        )


class Launcher:
    """Starts runs for fires and keeps history current; holds its children to reap them."""

    def __init__(self, store: ScheduleStore, *, detach: bool = False) -> None:
        self.store = store
        self.detach = detach  # for callers that do not stay to reap their children
        self.children: dict[int, subprocess.Popen[bytes]] = {}

    def launch(
        self,
        schedule: Schedule,
        fire_time: float,
        trigger: str,
        *,
        reason: str = "",
        advance_to: float | None = None,
        seen_trigger: str | None = None,
    ) -> HistoryEntry | None:
        """Record the fire and start its run; None when ``advance_to`` was consumed already
        (another scheduler of this store fired it)."""
        from ..client import new_run_id

        run_id = new_run_id()
        # Recorded (and the fire consumed) before the process starts: a crash in between
        # leaves a "starting" entry that reconcile marks lost, never a double fire.
        entry_id = self.store.record_fire(
            schedule.name,
            fire_time,
            "starting",
            run_id=run_id,
            reason=reason,
            trigger=trigger,
            advance_to=advance_to,
            seen_trigger=seen_trigger,
        )
        if entry_id is None:
            return None
        try:
            restore_local(
                schedule.root,
                state_dir(schedule.root),
                schedule.flow.package_key,
                schedule.flow.module_file,
            )
            if self.detach:
                pid = spawn_detached(schedule, run_id)
            else:
                proc = spawn(schedule, run_id)
                pid = proc.pid
                self.children[pid] = proc
        except (OSError, FlowError) as err:
            self.store.update_entry(
                entry_id, status="failed", reason=f"could not start: {err}", finished=time.time()
            )
            raise
        self.store.update_entry(entry_id, status="running", pid=pid)
        return self.store.entry(entry_id)

    def skip(
        self, schedule: Schedule, fire_time: float, reason: str, trigger: str = "cron"
    ) -> None:
        self.store.record_fire(
            schedule.name,
            fire_time,
            "skipped",
            reason=reason,
            trigger=trigger,
            advance_to=fire_time,
        )

    def stop(self, entry: HistoryEntry, replaced_by: str) -> None:
        """Cancel a running fire (``replace`` policy): SIGINT lets the runner record the run
        as cancelled, keeping its finished tasks."""
        if entry.pid and _alive(entry.pid):
            try:
                os.kill(entry.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        self.store.update_entry(
            entry.id,
            status="replaced",
            reason=f"replaced by run {replaced_by}",
            finished=time.time(),
        )

    def reconcile(self, schedule: Schedule | None = None) -> list[HistoryEntry]:
        """Bring active history entries up to date; return those still active."""
        for pid, proc in list(self.children.items()):
            if proc.poll() is not None:
                del self.children[pid]
        active = []
        name = schedule.name if schedule else None
        for entry in self.store.history(name, active_only=True):
            status, reason = self._status(entry)
            if status in ("starting", "running"):
                active.append(entry)
            else:
                self.store.update_entry(
                    entry.id, status=status, reason=reason or entry.reason, finished=time.time()
                )
        return active

    def _status(self, entry: HistoryEntry) -> tuple[str, str]:
        if entry.pid is None:  # the scheduler died between recording and starting it
            status = self._run_status(entry)
            if status is not None:  # ...after the run had started: its record knows
                return status, ""
            pid = find_run_process(entry.run_id)
            if pid is not None:  # ...after starting it, before writing its pid
                self.store.update_entry(entry.id, pid=pid)
                return "running", ""
            if time.time() - (entry.started or 0) > STARTING_GRACE:
                return "lost", "the scheduler stopped before the run started"
            return entry.status, ""
        alive = _alive(entry.pid) and entry.pid not in self._exited()
        status = self._run_status(entry)
        if status is None:
            if alive:
                return "running", ""
            return "failed", "the run exited before it started; see the schedule's log"
        if status == "running" and not alive:
            return "lost", "the run's process died"
        return status, ""

    def recover(self) -> list[HistoryEntry]:
        """At scheduler start: re-launch fires a killed scheduler recorded but never started.

        Safe because only the scheduler creates cron/on-finish fires and only one runs per
        store: such an entry with no process and no run record was never started, so it is
        started now under its recorded run id (a fire is neither lost nor run twice)."""
        recovered = []
        for entry in self.store.history(active_only=True):
            if entry.pid is not None or entry.trigger == "run-now" or entry.run_id is None:
                continue
            schedule = self.store.get(entry.schedule)
            if schedule is None or self._run_status(entry) is not None:
                continue
            if find_run_process(entry.run_id) is not None:
                continue
            restore_local(
                schedule.root,
                state_dir(schedule.root),
                schedule.flow.package_key,
                schedule.flow.module_file,
            )
            if self.detach:
                pid = spawn_detached(schedule, entry.run_id)
            else:
                proc = spawn(schedule, entry.run_id)
                pid = proc.pid
                self.children[pid] = proc
            reason = "started late: the scheduler had stopped before starting it"
            self.store.update_entry(entry.id, status="running", pid=pid, reason=reason)
            recovered.append(self.store.entry(entry.id))
        return recovered

    def _exited(self) -> set[int]:
        return {pid for pid, proc in self.children.items() if proc.returncode is not None}

    def _run_status(self, entry: HistoryEntry) -> str | None:
        from ..client import Run

        schedule = self.store.get(entry.schedule)
        if schedule is None or entry.run_id is None:
            return None
        try:
            return str(Run(f"{schedule.flow.name}/{entry.run_id}", root=schedule.root).status)
        except FlowError:
            return None


def find_run_process(run_id: str | None) -> int | None:
    """The pid of a live ``jupyter_flow run ... --run-id RUN_ID`` process (Linux: /proc)."""
    if not run_id or not Path("/proc/self/cmdline").exists():
        return None
    needle = b"\0--run-id\0" + run_id.encode() + b"\0"
    for folder in Path("/proc").iterdir():
        name = folder.name
        if not name.isdigit():
            continue
        try:
            cmdline = (folder / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline + b"\0" and _alive(int(name)):
            return int(name)
    return None


def _alive(pid: int) -> bool:
    from ..client import _alive as alive

    return bool(alive(pid))


class LocalTarget(ScheduleTarget):
    name = "local"
    allows_seconds = True
    supports_on_finish = True

    def render(self, schedule: Schedule) -> tuple[dict[str, Any], ...]:
        return (
            {
                "kind": "LocalSchedule",
                "name": schedule.name,
                "flow": schedule.flow.name,
                "code": schedule.flow.package_key,
                "trigger": {"cron": schedule.cron, "timezone": schedule.timezone}
                if schedule.cron
                else {"on_finish": schedule.on_finish},
                "concurrency": schedule.concurrency,
                "paused": schedule.paused,
                "command": run_command(schedule, "<run-id>"),
                "database": str(ScheduleStore(schedule.root).path),
            },
        )

    def summary(self, schedule: Schedule) -> str:
        return super().summary(schedule) + " (fired by `jupyter flow scheduler` or Jupyter)"

    def apply(self, schedule: Schedule) -> Applied:
        pin_local(
            schedule.root,
            state_dir(schedule.root),
            schedule.flow.source_path,
            schedule.flow.package_key,
        )
        return self.describe(schedule)

    def remove(self, schedule: Schedule) -> None:
        """Nothing outside the database: the pinned copy is shared by content and kept."""

    def set_paused(self, schedule: Schedule) -> None:
        """The scheduler reads ``paused`` from the database on every tick."""

    def list_names(self) -> list[str]:
        return [s.name for s in ScheduleStore(self.settings.root).all("local")]

    def run_now(self, schedule: Schedule) -> str:
        launcher = Launcher(ScheduleStore(schedule.root), detach=True)
        entry = launcher.launch(schedule, time.time(), "run-now")
        assert entry is not None  # a run-now consumes no fire time
        return f"{schedule.flow.name}/{entry.run_id}"

    def refresh(self, store: ScheduleStore, schedule: Schedule) -> None:
        Launcher(store).reconcile(schedule)
