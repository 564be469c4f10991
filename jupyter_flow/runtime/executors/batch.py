"""AWS Batch executor: one ``SubmitJob`` per task attempt.

Jobs are submitted from a few threads, which report every attempt back (a job id, or why
not: one never reported would be waited for forever); job definitions are built on the
driver's thread, registered once per image + resources and reused. Status comes from
``DescribeJobs`` in batches of 100 every ``poll_interval`` seconds; a failed job is
explained from its status reasons (out of memory, timeout, image pull, lost instance) unless
the task recorded its own failure in the store. Timeouts under Batch's 60 s minimum are
enforced here with ``TerminateJob``, so every timeout behaves the same. A job DescribeJobs
stops listing (deleted, purged) fails its task after ``MISSING_GRACE`` seconds.
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ...config import section_label
from ...errors import FlowError
from ...store.records import ErrorInfo
from ..bootstrap import failure_upload_env, store_spec
from ..taskspec import TaskSpec
from .base import Requirement, TaskEvent
from .batch_client import BatchClient, TransientError
from .batch_job import BatchOptions, Where, build_definition, build_submit, check_resources
from .batch_status import ACTIVE, BatchJobView, failure
from .remote import RemoteExecutor

if TYPE_CHECKING:
    from ...flow.secret_params import Secret
    from ...store.blobs import BlobStore


MISSING_GRACE = 120.0  # seconds a tracked job may be absent from DescribeJobs


class _Unexpected(Exception):
    """What a submit thread raised that is neither ours nor botocore's."""

    def __init__(self, err: Exception, trace: str) -> None:
        super().__init__(f"{type(err).__name__}: {err}")
        self.type, self.trace = type(err).__name__, trace

    def error(self, spec: TaskSpec) -> ErrorInfo:
        return ErrorInfo(
            "infrastructure",
            f"task {spec.task_id} of step '{spec.step}' could not be submitted to AWS Batch: "
            f"{self}",
            self.type,
            self.trace,
        )


@dataclass
class _Tracked:
    spec: TaskSpec
    job_id: str
    view: BatchJobView | None = None
    running_since: float | None = None  # monotonic, when first seen RUNNING
    missing_since: float | None = None  # monotonic, when DescribeJobs first left it out


