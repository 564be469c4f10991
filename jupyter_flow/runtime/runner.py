"""The driver: turns a flow's DAG into task attempts on an executor, and records the run.

It owns retries (with backoff), ``catch``, resume (reusing finished tasks of an earlier
run) and cancellation (Ctrl-C, or ``cancel RUN`` through the store). It never runs user
code itself, so a crashing step cannot take the run's bookkeeping down with it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import FlowError, ParameterError, RunCancelled, RunFailed, StoreFull
from ..flow.dag import PARAMS, Dag
from ..flow.secret_params import WHERE_FROM
from ..flow.spec import Flow, StepSpec
from ..store.records import (
    ErrorInfo,
    Records,
    RunRecord,
    RunStatus,
    StepInfo,
    TaskRecord,
)
from .cancel_request import CancelWatch
from .executors.base import Executor, TaskEvent
from .inputs import foreach_count, split_outputs, step_inputs, task_inputs
from .observer import RunObserver
from .taskspec import CodeRef, TaskSpec

if TYPE_CHECKING:
    from ..store.blobs import BlobStore
    from ..store.index import RunIndex

HEARTBEAT_EVERY = 5.0
MAX_BACKOFF = 60.0


class ResumeFrom:
    """The run a resume reuses tasks of (a plain class: a dataclass costs ~0.5 ms of start-up)."""

    __slots__ = ("run", "step")

    def __init__(self, run: RunRecord, step: str | None = None) -> None:
        self.run = run
        self.step = step  # recompute this step and everything downstream of it


class Runner:
    def __init__(
        self,
        flow: Flow,
        store: BlobStore,
        executor: Executor,
        *,
        index: RunIndex | None = None,
        observer: RunObserver | None = None,
        retry_backoff: float = 1.0,
        schedule: str = "",
    ) -> None:
        self.flow = flow
        self.schedule = schedule
        self.dag: Dag = flow.dag()
        self.store = store
        self.records = Records(store)
        self.executor = executor
        self.index = index
        self.observer = observer or RunObserver()
        self.retry_backoff = retry_backoff
        self._host = socket.gethostname()
        self._failed_label: str | None = None
        self._cancel = CancelWatch(store)  # ``cancel RUN``, whatever view this run has

    # -- public ---------------------------------------------------------------------------
    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        run_id: str,
        resume: ResumeFrom | None = None,
    ) -> RunRecord:
        record = self._start(run_id, params, resume)
        self._cancel.started(record.flow, record.run_id)
        self.observer.run_started(record, self.dag)
        try:
            record = self._drive(record, resume)
        except KeyboardInterrupt:
            self.executor.cancel()
            record = self._finish(record, "cancelled")
            raise RunCancelled(
                f"run {record.pathspec} was cancelled; finished tasks are kept",
                hint=f"continue it with: resume {record.run_id}",
            ) from None
        except FlowError as err:
            # the engine could not go on (RBAC, credentials, a bad foreach list, a full
            # store): the run is failed, not left "running" to be found "lost" later
            self.executor.cancel()
            self._finish_or_report(record, err)
            raise
        finally:
            self.executor.close()
        if record.status == "failed" and record.error is not None:
            from .tracemap import headline

            where = self._failed_label or record.failed_step or "?"
            error = record.error
            raise RunFailed(
                headline(where, error.message, error.where),
                detail=error.traceback.rstrip(),
                hint=("" if error.kind == "infrastructure" else "fix the step, then ")
                + f"continue run {record.pathspec} with: resume {record.run_id}",
            )
        return record

    # -- start / finish -------------------------------------------------------------------
    def _start(
        self, run_id: str, params: Mapping[str, Any] | None, resume: ResumeFrom | None
    ) -> RunRecord:
        steps = tuple(
            StepInfo(
                name=name,
                upstream=self.dag.upstream[name],
                foreach=str(self.flow.steps[name].foreach)
                if self.flow.steps[name].foreach
                else None,
                outputs=self.flow.steps[name].outputs,
                inputs=self.flow.steps[name].reads,
            )
            for name in self.dag.order
        )
        values = self.flow.resolve_parameters(params) if resume is None else {}
        self._check_secrets()
        record = RunRecord(
            flow=self.flow.name,
            run_id=run_id,
            status="running",
            created=time.time(),
            steps=steps,
            module_path=self.flow.module_file or "",
            executor=self.executor.name,
            origin_run=resume.run.run_id if resume else None,
            resume_from=resume.step if resume else None,
            host=self._host,
            pid=os.getpid(),
            final=dict(self.dag.final),
            schedule=self.schedule,
        )
        if self.records.read_run(record.flow, run_id) is not None:
            raise RunFailed(f"run id {run_id!r} already exists", hint="let jupyter_flow pick one")
        if resume is not None:
            origin = self.records.read_task(self.flow.name, resume.run.run_id, PARAMS, 0)
            params_task = (
                replace(origin, run_id=run_id) if origin else self._params_task(run_id, {})
            )
            record = replace(record, params=resume.run.params)
        else:
            params_task = self._params_task(run_id, values)
            record = replace(record, params={a.name: a.summary for a in params_task.artifacts})
        self.records.write_run(record)
        try:
            self.records.write_task(params_task)
            self.records.heartbeat(record.flow, run_id, self._host, os.getpid())
            self._index(record)
        except StoreFull as err:  # the run record exists: end it failed, not lost
            self.executor.close()
            self._finish_or_report(record, err)
            raise
        return record

    def _check_secrets(self) -> None:
        """Refuse, before anything is recorded, a run whose tasks could not read a secret
        parameter here (a run that would fail at its first step, or store a secret plain)."""
        secrets = {p.name: p.secret for p in self.flow.parameters.values() if p.secret}
        why = self.executor.unreachable_secrets(secrets) if secrets else {}
        if why:
            lines = "; ".join(f"{name!r}: {reason}" for name, reason in why.items())
            raise ParameterError(
                f"secret parameters of {self.flow.name} cannot reach its tasks on "
                f"{self.executor.name}: {lines}",
                hint=WHERE_FROM,
            )

    def _params_task(self, run_id: str, values: Mapping[str, Any]) -> TaskRecord:
        now = time.time()
        saved: tuple[Any, ...] = ()
        if values:
            from ..store import artifacts

            saved = tuple(artifacts.save(self.store, k, v) for k, v in values.items())
        return TaskRecord(self.flow.name, run_id, PARAMS, 0, "done", 1, now, now, saved)

    def _finish_or_report(self, record: RunRecord, err: FlowError) -> None:
        """End the run ``failed`` for ``err``; if even that write fails (the store is full
        or read-only), the caller's error already names the store and is what the user sees."""
        for _ in range(2):
            try:
                self._finish(record, "failed", error=ErrorInfo("infrastructure", err.format()))
                return
            except StoreFull:
                # The heartbeat is of no use to an ended run: removing it frees the room
                # the final record needs on a disk that filled up during the run.
                self.records.drop_heartbeat(record.flow, record.run_id)

    def _finish(self, record: RunRecord, status: RunStatus, **changes: Any) -> RunRecord:
        record = self.records.set_run_status(record, status, **changes)
        self._index(record)
        self.observer.run_finished(record)
        return record

    def _index(self, record: RunRecord) -> None:
        if self.index is not None:
            self.index.upsert(record)

    # -- the loop -------------------------------------------------------------------------
    def _drive(self, record: RunRecord, resume: ResumeFrom | None) -> RunRecord:
        state = _State(self.dag)
        params_task = self.records.read_task(record.flow, record.run_id, PARAMS, 0)
        assert params_task is not None  # written by _start
        state.done[PARAMS] = {0: params_task}
        state.expected[PARAMS] = 1
        recompute = self.dag.downstream_of(resume.step) if resume and resume.step else set()
        code = self.executor.prepare(
            CodeRef(self.flow.module_file or "", _module_name(self.flow.module_file))
        )
        last_beat = time.monotonic()
        while not state.finished():
            for name in state.ready_steps():
                specs = self._expand(record, self.flow.steps[name], state, code, resume, recompute)
                for spec in specs:
                    self._submit(state, spec)
            for spec in state.due_retries():
                self._submit(state, spec)
            if state.finished():
                break
            for event in self.executor.wait(state.wait_time()):
                failed = self._on_event(record, state, event)
                if failed is not None:
                    self.executor.cancel()
                    return self._fail(record, *failed)
            self.observer.poll()
            self._cancel.check()  # raises KeyboardInterrupt when asked: run() cancels
            if time.monotonic() - last_beat > HEARTBEAT_EVERY:
                self._beat(record)
                last_beat = time.monotonic()
        return self._finish(record, "done")

    def _beat(self, record: RunRecord) -> None:
        """A heartbeat that cannot be written (a full disk) does not stop the run: this
        driver is alive and says so in the final record; the tasks' own writes fail the
        run with the store's error if the disk stays full."""
        try:
            self.records.heartbeat(record.flow, record.run_id, self._host, os.getpid())
        except StoreFull:
            pass

    def _submit(self, state: _State, spec: TaskSpec) -> None:
        state.inflight[spec.task_id] = spec
        self.executor.submit(spec)
        self.observer.task_started(spec)

    def _expand(
        self,
        record: RunRecord,
        step: StepSpec,
        state: _State,
        code: CodeRef,
        resume: ResumeFrom | None,
        recompute: set[str],
    ) -> list[TaskSpec]:
        inputs = step_inputs(self.flow, self.dag, step, state.done)
        count: int | None = None
        if step.foreach:
            count = foreach_count(step, inputs[step.foreach.items])
        state.expected[step.name] = 1 if count is None else count
        state.done.setdefault(step.name, {})
        clonable = (
            resume is not None
            and step.name not in recompute
            and all(up in state.cloned for up in self.dag.upstream[step.name])
        )
        origins = self._reusable(record.flow, resume, step.name, state) if clonable else {}
        specs = []
        for index in range(state.expected[step.name]):
            if clonable and resume is not None:
                origin = origins.get(index)
                if origin is not None:
                    clone = replace(
                        origin,
                        run_id=record.run_id,
                        origin_run=origin.origin_run or resume.run.run_id,
                    )
                    self.records.write_task(clone)
                    state.done[step.name][index] = clone
                    continue
            specs.append(
                TaskSpec(
                    flow=record.flow,
                    run_id=record.run_id,
                    step=step.name,
                    index=index,
                    attempt=1,
                    store_url=self.store.url,
                    code=code,
                    inputs=task_inputs(step, inputs, index),
                    outputs=step.outputs,
                    split=split_outputs(self.flow, self.dag, step),
                    resources=step.resources,
                    timeout=step.timeout,
                    image=step.image,
                    packages=step.packages,
                    foreach_count=count,
                )
            )
        if clonable and not specs:
            state.cloned.add(step.name)
        self.observer.step_expanded(step.name, state.expected[step.name], len(specs))
        return specs

    def _reusable(
        self, flow: str, resume: ResumeFrom | None, step: str, state: _State
    ) -> dict[int, TaskRecord]:
        """The finished tasks of the origin run that resume may reuse for ``step``: those
        whose every blob is still in the store (one set aside as corrupt is recomputed)."""
        if resume is None:
            return {}
        from ..store import artifacts

        origins = {}
        for index in range(state.expected[step]):
            origin = self.records.read_task(flow, resume.run.run_id, step, index)
            if origin is not None:
                origins[index] = origin
        needs = {
            index: {k for a in task.artifacts for k in artifacts.blob_keys(self.store, a)}
            for index, task in origins.items()
        }
        keys = set().union(*needs.values())
        missing = self.store.missing_blobs(keys) if keys else set()
        return {index: task for index, task in origins.items() if not needs[index] & missing}

    # -- events ---------------------------------------------------------------------------
    def _on_event(
        self, record: RunRecord, state: _State, event: TaskEvent
    ) -> tuple[str, ErrorInfo] | None:
        spec = state.inflight.pop(event.task_id, None)
        if spec is None:
            return None
        if event.ok:
            task = self.records.read_task(spec.flow, spec.run_id, spec.step, spec.index)
            if task is not None:
                state.done[spec.step][spec.index] = task
                self.observer.task_finished(spec, task, None, retrying=False)
                return None
            error = ErrorInfo("infrastructure", "the task ended without writing its record")
        else:
            attempt = self.records.read_attempt(
                spec.flow, spec.run_id, spec.step, spec.index, spec.attempt
            )
            error = (
                event.error
                or (attempt.error if attempt else None)
                or ErrorInfo("infrastructure", "the task failed without a record of why")
            )
            # a remote worker of an older version did not say where in the notebook
            from .tracemap import locate_error

            error = locate_error(error, self.flow.module_file or "")
            if event.error is not None and attempt is not None:
                self.records.write_attempt(
                    replace(attempt, status="failed", finished=time.time(), error=event.error)
                )
        step = self.flow.steps[spec.step]
        if spec.attempt <= step.retries:
            delay = min(MAX_BACKOFF, self.retry_backoff * 2 ** (spec.attempt - 1))
            state.retry(replace(spec, attempt=spec.attempt + 1), delay)
            self.observer.task_finished(spec, None, error, retrying=True)
            return None
        if step.catch:
            from .task import record_caught

            task = record_caught(self.store, spec, error)
            state.done[spec.step][spec.index] = task
            self.observer.task_finished(spec, task, error, retrying=False)
            return None
        self.observer.task_finished(spec, None, error, retrying=False)
        return spec.step if spec.foreach_count is None else spec.label, error

    def _fail(self, record: RunRecord, where: str, error: ErrorInfo) -> RunRecord:
        self._failed_label = where
        step = where.split("[", maxsplit=1)[0]
        return self._finish(record, "failed", error=error, failed_step=step)


