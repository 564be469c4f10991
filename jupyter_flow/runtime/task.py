"""Run one task attempt in this process: load inputs, call the step, save outputs.

Used by local workers (many tasks per process) and by ``python -m jupyter_flow.task`` in a
container (one task per process). The task record is written last, after every blob.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ArtifactError, FlowError, StepLocation
from ..store import artifacts, open_store
from ..store.blobs import BlobStore
from ..store.records import AttemptRecord, ErrorInfo, Records, TaskRecord
from .displays import capture_displays
from .loader import load_flow
from .logs import capture_output
from .taskspec import TaskSpec

_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


@dataclass(frozen=True)
class TaskOutcome:
    ok: bool
    error: ErrorInfo | None = None


def user_traceback(err: BaseException) -> str:
    """The traceback from the first frame outside jupyter_flow: the user's code."""
    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(err), err, tb))


def load_inputs(store: BlobStore, spec: TaskSpec) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for inp in spec.inputs:
        if inp.join:
            values[inp.name] = [artifacts.load(store, a) for a in inp.artifacts]
            continue
        value = artifacts.load(store, inp.artifacts[0])
        if inp.item is not None:
            value = list(value)[inp.item] if not hasattr(value, "__getitem__") else value[inp.item]
        values[inp.name] = value
    return values


def _outputs(spec: TaskSpec, result: Any) -> dict[str, Any]:
    loc = StepLocation(spec.step, spec.index if spec.foreach_count is not None else None)
    names = spec.outputs
    if not names:
        if result is not None:
            raise ArtifactError(
                f"the step returned a {type(result).__name__} but declares no outputs",
                location=loc,
                hint="name what it returns with outputs=(...), or return nothing",
            )
        return {}
    if len(names) == 1:
        return {names[0]: result}
    if not isinstance(result, tuple) or len(result) != len(names):
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        raise ArtifactError(
            f"the step declares outputs {names} but returned {got}",
            location=loc,
            hint=f"return {', '.join(names)} in that order",
        )
    return dict(zip(names, result, strict=True))


def run_task(spec: TaskSpec, store: BlobStore | None = None, *, echo: bool = False) -> TaskOutcome:
    """Run the attempt; never raises for the user's errors (they go in the attempt record).
    ``echo`` also copies the task's output to this process's stdout/stderr (containers)."""
    store = store or open_store(spec.store_url)
    records = Records(store)
    started = time.time()
    attempt = AttemptRecord(
        flow=spec.flow,
        run_id=spec.run_id,
        step=spec.step,
        index=spec.index,
        attempt=spec.attempt,
        status="running",
        started=started,
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    records.write_attempt(attempt)
    loc = StepLocation(spec.step, spec.index if spec.foreach_count is not None else None)
    error: ErrorInfo | None = None
    with capture_output(store, spec, echo=echo), capture_displays(store, spec):
        try:
            flow = load_flow(spec.code.module_path)
            step = flow.steps.get(spec.step)
            if step is None:
                raise FlowError(
                    f"the flow module {spec.code.module_path} has no step {spec.step!r}",
                    location=loc,
                    hint="the module changed since the run started; start a new run",
                )
            kwargs = load_inputs(store, spec)
            result = step.func(**kwargs)
            saved = tuple(
                artifacts.save(store, name, value, location=loc)
                for name, value in _outputs(spec, result).items()
            )
        except FlowError as err:
            error = ErrorInfo(
                "unpicklable" if isinstance(err, ArtifactError) else "definition",
                err.format(),
                type(err).__name__,
            )
        except Exception as err:
            error = ErrorInfo(
                "exception", f"{type(err).__name__}: {err}", type(err).__name__, user_traceback(err)
            )
    finished = time.time()
    if error is not None:
        records.write_attempt(_finish(attempt, "failed", finished, error))
        return TaskOutcome(False, error)
    records.write_task(
        TaskRecord(
            flow=spec.flow,
            run_id=spec.run_id,
            step=spec.step,
            index=spec.index,
            status="done",
            attempt=spec.attempt,
            started=started,
            finished=finished,
            artifacts=saved,
        )
    )
    records.write_attempt(_finish(attempt, "done", finished, None))
    return TaskOutcome(True)


def _finish(
    record: AttemptRecord, status: str, finished: float, error: ErrorInfo | None
) -> AttemptRecord:
    from dataclasses import replace

    return replace(record, status=status, finished=finished, error=error)


def record_caught(store: BlobStore, spec: TaskSpec, error: ErrorInfo) -> TaskRecord:
    """The last try of a ``catch=True`` step failed: every output is None, the error kept,
    and the task counts as finished so the flow goes on."""
    now = time.time()
    saved = tuple(artifacts.save(store, name, None) for name in spec.outputs)
    task = TaskRecord(
        spec.flow,
        spec.run_id,
        spec.step,
        spec.index,
        "caught",
        spec.attempt,
        now,
        now,
        saved,
        error,
    )
    Records(store).write_task(task)
    return task
