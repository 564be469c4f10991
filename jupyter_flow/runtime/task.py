"""Run one task attempt in this process: load inputs, call the step, save outputs.

Used by local workers (many tasks per process) and by ``python -m jupyter_flow.task`` in a
container (one task per process). The task record is written last, after every blob.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ArtifactError, CorruptBlob, FlowError, StepLocation, StoreError, StoreFull
from ..flow.spec import Flow
from ..store import artifacts, open_store
from ..store.blobs import BlobStore
from ..store.records import (
    AttemptRecord,
    AttemptStatus,
    ErrorInfo,
    ErrorKind,
    Records,
    TaskRecord,
)
from ..store.serialize import safe_str
from .displays import capture_displays
from .loader import load_flow
from .logs import capture_output
from .secret_values import masked_error, refuse_leaks, reveal
from .taskspec import TaskSpec

_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


class Terminated(BaseException):
    """Raised by a container's SIGTERM handler: unwinds the task (its logs still reach the
    store) without being taken for the step's own ``sys.exit``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class TaskOutcome:
    """How an attempt ended (a plain class: a dataclass costs ~0.5 ms of a worker's start)."""

    __slots__ = ("error", "ok", "recorded")

    def __init__(self, ok: bool, error: ErrorInfo | None = None, recorded: bool = True) -> None:
        self.ok = ok
        self.error = error
        self.recorded = recorded  # False: the store refused the attempt record; send error


def user_traceback(err: BaseException) -> str:
    """The traceback from the first frame outside jupyter_flow: the user's code."""
    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        tb = tb.tb_next
    import traceback  # only for a failed step: ~1 ms of a worker's start-up otherwise

    return "".join(traceback.format_exception(type(err), err, tb))


def load_inputs(store: BlobStore, spec: TaskSpec) -> dict[str, Any]:
    """The step's arguments. Inputs saved together by one task (they shared objects there)
    are decoded together, once, so they share here too, as they did in the kernel."""
    values: dict[str, Any] = {}
    groups: artifacts.Groups = {}
    for inp in spec.inputs:
        try:
            if inp.join:
                values[inp.name] = [artifacts.load(store, a, groups) for a in inp.artifacts]
                continue
            source = inp.artifacts[0]
            if inp.item is not None and source.items is not None:
                values[inp.name] = artifacts.load_item(store, source, inp.item)
                continue
            value = artifacts.load(store, source, groups)
        except CorruptBlob as err:
            manifests = {a.items for a in inp.artifacts if a.items}
            raise _corrupt_input(store, spec, inp.name, err, manifests) from None
        if inp.item is not None:
            value = foreach_item(value, inp.item, spec)
        values[inp.name] = value
    return values


def _corrupt_input(
    store: BlobStore, spec: TaskSpec, name: str, err: CorruptBlob, manifests: set[str]
) -> CorruptBlob:
    """The error for an input whose blob is damaged, naming the task that wrote it (found
    in the run's records: only paid when this happens)."""
    made_by = "an earlier task"
    wanted = {err.key, *manifests}  # an item's blob is listed in its list's manifest
    for task in Records(store).tasks(spec.flow, spec.run_id):
        if any(wanted & {a.key, a.group, a.items} for a in task.artifacts):
            made_by = f"task {spec.flow}/{task.origin_run or spec.run_id}/{task.step}/{task.index}"
            break
    return err.about(
        f"input {name!r}, written by {made_by},",
        store=store.url,
        run_id=spec.run_id,
        location=StepLocation(spec.step, spec.index if spec.foreach_count is not None else None),
    )


def foreach_item(items: Any, index: int, spec: TaskSpec) -> Any:
    """Item ``index`` of a foreach list, as ``for item in items`` gives it in the kernel: a
    pandas Series by position, never by label (``s[0]`` would be the row labelled 0)."""
    if type(items) in (list, tuple, range) or _is_ndarray(items):
        return items[index]
    for position, item in enumerate(items):
        if position == index:
            return item
    raise FlowError(
        f"the foreach list gave fewer items than its length ({index + 1} needed)",
        location=StepLocation(spec.step, spec.index),
        hint="foreach over a list: e.g. list(...) of it in the step that writes it",
    )


