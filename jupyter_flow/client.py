"""Read runs back: ``Run("Flow/ID").data.model``, ``latest_run("Flow")``, ``list_runs(...)``.

Everything is loaded lazily from the store; the store root is found the way the CLI finds
it (``root=`` argument, ``JUPYTER_FLOW_ROOT``, config file, ``./.jupyter_flow``).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CorruptBlob, RunNotFound
from .flow.dag import PARAMS
from .store import artifacts
from .store.records import (
    AttemptRecord,
    ErrorInfo,
    Records,
    RunRecord,
    RunStatus,
    StepInfo,
    TaskRecord,
    TaskStatus,
    new_run_id,
)

if TYPE_CHECKING:
    from .store.engine import Engine

__all__ = [
    "Run",
    "Step",
    "Task",
    "latest_run",
    "latest_successful_run",
    "list_runs",
    "new_run_id",
]

LOST_AFTER = 30.0  # seconds without a driver heartbeat


def _load(engine: Engine, artifact: Any, module_path: str, groups: artifacts.Groups) -> Any:
    """Load one artifact; ``groups`` is the run's, so outputs of one task that shared
    objects (``data[0] is train_df``) share them again when read back."""
    try:
        return artifacts.load(engine.store, artifact, groups)
    except ModuleNotFoundError:
        # objects of classes defined in the flow module: make that module importable
        folder = str(Path(module_path).parent) if module_path else ""
        if not folder or folder in sys.path:
            raise
        sys.path.insert(0, folder)
        return artifacts.load(engine.store, artifact, groups)


class _Namespace:
    """Attribute access to artifacts, loaded on first access and then cached."""

    def __init__(self, loader: Any, names: list[str]) -> None:
        self._loader = loader
        self._names = names
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._names:
            raise AttributeError(
                f"no artifact {name!r}; available: {', '.join(sorted(self._names)) or 'none'}"
            )
        if name not in self._cache:
            self._cache[name] = self._loader(name)
        return self._cache[name]

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def __dir__(self) -> list[str]:
        return sorted(self._names)

    def __repr__(self) -> str:
        return f"<artifacts: {', '.join(sorted(self._names))}>"


class Task:
    def __init__(self, run: Run, record: TaskRecord) -> None:
        self.run = run
        self.record = record
        self.step = record.step
        self.index = record.index
        self.status: TaskStatus = record.status

    @property
    def exception(self) -> ErrorInfo | None:
        """The caught error of a ``catch=True`` step that failed, else None."""
        return self.record.error

    @cached_property
    def data(self) -> _Namespace:
        return _Namespace(self._load, [a.name for a in self.record.artifacts])

    def _load(self, name: str) -> Any:
        artifact = self.record.artifact(name)
        try:
            return _load(self.run._engine, artifact, self.run.record.module_path, self.run._groups)
        except CorruptBlob as err:
            raise err.about(
                f"artifact {name!r} of task {self.run.pathspec}/{self.step}/{self.index}",
                store=self.run._engine.store.url,
                run_id=self.run.id,
            ) from None

    def _log(self, stream: str) -> str:
        run_id = self.record.origin_run or self.run.id
        return self.run._engine.records.read_log(
            self.run.flow, run_id, self.step, self.index, self.record.attempt, stream
        )

    @property
    def stdout(self) -> str:
        return self._log("stdout")

    @property
    def stderr(self) -> str:
        return self._log("stderr")

    def __repr__(self) -> str:
        return f"Task({self.run.pathspec}/{self.step}/{self.index}, {self.status})"


class Step:
    def __init__(self, run: Run, name: str) -> None:
        self.run = run
        self.name = name

    @cached_property
    def tasks(self) -> list[Task]:
        records = self.run._engine.records.tasks(self.run.flow, self.run.id, self.name)
        return [Task(self.run, r) for r in records if r.step == self.name]

    @property
    def task(self) -> Task:
        if not self.tasks:
            raise RunNotFound(f"step {self.name!r} of {self.run.pathspec} has no finished task")
        return self.tasks[0]

    @property
    def attempts(self) -> list[AttemptRecord]:
        return self.run._engine.records.attempts(self.run.flow, self.run.id, self.name)

    def __repr__(self) -> str:
        return f"Step({self.run.pathspec}/{self.name}, {len(self.tasks)} tasks)"


class Run:
    """One run of a flow, read from the store."""

    def __init__(
        self,
        pathspec: str,
        *,
        root: str | None = None,
        _engine: Engine | None = None,
        _record: RunRecord | None = None,
    ) -> None:
        flow, _, run_id = pathspec.partition("/")
        if not run_id:
            raise RunNotFound(f"{pathspec!r} is not a run", hint='write "FlowName/RUN_ID"')
        self._engine = _engine or _engine_for(root)
        record = _record or self._engine.records.read_run(flow, run_id)
        if record is None:
            raise RunNotFound(
                f"run {pathspec} does not exist in {self._engine.settings.root} (or its "
                "run.json is damaged)",
                hint="list runs with `jupyter flow runs FLOW`",
            )
        self.record: RunRecord = record
        self._groups: artifacts.Groups = {}  # group_id -> decoded group, shared by its tasks
        self.flow = flow
        self.id = run_id
        self.pathspec = pathspec

    def refresh(self) -> Run:
        return Run(self.pathspec, _engine=self._engine)

    @property
    def status(self) -> RunStatus:
        """running | done | failed | cancelled | lost (the driver died without finishing)."""
        return run_status(self._engine.records, self.record)

    @property
    def error(self) -> ErrorInfo | None:
        """Why the run failed: ``message`` (``KeyError: 'y'``), ``where`` (``cell 6, line 3:
        "..."``), ``cell``, ``line`` and the annotated ``traceback``; None unless it failed."""
        return self.record.error

    @property
    def successful(self) -> bool:
        return self.status == "done"

    @property
    def created(self) -> float:
        return self.record.created

    @property
    def finished(self) -> float | None:
        return self.record.finished

    @property
    def steps(self) -> list[Step]:
        return [Step(self, s.name) for s in self.record.steps]

    def __getitem__(self, step: str) -> Step:
        if step not in {s.name for s in self.record.steps}:
            names = ", ".join(s.name for s in self.record.steps)
            raise KeyError(f"{self.pathspec} has no step {step!r}; steps: {names}")
        return Step(self, step)

    @cached_property
    def params(self) -> _Namespace:
        return Step(self, PARAMS).task.data

    @cached_property
    def data(self) -> _Namespace:
        """Final value of every artifact: the last writer's; a list for foreach outputs."""
        names = list(self.record.final) + [
            n for n in self.record.params if n not in self.record.final
        ]
        return _Namespace(self._final_value, names)

    def _final_value(self, name: str) -> Any:
        step = self.record.final.get(name)
        if step is None:
            return getattr(self.params, name)
        info = next(s for s in self.record.steps if s.name == step)
        tasks = Step(self, step).tasks
        if info.foreach:
            self._check_complete(info, name, tasks)
            return [t.data[name] for t in tasks]
        if not tasks:
            raise RunNotFound(
                f"{name!r} is written by step {step!r}, which did not finish in {self.pathspec}",
                hint="resume the run to compute it",
            )
        return tasks[0].data[name]

    def _check_complete(self, info: StepInfo, name: str, tasks: list[Task]) -> None:
        """A foreach output of a run that did not finish may lack items: never hand back a
        shorter list as if it were the whole one."""
        if self.record.status == "done" or not info.foreach:
            return
        items = info.foreach.split(" in ", 1)[-1].strip()
        expected = self._length_of(items)
        have = {t.index for t in tasks}
        if expected is None or len(have) >= expected:
            return
        missing = [i for i in range(expected) if i not in have]
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        raise RunNotFound(
            f"{name!r} of foreach step {info.name!r} has {len(have)} of {expected} items in "
            f"{self.pathspec} ({self.status}): items {shown} did not finish",
            hint=f"resume the run to compute them; run[{info.name!r}].tasks has the "
            "finished ones, or use latest_successful_run()",
        )

    def _length_of(self, items: str) -> int | None:
        """The length of the foreach list ``items`` as its writer recorded it."""
        step = self.record.final.get(items, PARAMS)
        for task in Step(self, step).tasks:
            artifact = task.record.artifact(items)
            if artifact is not None:
                return artifact.length
        return None

    def logs(self, step: str | None = None, tail: int = 200) -> str:
        """The last ``tail`` lines of every attempt's stdout and stderr, labelled."""
        lines: list[str] = []
        for attempt in self._engine.records.attempts(self.flow, self.id, step):
            if attempt.step == PARAMS:
                continue
            for stream in ("stdout", "stderr"):
                text = self._engine.records.read_log(
                    self.flow, self.id, attempt.step, attempt.index, attempt.attempt, stream
                )
                label = f"{attempt.step}/{attempt.index}#{attempt.attempt} {stream}"
                lines.extend(f"[{label}] {line}" for line in text.splitlines())
            if attempt.error and attempt.error.traceback:
                lines.extend(
                    f"[{attempt.step}/{attempt.index}#{attempt.attempt} error] {line}"
                    for line in attempt.error.traceback.splitlines()
                )
        return "\n".join(lines[-tail:])

    def summary(self) -> dict[str, Any]:
        """A JSON-able view for the CLI, the server extension and the widget
        (``run_summary.py`` says what is in it)."""
        from .run_summary import run_summary

        records = self._engine.records
        tasks = records.tasks(self.flow, self.id)
        return run_summary(self.record, self.status, tasks, records.attempts(self.flow, self.id))

    def __repr__(self) -> str:
        return f"Run({self.pathspec!r}, status={self.status!r})"

    def _repr_html_(self) -> str:
        import html

        from .runtime.observer import SYMBOL

        rows = "".join(
            f"<tr><td>{html.escape(s['name'])}</td>"
            f"<td>{SYMBOL.get(s['status'], '')} {s['status']}</td>"
            f"<td>{s['tasks_done']}/{s['tasks_total']}</td>"
            f"<td>{html.escape(s['caught_note'])}</td></tr>"
            for s in self.summary()["steps"]
        )
        return (
            f"<div class='jp-Flow-run'><b>{html.escape(self.pathspec)}</b> — {self.status}"
            f"<table><tr><th>step</th><th>status</th><th>tasks</th><th></th></tr>{rows}"
            "</table></div>"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def run_status(records: Records, record: RunRecord) -> RunStatus:
    """A record's status, with a "running" run whose driver stopped beating judged lost
    (shared by ``Run.status`` and schedule history, which has records but no ``Run``)."""
    if record.status != "running":
        return record.status
    beat = records.read_heartbeat(record.flow, record.run_id) or {}
    if beat.get("host") == socket.gethostname() and beat.get("pid"):
        return "running" if _alive(int(beat["pid"])) else "lost"
    if time.time() - float(beat.get("time", record.created)) > LOST_AFTER:
        return "lost"
    return "running"


_engines: dict[str, Engine] = {}


def _engine_for(root: str | None) -> Engine:
    from .config import Settings
    from .store.engine import Engine

    settings = Settings.load(root=root)
    if settings.root not in _engines:
        _engines[settings.root] = Engine.open(settings)
    return _engines[settings.root]


_BATCH = 64


def list_runs(
    flow: str | None = None,
    *,
    status: RunStatus | None = None,
    root: str | None = None,
    limit: int | None = None,
) -> list[Run]:
    """Runs, newest first. ``status`` filters on the derived status (e.g. ``lost``).

    The index picks the rows (flow, status and limit in SQL), so the cost grows with
    ``limit``, not with the store: only the rows returned are re-read from their
    ``run.json`` (the truth) and only a "running" one has its heartbeat checked. A run
    whose record is damaged or gone is skipped.
    """
    engine = _engine_for(root)
    # a long-lived process (a kernel, the server) must see runs made since it opened the
    # store; for a local root this is one directory listing when nothing changed
    engine.index.sync(engine.records)
    # only "running" is derived (a dead driver's run reads "lost"): the rest filter in SQL
    stored: RunStatus | None = "running" if status == "lost" else status
    runs: list[Run] = []
    offset = 0
    while True:
        batch = max(_BATCH, 2 * (limit or 0)) if limit else None
        rows = engine.index.query(flow, stored, limit=batch, offset=offset)
        for row in rows:
            record = engine.records.read_run(row.flow, row.run_id)
            if record is None:
                continue
            run = Run(record.pathspec, _engine=engine, _record=record)
            if status is None or run.status == status:
                runs.append(run)
                if limit and len(runs) >= limit:
                    return runs
        if batch is None or len(rows) < batch:
            return runs
        offset += len(rows)


def latest_successful_run(flow: str, *, root: str | None = None) -> Run:
    """The newest run of ``flow`` that finished (``done``): where a value is wanted."""
    return latest_run(flow, status="done", root=root)


def latest_run(flow: str, *, status: RunStatus | None = None, root: str | None = None) -> Run:
    runs = list_runs(flow, status=status, root=root, limit=1)
    if not runs:
        which = f" with status {status!r}" if status else ""
        raise RunNotFound(f"no run of {flow}{which}", hint=f"start one: python {flow}.py run")
    return runs[0]
