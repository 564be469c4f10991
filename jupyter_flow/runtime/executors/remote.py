"""What the executors that hand tasks to a remote engine (Kubernetes, AWS Batch) share.

Attempts beyond the in-flight limit wait in a queue here; the others are handed to the
engine from a few threads, because an API round trip, not our CPU, is what submission
costs. A failed attempt is explained by the engine only when the task could not record its
own failure in the store; then what the engine's log has after the task's last upload
(a container killed by SIGKILL, OOM, a lost host) is added to the task's log in the store.
"""

from __future__ import annotations

import contextlib
import os
from abc import abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import FlowError
from ...flow.secret_params import mask_text, masked_values
from ...store.records import ErrorInfo, Records, log_path
from ..environments import Environments, Target
from ..log_merge import Tail, merged, missing_tail
from .base import Executor, TaskEvent

if TYPE_CHECKING:
    from ...config import Settings
    from ...flow.secret_params import Secret
    from ...store.blobs import BlobStore
    from ..taskspec import CodeRef, TaskSpec

SUBMIT_THREADS = 8
LOG_TAIL = 30


class RemoteExecutor(Executor):
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"cancel", "timeout", "logs", "gpu", "remote", "oom-report"}
    )
    transient: ClassVar[tuple[type[Exception], ...]] = ()  # the client's "try again later"
    options: Any  # the backend's frozen options: image, architecture, python_version, ...

    def __init__(
        self, settings: Settings, store: BlobStore, max_workers: int, max_in_flight: int
    ) -> None:
        super().__init__(settings, store, max_workers)
        self._limit = settings.max_workers if settings.max_workers > 0 else max_in_flight
        self._records = Records(store)
        self._queue: deque[TaskSpec] = deque()
        self._ready: list[TaskEvent] = []
        self._pool: ThreadPoolExecutor | None = None
        self._submitting: list[Future[None]] = []  # touched by the driver's thread only
        self._masks: tuple[bytes, ...] = ()  # secret values this process can read
        self._environments: Environments | None = None

    @property
    def capacity(self) -> int:
        return self._limit

    def prepare(self, code: CodeRef) -> CodeRef:
        from ..package import code_for_store

        return code_for_store(self.store, code)

    # -- submission -----------------------------------------------------------------------
    @abstractmethod
    def _in_flight(self) -> int:
        """Attempts handed to the engine (or being handed) and not yet reported."""

    @abstractmethod
    def _start(self, spec: TaskSpec) -> None:
        """Track ``spec`` and hand it to the engine, through ``_in_background``."""

    def package_target(self, spec: TaskSpec) -> Target:
        """Where ``spec``'s container runs, for resolving its packages."""
        options = self.options
        return Target.of_image(
            spec.image or options.image, options.architecture, options.python_version
        )

    def submit(self, spec: TaskSpec) -> None:
        if spec.packages and spec.environment is None:  # resolved once per set and target
            if self._environments is None:
                self._environments = Environments(self.store)
            found = self._environments.get(spec.step, spec.packages, self.package_target(spec))
            spec = replace(spec, environment=found.blob)
        self._queue.append(spec)
        self._dispatch()

    def _dispatch(self) -> None:
        while self._queue and self._in_flight() < self._limit:
            self._start(self._queue.popleft())

    def _in_background(self, call: Callable[..., None], *args: Any) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                SUBMIT_THREADS, thread_name_prefix="jupyter-flow-submit"
            )
        self._submitting = [f for f in self._submitting if not f.done()]
        self._submitting.append(self._pool.submit(call, *args))

    def _settle(self) -> None:
        """Wait for submissions under way: one created after its cancel would be orphaned."""
        futures_wait(self._submitting)
        self._submitting = []

    def _drop_waiting(self, wanted: set[str] | None) -> None:
        """Forget queued attempts and unreported events of ``wanted`` tasks (all if None)."""
        self._queue = deque(
            s for s in self._queue if wanted is not None and s.task_id not in wanted
        )
        self._ready = [e for e in self._ready if wanted is not None and e.task_id not in wanted]

    # -- failures -------------------------------------------------------------------------
    def _recorded_own_failure(self, spec: TaskSpec) -> bool:
        """The task recorded why it failed (the user's exception): the runner reads that."""
        attempt = self._records.read_attempt(
            spec.flow, spec.run_id, spec.step, spec.index, spec.attempt
        )
        return attempt is not None and attempt.status == "failed" and attempt.error is not None

    def _remember_secrets(self, secrets: Mapping[str, Secret]) -> None:
        """The run's secret parameters: the values this process can read itself are masked
        in what is copied from the engine's log (which the task masks too, ``log_merge``)."""
        values = (os.environ.get(ref.env) for ref in secrets.values())
        self._masks = tuple(sorted({*self._masks, *masked_values(values)}, key=len, reverse=True))

    def _with_engine_log(
        self, spec: TaskSpec, error: ErrorInfo, lines: list[str], source: str
    ) -> ErrorInfo:
        """``error`` told with the engine's log: what the task's log in the store lacks (the
        last seconds of a killed task) is added there, the error says so, and its traceback
        ends with the log's last lines."""
        note, shown = self._merge_log(spec, lines, source)
        message = f"{error.message}. {note}" if note else error.message
        log = f"last lines of {source}:\n" + "\n".join(shown[-LOG_TAIL:]) if shown else ""
        return replace(error, message=message, traceback=f"{message}\n{log}" if log else "")

    def _merge_log(self, spec: TaskSpec, lines: list[str], source: str) -> tuple[str, list[str]]:
        """Append to the attempt's stdout in the store what the engine's log has after
        everything the task uploaded; the sentence that says so ("" when nothing was
        missing) and the engine's lines as the store has them (masked)."""
        where = (spec.flow, spec.run_id, spec.step, spec.index, spec.attempt)
        keys = {s: log_path(*where, s) for s in ("stdout", "stderr")}
        try:
            stored = {s: _text(self.store.get(k)) for s, k in keys.items()}
        except Exception:  # the store is unreachable: the error still shows the lines
            stored = {}
        tail = missing_tail(lines, stored)
        shown = [mask_text(line, self._masks) for line in tail.shown]
        if not tail or not stored:
            return "", shown
        tail = Tail(
            tuple(mask_text(line, self._masks) for line in tail.lines),
            mask_text(tail.rest, self._masks),
            tail.rest_stream,
        )
        try:
            for stream, text in merged(stored, tail).items():
                self.store.put(keys[stream], text.encode(errors="surrogateescape"))
        except Exception as err:  # the lines still reach the error
            return f"its last output is not in the store ({err}); see the lines below", shown
        lines_word = "line" if tail.count == 1 else "lines"
        return (
            f"Its last {tail.count} {lines_word} of output, which the task ended before it "
            f"could upload, were copied from {source} into its stdout log in the store "
            "(stdout and stderr mixed, as the engine keeps them)"
        ), shown

    # -- close ----------------------------------------------------------------------------
    @abstractmethod
    def cancel(self, task_ids: Iterable[str] | None = None) -> None: ...

    def _release(self) -> None:
        """Stop watchers and close clients (after submissions have settled)."""

    def close(self) -> None:
        if self._in_flight() or self._queue:
            with contextlib.suppress(FlowError, *self.transient):
                self.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._release()


def _text(data: bytes | None) -> str:
    return (data or b"").decode(errors="surrogateescape")
