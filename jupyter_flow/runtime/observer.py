"""Watching a run: the driver reports to an observer; the terminal view is one of them.

The kernel's widget (``kernel/widgets.py``) is another: it subclasses ``RunObserver`` and
gets the same events, so the terminal and the notebook never disagree about a run.
(``cancel RUN`` from another terminal is the runner's to honour, not a view's.)
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..store.records import ErrorInfo, RunRecord, TaskRecord, log_path
from .cancel_request import CancelWatch

if TYPE_CHECKING:
    from ..flow.dag import Dag
    from ..store.blobs import BlobStore
    from .taskspec import TaskSpec


TAIL_AT_ONCE = 16  # in-flight tasks whose logs are followed live
# One mark per state, the same in the terminal, ``show`` and the notebook
SYMBOL = {
    "waiting": "·",
    "running": "▶",
    "retrying": "↻",
    "done": "✓",
    "caught": "⚠",
    "failed": "✗",
    "cancelled": "■",
}


class RunObserver:
    """No-op base: override what you need. Called from the driver's thread only."""

    def run_started(self, record: RunRecord, dag: Dag) -> None: ...
    def step_expanded(self, step: str, tasks: int, to_run: int) -> None: ...
    def task_started(self, spec: TaskSpec) -> None: ...
    def task_finished(
        self, spec: TaskSpec, task: TaskRecord | None, error: ErrorInfo | None, *, retrying: bool
    ) -> None: ...
    def poll(self) -> None: ...
    def run_finished(self, record: RunRecord) -> None: ...


class CancelOnRequest(RunObserver):
    """No view, for a run with none (``run --quiet``). ``cancel RUN`` is honoured by the
    runner itself (``cancel_request.py``); ``watch.store`` is the store its caller
    (``cli_engine._run``) closes, never looked at here."""

    def __init__(self, store: BlobStore) -> None:
        self.watch = CancelWatch(store)


