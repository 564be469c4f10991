"""The state of a run as the notebook shows it, fed by the driver's observer events.

Kept apart from the widgets so the text fallback, the widget and the tests read one model:
per step its status, foreach progress, elapsed time, a bounded log tail, the user's
traceback and what it displayed. Every change bumps ``version``; views redraw only when it
moved, at their own pace.
"""

from __future__ import annotations

import html
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..flow.dag import PARAMS
from ..runtime.displays import displays_key, read_displays
from ..runtime.observer import (
    SYMBOL,
    RunObserver,
    caught_note,
    caught_summary,
)
from ..runtime.tracemap import error_text, short_traceback
from ..store.records import log_path

if TYPE_CHECKING:
    from ..flow.dag import Dag
    from ..runtime.taskspec import TaskSpec
    from ..store.blobs import BlobStore
    from ..store.records import ErrorInfo, RunRecord, TaskRecord

TAIL_LINES = 40
MAX_DISPLAYS = 20  # per step shown in the notebook; the store keeps all
LOG_EVERY = 0.5  # seconds between reads of in-flight logs
LOG_TASKS = 8  # in-flight attempts whose logs are read per poll: the oldest (the running ones)


class Tails:
    """New whole lines of attempts' logs. Unlike the terminal's tailer, it resolves each
    file once and skips a missing file with one failed open: a 1000-task foreach has every
    task "submitted" at once, and most of them have no log yet."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.offsets: dict[str, int] = {}
        self.paths: dict[str, Any] = {}

    def read(self, spec: TaskSpec, stream: str, *, final: bool) -> str:
        key = log_path(spec.flow, spec.run_id, spec.step, spec.index, spec.attempt, stream)
        if key not in self.paths:
            self.paths[key] = self.store.local_path(key)
        path, offset = self.paths[key], self.offsets.get(key, 0)
        if path is None:
            data = (self.store.get(key) or b"")[offset:]  # remote: uploaded every few seconds
        else:
            try:
                with open(path, "rb") as fh:
                    fh.seek(offset)
                    data = fh.read()
            except FileNotFoundError:
                return ""
        cut = len(data) if final else data.rfind(b"\n") + 1  # whole lines until the end
        self.offsets[key] = offset + cut
        return data[:cut].decode(errors="replace")


@dataclass
class StepState:
    name: str
    upstream: tuple[str, ...] = ()
    foreach: str | None = None
    # waiting | running | retrying | done | caught (done, some task's failure caught) |
    # failed | cancelled
    status: str = "waiting"
    total: int = 0
    done: int = 0
    reused: int = 0
    running: int = 0
    retrying: int = 0
    started: float | None = None
    finished: float | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    error: str = ""
    where: str = ""  # of a failure: "cell 6, line 3" (or the module file and line)
    displays: list[dict[str, Any]] = field(default_factory=list)
    caught: list[str] = field(default_factory=list)  # what its caught tasks failed with

    @property
    def note(self) -> str:
        """Why a ``caught`` step is not a plain success: "timed out after 2s"."""
        return caught_summary(self.caught, self.total)

    def elapsed(self, now: float | None = None) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or now or time.monotonic()) - self.started

    @property
    def progress(self) -> str:
        return f"{self.done}/{self.total}" if self.total else ""


def fmt_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class RunState(RunObserver):
    """Observer that keeps the view model; views subclass it or wrap it."""

    def __init__(self, store: BlobStore, *, logs: bool = True) -> None:
        self.store = store
        self.logs = logs
        self.tails = Tails(store)
        self.pathspec = ""
        self.run_id = ""
        self.status = "starting"
        self.origin = ""
        self.error = ""
        self.steps: dict[str, StepState] = {}
        self.inflight: dict[str, TaskSpec] = {}
        self.started = time.monotonic()
        self.finished: float | None = None
        self.version = 0
        self._last_logs = 0.0
        self._displays_read: dict[str, int] = {}  # attempt -> bytes of its displays read

    # -- observer events (driver thread)
    def run_started(self, record: RunRecord, dag: Dag) -> None:
        self.pathspec, self.run_id = record.pathspec, record.run_id
        self.status = "running"
        self.origin = record.origin_run or ""
        self.steps = {
            s.name: StepState(s.name, s.upstream, s.foreach)
            for s in record.steps
            if s.name != PARAMS
        }
        self.version += 1

    def step_expanded(self, step: str, tasks: int, to_run: int) -> None:
        state = self.steps[step]
        state.total, state.reused = tasks, tasks - to_run
        state.done = state.reused
        state.started = time.monotonic()
        state.status = "done" if to_run == 0 else "running"
        if to_run == 0:
            state.finished = state.started
        self.version += 1

    def task_started(self, spec: TaskSpec) -> None:
        self.inflight[spec.task_id] = spec
        state = self.steps[spec.step]
        state.running += 1
        if spec.attempt > 1:
            state.retrying = max(0, state.retrying - 1)
        state.status = "running"
        self.version += 1

    def task_finished(
        self, spec: TaskSpec, task: TaskRecord | None, error: ErrorInfo | None, *, retrying: bool
    ) -> None:
        self.inflight.pop(spec.task_id, None)
        state = self.steps[spec.step]
        state.running = max(0, state.running - 1)
        self._read_logs(spec, final=True)
        self._read_displays(spec, state)
        if retrying:
            state.retrying += 1
            state.status = "retrying"
            if error is not None:
                at = f" ({error.where})" if error.where else ""
                state.tail.append(
                    f"[{spec.label}] attempt {spec.attempt} failed{at}: {error.message}"
                )
        elif task is not None:
            state.done += 1
            if task.status == "caught":
                note = caught_note(error or task.error)
                state.caught.append(note)
                state.tail.append(f"[{spec.label}] ⚠ caught: {note}; its outputs are None")
            if state.done >= state.total:
                state.status = "caught" if state.caught else "done"
                state.finished = time.monotonic()
            elif not state.running and not state.retrying:
                state.status = "running"
        elif error is not None:
            state.status, state.finished = "failed", time.monotonic()
            state.error = error_text(spec.label, error)
            state.where = error.where.split(": ", 1)[0]
        self.version += 1

    def poll(self) -> None:
        now = time.monotonic()
        if now - self._last_logs < LOG_EVERY:
            return
        self._last_logs = now
        for spec in list(self.inflight.values())[:LOG_TASKS]:
            self._read_logs(spec, final=False)
            if self.store.local_path(self._displays_key(spec)) is not None:
                # a local store has them as they happen (a remote one at the task's end)
                self._read_displays(spec, self.steps[spec.step])

    def run_finished(self, record: RunRecord) -> None:
        self.status = record.status
        self.finished = time.monotonic()
        if record.error is not None and not self.error:
            self.error = error_text(record.failed_step or "?", record.error)
        for spec in list(self.inflight.values()):
            self._read_logs(spec, final=True)
        self.inflight.clear()
        for state in self.steps.values():  # what was still in flight was stopped
            if state.status in ("running", "retrying") and record.status != "done":
                state.status, state.finished = "cancelled", self.finished
        self.version += 1

    # -- reading the store
    def _read_logs(self, spec: TaskSpec, *, final: bool) -> None:
        if not self.logs:
            return
        state = self.steps.get(spec.step)
        if state is None:
            return
        changed = False
        for stream in ("stdout", "stderr"):
            for line in self.tails.read(spec, stream, final=final).splitlines():
                label = f"[{spec.index}] " if spec.foreach_count is not None else ""
                state.tail.append(label + line)
                changed = True
        if changed:
            self.version += 1

    @staticmethod
    def _displays_key(spec: TaskSpec) -> str:
        return displays_key(spec.flow, spec.run_id, spec.step, spec.index, spec.attempt)

    def _read_displays(self, spec: TaskSpec, state: StepState) -> None:
        """Take the attempt's bundles not taken yet: read while it runs and at its end."""
        if len(state.displays) >= MAX_DISPLAYS:
            return
        offset = self._displays_read.get(spec.task_id, 0)
        new, self._displays_read[spec.task_id] = read_displays(
            self.store, self._displays_key(spec), offset
        )
        if not new:
            return
        state.displays.extend(new[: MAX_DISPLAYS - len(state.displays)])
        self.version += 1

    # -- rendering (pure: strings)
    @property
    def ended(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def resume_hint(self) -> str:
        if self.status in ("failed", "cancelled"):
            return f"%flow run --resume {self.run_id}"
        return ""

    def text(self) -> str:
        """A compact summary: one line per step, the error and how to resume."""
        head = f"Run {self.pathspec or '(starting)'}: {self.status} · {fmt_seconds(self.elapsed())}"
        if self.origin:
            head += f" · resumed from {self.origin}"
        lines = [head]
        width = max((len(s) for s in self.steps), default=4)
        for state in self.steps.values():
            extra = f" {state.progress}" if state.foreach else ""
            if state.reused:
                extra += f" ({state.reused} reused)"
            seconds = f" {fmt_seconds(state.elapsed())}" if state.started is not None else ""
            note = f" — {state.note}" if state.note else ""
            lines.append(
                f"  {SYMBOL[state.status]} {state.name:<{width}} {state.status}{extra}{seconds}"
                + note
            )
        failed = next((s for s in self.steps.values() if s.status == "failed"), None)
        if failed is not None and failed.error:
            head, _, trace = failed.error.partition("\n")
            lines.append(head)  # step 'x' failed (cell 6, line 3: "..."): KeyError: 'y'
            if trace:
                lines.extend("  " + ln for ln in short_traceback(trace))
        if self.resume_hint():
            lines.append(f"resume with: {self.resume_hint()}")
        return "\n".join(lines)

    def table_html(self) -> str:
        rows = []
        for s in self.steps.values():
            seconds = fmt_seconds(s.elapsed()) if s.started is not None else ""
            rows.append(
                f"<tr class='jp-Flow-step-{s.status}'><td>{SYMBOL[s.status]}</td>"
                f"<td>{html.escape(s.name)}</td><td>{s.status}</td>"
                f"<td>{s.progress if s.foreach else ''}</td><td>{seconds}</td>"
                f"<td>{html.escape(s.note)}</td></tr>"
            )
        head = "<tr><th></th><th>step</th><th>status</th><th>tasks</th><th>time</th><th></th></tr>"
        return f"<table class='jp-Flow-steps'>{head}{''.join(rows)}</table>"

    def html(self, *, outputs: bool = False) -> str:
        """The same as a table; with ``outputs``, what each step displayed (static export)."""
        head = (
            f"<b>{html.escape(self.pathspec or 'starting')}</b> — {self.status} · "
            f"{fmt_seconds(self.elapsed())}"
        )
        parts = [f"<div class='jp-Flow-run'>{head}{self.table_html()}"]
        for s in self.steps.values():
            if s.error:
                parts.append(f"<pre class='jp-Flow-error'>{html.escape(s.error)}</pre>")
            if outputs:
                parts.extend(bundle_html(b) for b in s.displays)
        if self.resume_hint():
            parts.append(f"<code>{html.escape(self.resume_hint())}</code>")
        return "".join(parts) + "</div>"


def bundle_html(bundle: dict[str, Any]) -> str:
    """A recorded display as static HTML (image, HTML, or escaped text)."""
    data = bundle.get("data", {})
    if "image/png" in data:
        return f"<img src='data:image/png;base64,{data['image/png']}'/>"
    if "text/html" in data:
        return str(data["text/html"])
    return f"<pre>{html.escape(str(data.get('text/plain', '')))}</pre>"