def _module_name(path: str | None) -> str:
    from .loader import module_name_for

    return module_name_for(path) if path else ""


class _State:
    """Bookkeeping of one drive loop: which tasks are done, in flight, waiting to retry."""

    def __init__(self, dag: Dag) -> None:
        self.dag = dag
        self.done: dict[str, dict[int, TaskRecord]] = {}
        self.expected: dict[str, int] = {}
        self.inflight: dict[str, TaskSpec] = {}
        self.retries: list[tuple[float, TaskSpec]] = []
        self.cloned: set[str] = {PARAMS}

    def complete(self, step: str) -> bool:
        return step in self.expected and len(self.done.get(step, {})) >= self.expected[step]

    def ready_steps(self) -> list[str]:
        return [
            s
            for s in self.dag.order
            if s not in self.expected and all(self.complete(u) for u in self.dag.upstream[s])
        ]

    def finished(self) -> bool:
        return all(self.complete(s) for s in self.dag.order)

    def retry(self, spec: TaskSpec, delay: float) -> None:
        self.retries.append((time.monotonic() + delay, spec))

    def due_retries(self) -> list[TaskSpec]:
        now = time.monotonic()
        due = [spec for at, spec in self.retries if at <= now]
        self.retries = [(at, spec) for at, spec in self.retries if at > now]
        return due

    def wait_time(self) -> float:
        wait = 0.5
        if self.retries:
            wait = min(wait, max(0.0, min(at for at, _ in self.retries) - time.monotonic()))
        return wait