def _is_ndarray(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


class PreludeFailed(FlowError):
    """The flow's ``@flow.prelude`` raised: the task fails, located at its step."""

    def __init__(self, cause: BaseException, location: StepLocation) -> None:
        self.cause = cause
        what = f"{type(cause).__name__}: {safe_str(cause)}"
        super().__init__(
            f"the flow's prelude failed: {what}",
            location=location,
            hint="the prelude runs before every task (seeds, options set outside the steps): "
            "fix it in the flow module, or in the notebook cell it comes from",
        )

    def info(self, module_path: str) -> ErrorInfo:
        """The attempt's error: located at the prelude's line (in the notebook when the
        module says where it came from), worded as every other failed step."""
        from .tracemap import exception_info

        base = exception_info(self.cause, user_traceback(self.cause), module_path)
        return replace(base, message=f"the flow's prelude failed: {base.message}")


def run_prelude(flow: Flow, location: StepLocation) -> None:
    """Call the flow's prelude, if it has one: every task starts from the state it sets.

    A reused worker runs it once per task, and the kernel ran it once: so a path it adds
    again (``sys.path.insert(0, "src")``) is not added twice. ``sys.exit()`` in it fails
    the task, not the worker."""
    prelude = flow.prelude_function
    if prelude is None:
        return
    before = list(sys.path)
    try:
        prelude()
    except (Exception, SystemExit) as err:
        raise PreludeFailed(err, location) from err
    finally:
        _drop_repeated_paths(before)


def _drop_repeated_paths(before: list[str]) -> None:
    """Remove the second occurrence of a ``sys.path`` entry that was there before."""
    if sys.path == before:
        return
    old, seen, kept = set(before), set(), []
    for entry in sys.path:
        if entry in seen and entry in old:
            continue
        seen.add(entry)
        kept.append(entry)
    sys.path[:] = kept


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
    masks: list[bytes] = []  # secret values this task read, masked in its logs and error
    with (
        capture_output(store, spec, echo=echo) as output,
        capture_displays(store, spec) as displays,
    ):
        try:
            flow = load_flow(spec.code.module_path)
            step = flow.steps.get(spec.step)
            if step is None:
                raise FlowError(
                    f"the flow module {spec.code.module_path} has no step {spec.step!r}",
                    location=loc,
                    hint="the module changed since the run started; start a new run",
                )
            run_prelude(flow, loc)
            kwargs, masks = reveal(load_inputs(store, spec), loc)
            output.mask(masks)  # before the step runs: live views read its log as it grows
            displays.mask(masks)
            result = step.func(**kwargs)
            outputs = _outputs(spec, result)
            refuse_leaks(outputs, masks, loc)
            saved = artifacts.save_outputs(
                store, outputs, task=spec.task_id, location=loc, split=spec.split
            )
        except PreludeFailed as err:
            error = err.info(spec.code.module_path)
        except FlowError as err:
            error = ErrorInfo(_kind_of(err), err.format(), type(err).__name__)
        except (Exception, SystemExit, KeyboardInterrupt) as err:
            # sys.exit() or a KeyboardInterrupt raised by the step's code end the step, not
            # the worker: located like any error (they said only "worker exited with code 3")
            from .tracemap import exception_info  # where in the notebook it failed

            error = exception_info(err, user_traceback(err), spec.code.module_path)
    finished = time.time()
    if error is not None:
        error = masked_error(error, masks)
        try:
            records.write_attempt(_finish(attempt, "failed", finished, error))
        except StoreFull:  # the store is still full: the worker's reply carries the error
            return TaskOutcome(False, error, recorded=False)
        return TaskOutcome(False, error)
    task = TaskRecord(
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
    try:
        records.write_task(task)
    except StoreFull as err:  # every output is stored, but not the record that says so
        info = ErrorInfo("infrastructure", err.format(), type(err).__name__)
        with contextlib.suppress(StoreFull):
            records.write_attempt(_finish(attempt, "failed", finished, info))
        return TaskOutcome(False, info, recorded=False)
    with contextlib.suppress(StoreFull):  # the task record, written, is what counts
        records.write_attempt(_finish(attempt, "done", finished, None))
    return TaskOutcome(True)


def _kind_of(err: FlowError) -> ErrorKind:
    if isinstance(err, ArtifactError):
        return "unpicklable"
    if isinstance(err, StoreError):  # a missing or corrupt input, an unusable store
        return "infrastructure"
    return "definition"


def _finish(
    record: AttemptRecord, status: AttemptStatus, finished: float, error: ErrorInfo | None
) -> AttemptRecord:
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