class BatchExecutor(RemoteExecutor):
    name: ClassVar[str] = "batch"
    requires: ClassVar[tuple[Requirement, ...]] = (Requirement("boto3", "aws"),)
    transient: ClassVar[tuple[type[Exception], ...]] = (TransientError,)

    def __init__(self, settings, store, max_workers):  # type: ignore[no-untyped-def]
        where = Where(section_label(settings, "batch"))
        options = BatchOptions.from_settings(settings.backend_options("batch"), os.environ, where)
        super().__init__(settings, store, max_workers, options.max_in_flight)
        self.options = options
        self._client: BatchClient | None = None
        self._tracked: dict[str, _Tracked] = {}  # job id -> attempt
        self._handing = 0  # attempts being submitted by a thread
        self._submitted: queue.SimpleQueue[tuple[TaskSpec, str | None, Exception | None]] = (
            queue.SimpleQueue()
        )
        self._definitions: dict[tuple[str, str], dict[str, Any]] = {}  # (image, resources)
        self._jobs: dict[str, str] = {}  # task id -> job id, for logs
        self._next_poll = 0.0

    def unreachable_secrets(self, secrets: Mapping[str, Secret]) -> dict[str, str]:
        """A Batch job reads a secret from the Secrets Manager ARN ``[batch] secrets`` maps
        to its variable; a value in plain ``env`` would sit in every job definition."""
        self._remember_secrets(secrets)
        why: dict[str, str] = {}
        for name, ref in secrets.items():
            if ref.env in self.options.env:
                why[name] = f"${ref.env} is in [batch] env, in plain text in every job"
            elif ref.env not in self.options.secrets:
                why[name] = f"[batch] secrets maps no Secrets Manager ARN to {ref.env}"
        return why

    @property
    def client(self) -> BatchClient:
        if self._client is None:
            self._client = BatchClient(self.options)
        return self._client

    # -- submission -----------------------------------------------------------------------
    def _in_flight(self) -> int:
        return len(self._tracked) + self._handing

    def _start(self, spec: TaskSpec) -> None:
        _ = self.client  # created here, once, not in the submit threads
        self._handing += 1
        try:
            definition = self._definition_request(spec)
        except FlowError as err:
            self._submitted.put((spec, None, err))  # stops the run, as a submit thread's
            return
        self._in_background(self._submit_job, spec, definition)

    def _definition_request(self, spec: TaskSpec) -> dict[str, Any]:
        """The definition ``spec`` runs under, built on the driver's thread, once per image
        and resources: it parses the launcher (``ast``), which CPython 3.11 cannot do in
        two threads at once (``SystemError: AST constructor recursion depth mismatch``)."""
        image = spec.image or self.options.image
        key = (image, repr(spec.resources))
        if key not in self._definitions:
            check_resources(spec.step, spec.resources, self.options)
            self._definitions[key] = build_definition(image, spec.resources, self.options)
        return self._definitions[key]

    def _submit_job(self, spec: TaskSpec, definition: dict[str, Any]) -> None:
        """In a submit thread: register the definition if new, submit, report back,
        whatever happens: an attempt that is never reported is waited for forever."""
        try:
            store_spec(self.store, spec)  # the job's overrides name it by its key
            arn = self.client.ensure_definition(definition)
            request = build_submit(spec, arn, self.options)
            job_id = self.client.submit(_signed(request, self.store, spec))
        except (TransientError, FlowError) as err:
            self._submitted.put((spec, None, err))
        except Exception as err:  # a bug here or in a library: this task fails, in words
            self._submitted.put((spec, None, _Unexpected(err, traceback.format_exc())))
        else:
            self._submitted.put((spec, job_id, None))

    def _collect(self) -> None:
        """Track the jobs the submit threads handed over (on the driver's thread). A
        FlowError (credentials, IAM, a queue that does not exist) fails every later call
        too, so it stops the run."""
        fatal: FlowError | None = None
        while True:
            try:
                spec, job_id, err = self._submitted.get_nowait()
            except queue.Empty:
                break
            self._handing -= 1
            if isinstance(err, FlowError):
                fatal = fatal or err
            elif isinstance(err, _Unexpected):
                self._ready.append(TaskEvent(spec.task_id, False, err.error(spec)))
            elif job_id is None:
                error = ErrorInfo("infrastructure", f"AWS Batch did not take the job: {err}")
                self._ready.append(TaskEvent(spec.task_id, False, error))
            else:
                self._tracked[job_id] = _Tracked(spec, job_id)
                self._jobs[spec.task_id] = job_id
        if fatal is not None:
            raise fatal

    # -- events ---------------------------------------------------------------------------
    def wait(self, timeout: float) -> list[TaskEvent]:
        end = time.monotonic() + timeout
        while True:
            self._collect()
            self._dispatch()
            events, self._ready = self._ready, []
            now = time.monotonic()
            if self._tracked and now >= self._next_poll:
                self._next_poll = now + self.options.poll_interval
                events.extend(self._poll())
            events.extend(self._expire())
            now = time.monotonic()
            if events or now >= end:
                return events
            pause = min(end, self._next_poll if self._tracked else end) - now
            time.sleep(max(0.0, min(pause, 0.05) if self._handing else pause))

    def _poll(self) -> list[TaskEvent]:
        try:
            views = self.client.describe(self._tracked)
        except TransientError:
            return []  # try again next round
        events = self._unknown({v.job_id for v in views})
        for view in views:
            tracked = self._tracked.get(view.job_id)
            if tracked is None:
                continue
            tracked.view = view
            if view.status == "RUNNING" and tracked.running_since is None:
                tracked.running_since = time.monotonic()
            elif view.status != "RUNNING":  # a host-loss retry waits again: a new clock
                tracked.running_since = None
            if view.status in ACTIVE:
                continue
            del self._tracked[view.job_id]
            if view.status == "SUCCEEDED":
                events.append(TaskEvent(tracked.spec.task_id, True))
            else:
                events.append(TaskEvent(tracked.spec.task_id, False, self._why(tracked, view)))
        return events

    def _unknown(self, described: set[str]) -> list[TaskEvent]:
        """Jobs DescribeJobs has left out for ``MISSING_GRACE`` seconds (a new job can be
        missing for a moment; a deleted or expired one forever): failed, by name, rather
        than waited for."""
        events = []
        now = time.monotonic()
        for job_id, tracked in list(self._tracked.items()):
            if job_id in described:
                tracked.missing_since = None
            elif tracked.missing_since is None:
                tracked.missing_since = now
            elif now - tracked.missing_since >= MISSING_GRACE:
                del self._tracked[job_id]
                spec = tracked.spec
                msg = (
                    f"AWS Batch no longer knows the job {job_id} of task {spec.task_id} "
                    f"(step '{spec.step}'): DescribeJobs has not listed it for "
                    f"{MISSING_GRACE:g}s, so it will never be reported; was it deleted, or "
                    "submitted to another region or account?"
                )
                events.append(TaskEvent(spec.task_id, False, ErrorInfo("infrastructure", msg)))
        return events

    def _expire(self) -> list[TaskEvent]:
        """Timeouts Batch cannot enforce (< 60 s), counted from when the job was RUNNING."""
        events = []
        now = time.monotonic()
        for job_id, tracked in list(self._tracked.items()):
            limit = tracked.spec.timeout
            if (
                limit is None
                or tracked.running_since is None
                or now - tracked.running_since < limit
            ):
                continue
            del self._tracked[job_id]
            with contextlib.suppress(FlowError, TransientError):
                self.client.terminate(job_id, f"jupyter-flow: timeout of {limit:g}s")
            msg = f"the task ran longer than its timeout of {limit:g}s"
            events.append(TaskEvent(tracked.spec.task_id, False, ErrorInfo("timeout", msg)))
        return events

    def _why(self, tracked: _Tracked, view: BatchJobView) -> ErrorInfo | None:
        spec = tracked.spec
        if self._recorded_own_failure(spec):
            return None
        error = failure(view, spec)
        if not view.log_stream:
            return error
        try:  # what the task had no time to upload (killed for memory, the host lost)
            lines = self._read_log(view)
        except (FlowError, TransientError):
            lines = []
        group = view.log_group or "/aws/batch/job"
        return self._with_engine_log(
            spec, error, lines, f"the job's CloudWatch log ({group} {view.log_stream})"
        )

    def _read_log(self, view: BatchJobView) -> list[str]:
        lines: list[str] = []
        token: str | None = None
        while True:
            new, next_token = self.client.log_lines(view.log_stream, token, view.log_group)
            lines.extend(new)
            if not new or next_token == token:
                return lines
            token = next_token

    # -- cancel, logs, close ------------------------------------------------------------
    def cancel(self, task_ids: Iterable[str] | None = None) -> None:
        wanted = None if task_ids is None else set(task_ids)
        self._settle()
        with contextlib.suppress(FlowError):
            self._collect()
        self._drop_waiting(wanted)
        for job_id, tracked in list(self._tracked.items()):
            if wanted is None or tracked.spec.task_id in wanted:
                del self._tracked[job_id]
                with contextlib.suppress(TransientError):
                    self.client.terminate(job_id, "jupyter-flow: cancelled")

    def logs(self, task_id: str, follow: bool = False) -> Iterator[str]:
        """The attempt's CloudWatch log: as it is now, or followed until the job ends."""
        job_id = self._jobs.get(task_id)
        if job_id is None:
            return
        token: str | None = None
        while True:
            views = self.client.describe([job_id])
            view = views[0] if views else None
            if view is not None and view.log_stream:
                lines, token = self.client.log_lines(view.log_stream, token, view.log_group)
                yield from lines
            if not follow or view is None or view.status not in ACTIVE:
                if view is not None and view.log_stream:
                    lines, token = self.client.log_lines(view.log_stream, token, view.log_group)
                    yield from lines
                return
            time.sleep(min(self.options.poll_interval, 1.0))

    def _release(self) -> None:
        if self._client is not None:
            self._client.close()


def _signed(request: dict[str, Any], store: BlobStore, spec: TaskSpec) -> dict[str, Any]:
    """The SubmitJob request with a presigned PUT of its attempt's record in the task's
    environment, so a job that cannot get boto3 still records why it did not start (signed
    here, at submit: ``build_submit`` stays pure)."""
    extra = [{"name": k, "value": v} for k, v in failure_upload_env(store, spec).items()]
    if extra:
        overrides = request["containerOverrides"]
        overrides["environment"] = [*overrides.get("environment", []), *extra]
    return request