class LogTailer:
    """Reads what in-flight attempts appended to their logs since the last look."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.offsets: dict[str, int] = {}
        self._paths: dict[str, Path | None] = {}

    def _path(self, key: str) -> Path | None:
        if key not in self._paths:  # resolved once: local_path may create folders
            self._paths[key] = self.store.local_path(key)
        return self._paths[key]

    def read_new(self, spec: TaskSpec, stream: str) -> str:
        key = log_path(spec.flow, spec.run_id, spec.step, spec.index, spec.attempt, stream)
        offset = self.offsets.get(key, 0)
        path = self._path(key)
        if path is not None:
            try:
                with open(path, "rb") as fh:
                    fh.seek(offset)
                    data = fh.read()
            except FileNotFoundError:
                return ""
        else:
            data = (self.store.get(key) or b"")[offset:]
        # hand out whole lines only; the rest waits for its newline
        cut = data.rfind(b"\n") + 1
        self.offsets[key] = offset + cut
        return data[:cut].decode(errors="replace")

    def flush(self, spec: TaskSpec, stream: str) -> str:
        text = self.read_new(spec, stream)
        key = log_path(spec.flow, spec.run_id, spec.step, spec.index, spec.attempt, stream)
        path = self._path(key)
        self._paths.pop(key, None)
        rest = b""
        if path is not None and path.exists():
            with open(path, "rb") as fh:
                fh.seek(self.offsets.get(key, 0))
                rest = fh.read()
        return text + (rest.decode(errors="replace") + "\n" if rest else "")


def caught_note(error: ErrorInfo | None) -> str:
    """What a caught failure was, short, for every view that marks it ``⚠``: "timed out
    after 2s", "ValueError: bad x (cell 3, line 2)". A caught step is not a success: its
    outputs are None, and a green tick hid that."""
    if error is None:
        return "failed"
    if error.kind == "timeout":
        found = re.search(r"timeout of ([^\s(,;]+)", error.message)
        if found:
            limit = found[1] + ("s" if found[1][-1:].isdigit() else "")
            return f"timed out after {limit}"
        return "timed out"
    where = error.where.split(": ", 1)[0] if error.where else ""  # 'cell 6, line 3'
    return error.message + (f" ({where})" if where else "")


def caught_summary(notes: list[str], total: int) -> str:
    """A step's caught tasks in one phrase: "timed out after 2s; outputs None", or
    "2 of 6 caught, outputs None; first: ValueError: odd 1"."""
    if not notes:
        return ""
    if total > 1 or len(notes) > 1:
        return f"{len(notes)} of {total} caught, outputs None; first: {notes[0]}"
    return f"{notes[0]}; outputs None"


def _fmt(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class TerminalProgress(RunObserver):
    """Live logs prefixed by step/task, a line per finished step, a status line on a tty."""

    def __init__(self, store: BlobStore, out: TextIO | None = None, *, logs: bool = True) -> None:
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self.logs = logs
        self.tailer = LogTailer(store)
        self.running: dict[str, TaskSpec] = {}
        self.expected: dict[str, int] = {}
        self.finished: dict[str, int] = {}
        self.caught: dict[str, list[str]] = {}  # step -> notes of its caught tasks
        self.order: list[str] = []
        self.total_steps = 0
        self.started = time.monotonic()
        self.step_started: dict[str, float] = {}
        self._status_shown = False
        self._last_poll = 0.0

    def _print(self, text: str) -> None:
        if self._status_shown:
            self.out.write("\r\x1b[K")
            self._status_shown = False
        self.out.write(text if text.endswith("\n") else text + "\n")

    def run_started(self, record: RunRecord, dag: Dag) -> None:
        self.order = list(dag.order)
        self.total_steps = len(dag.order)
        origin = f", resuming {record.origin_run}" if record.origin_run else ""
        self._print(f"Run {record.pathspec} started ({self.total_steps} steps{origin})")

    def step_expanded(self, step: str, tasks: int, to_run: int) -> None:
        self.expected[step] = tasks
        self.finished[step] = tasks - to_run
        self.step_started[step] = time.monotonic()
        if tasks != to_run:
            self._print(f"  {step}: reusing {tasks - to_run} finished task(s)")
        if self.finished[step] >= tasks:
            self._step_done(step)

    def task_started(self, spec: TaskSpec) -> None:
        self.running[spec.task_id] = spec

    def _drain(self, spec: TaskSpec, final: bool) -> None:
        if not self.logs:
            return
        for stream in ("stdout", "stderr"):
            text = self.tailer.flush(spec, stream) if final else self.tailer.read_new(spec, stream)
            for line in text.splitlines():
                self._print(f"[{spec.label}] {line}")

    def task_finished(
        self, spec: TaskSpec, task: TaskRecord | None, error: ErrorInfo | None, *, retrying: bool
    ) -> None:
        self.running.pop(spec.task_id, None)
        self._drain(spec, final=True)
        if retrying and error is not None:
            self._print(
                f"  {spec.label}: attempt {spec.attempt} failed ({error.message}); retrying"
            )
            return
        if task is not None:
            if task.status == "caught":
                note = caught_note(error or task.error)
                self.caught.setdefault(spec.step, []).append(note)
                if self.expected.get(spec.step, 1) > 1:  # a one-task step says it on its line
                    self._print(f"  ⚠ {spec.label} caught: {note}; its outputs are None")
            self.finished[spec.step] = self.finished.get(spec.step, 0) + 1
            if self.finished[spec.step] >= self.expected.get(spec.step, 1):
                self._step_done(spec.step)
        elif error is not None:
            at = f" ({error.where})" if error.where else ""  # cell 6, line 3: "..."
            self._print(f"✗ {spec.label} failed{at}: {error.message}")

    def _step_done(self, step: str) -> None:
        count = self.expected.get(step, 1)
        tasks = f" ({count} tasks)" if count != 1 else ""
        elapsed = time.monotonic() - self.step_started.get(step, self.started)
        caught = self.caught.get(step)
        if not caught:
            self._print(f"✓ {step}{tasks} {_fmt(elapsed)}")
        elif count == 1:
            self._print(f"⚠ {step} {_fmt(elapsed)} caught: {caught[0]}; its outputs are None")
        else:
            self._print(f"⚠ {step}{tasks} {_fmt(elapsed)}: {len(caught)} caught")

    def poll(self) -> None:
        now = time.monotonic()
        if now - self._last_poll < 0.2:
            return
        self._last_poll = now
        # tasks are reported when submitted; only the oldest can be running right now
        for spec in list(self.running.values())[:TAIL_AT_ONCE]:
            self._drain(spec, final=False)
        if self.tty:
            done = sum(1 for s, n in self.expected.items() if self.finished.get(s, 0) >= n)
            names = ", ".join(s.label for s in list(self.running.values())[:4])
            more = f" +{len(self.running) - 4}" if len(self.running) > 4 else ""
            elapsed = _fmt(now - self.started)
            running = f"{names or '-'}{more}"
            status = f"  {done}/{self.total_steps} steps · running: {running} · {elapsed}"
            self.out.write("\r\x1b[K" + status[:120])
            self.out.flush()
            self._status_shown = True

    def run_finished(self, record: RunRecord) -> None:
        for spec in list(self.running.values()):
            self._drain(spec, final=True)
        elapsed = _fmt(time.monotonic() - self.started)
        steps = sorted(self.caught, key=lambda s: self.order.index(s) if s in self.order else 0)
        caught = f", failures caught in {', '.join(steps)}" if steps else ""
        self._print(f"Run {record.pathspec} {record.status} in {elapsed}{caught}")
        self.out.flush()
