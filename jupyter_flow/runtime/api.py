"""The Python API of the engine: run or resume a flow, used by the CLI, the kernel and tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .. import plugins
from ..config import Settings
from ..errors import FlowDefinitionError, ParameterError, RunNotFound
from ..store.engine import Engine
from ..store.records import RunRecord, new_run_id
from .observer import RunObserver, TerminalProgress
from .runner import ResumeFrom, Runner

if TYPE_CHECKING:
    from ..client import Run
    from ..flow.spec import Flow

__all__ = ["Engine", "run_flow", "settings_for"]  # Engine is re-exported for older importers


def settings_for(
    root: str | None = None, executor: str | None = None, max_workers: int | None = None
) -> Settings:
    return Settings.load(root=root, executor=executor, max_workers=max_workers)


LATEST = "latest"  # resume=LATEST: the latest run of the flow, if it did not finish


def run_flow(
    flow: Flow,
    params: Mapping[str, Any] | None = None,
    *,
    root: str | None = None,
    executor: str | None = None,
    max_workers: int | None = None,
    echo: bool = False,
    run_id: str | None = None,
    resume: str | None = None,
    resume_step: str | None = None,
    observer: RunObserver | None = None,
    settings: Settings | None = None,
    out: TextIO | None = None,
    schedule: str = "",
) -> Run:
    """Run (or resume) ``flow`` to the end. Raises ``RunFailed`` / ``RunCancelled``.

    ``schedule`` names the schedule that started the run; its history is read back from it.
    """
    from ..client import Run

    record, engine = run_record(
        flow,
        params,
        root=root,
        executor=executor,
        max_workers=max_workers,
        echo=echo,
        run_id=run_id,
        resume=resume,
        resume_step=resume_step,
        observer=observer,
        settings=settings,
        out=out,
        schedule=schedule,
    )
    return Run(record.pathspec, root=engine.settings.root, _engine=engine)


def run_record(
    flow: Flow,
    params: Mapping[str, Any] | None = None,
    *,
    root: str | None = None,
    executor: str | None = None,
    max_workers: int | None = None,
    echo: bool = False,
    run_id: str | None = None,
    resume: str | None = None,
    resume_step: str | None = None,
    observer: RunObserver | None = None,
    settings: Settings | None = None,
    out: TextIO | None = None,
    schedule: str = "",
) -> tuple[RunRecord, Engine]:
    """``run_flow``, returning the final run record and the engine instead of a ``Run``:
    the CLI prints the results from the records, without the client (which imports the
    artifact decoders a driver otherwise never needs)."""
    if not flow.module_file or not Path(flow.module_file).is_file():
        raise FlowDefinitionError(
            f"flow {flow.name!r} is not defined in a module file",
            hint="save the flow in a .py file (or export the notebook) and run that file",
        )
    settings = settings or settings_for(root, executor, max_workers)
    engine = Engine.open(settings)
    origin = None
    if resume is not None or resume_step is not None:
        origin = _origin_run(engine, flow.name, None if resume == LATEST else resume, resume_step)
        if params:
            raise ParameterError(
                f"a resumed run keeps the parameters of {origin.pathspec}: "
                f"--param {', '.join(params)} would not be applied",
                hint="start a new run with these parameters (run --param ...), or resume "
                "without --param",
            )
        if resume_step is not None and resume_step not in flow.steps:
            raise FlowDefinitionError(
                f"--from {resume_step!r} is not a step of {flow.name}",
                hint=f"steps: {', '.join(flow.steps)}",
            )
    executor_cls = plugins.load("executor", settings.executor)
    if "remote" in executor_cls.capabilities:  # a worker forked for a local run would idle
        from .prespawn import discard

        discard()
    runner = Runner(
        flow,
        engine.store,
        executor_cls(settings, engine.store, settings.workers),
        # a local index catches up from the records when next read: no SQLite on a run
        index=None if engine.index_is_local else engine.index,
        observer=observer or (TerminalProgress(engine.store, out) if echo else None),
        retry_backoff=settings.retry_backoff,
        schedule=schedule,
    )
    record = runner.run(
        params,
        run_id=run_id or new_run_id(),
        resume=ResumeFrom(origin, resume_step) if origin else None,
    )
    return record, engine


def _origin_run(engine: Engine, flow: str, run_id: str | None, from_step: str | None) -> RunRecord:
    if run_id is None:
        latest = engine.index.query(flow, limit=1)
        if not latest:
            raise RunNotFound(f"{flow} has no run to resume", hint="start one with `run`")
        record = latest[0]
        if record.status == "done" and from_step is None:
            raise RunNotFound(
                f"the latest run {record.pathspec} finished: nothing to resume",
                hint="name a step to recompute from with --from STEP",
            )
        from ..client import run_status

        if run_status(engine.records, record) == "running":
            raise RunNotFound(
                f"the latest run {record.pathspec} is still running: nothing to resume",
                hint="wait for it, or stop it first (Ctrl-C in its terminal, Stop in Lab)",
            )
        return record
    found = engine.records.read_run(flow, run_id.split("/")[-1])
    if found is None:
        raise RunNotFound(f"run {flow}/{run_id} does not exist", hint="list runs with `runs`")
    return found
