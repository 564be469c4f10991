"""What the executors that hand tasks to a remote engine (Kubernetes, AWS Batch) share.

Attempts beyond the in-flight limit wait in a queue here; the others are handed to the
engine from a few threads, because an API round trip, not our CPU, is what submission
costs. A failed attempt is explained by the engine only when the task could not record its
own failure in the store, and the engine's log is kept in the store when the task wrote
none (a container that died before it could upload its log).
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import FlowError
from ...store.records import Records, log_path
from .base import Executor, TaskEvent

if TYPE_CHECKING:
    from ...config import Settings
    from ...store.blobs import BlobStore
    from ..taskspec import CodeRef, TaskSpec

SUBMIT_THREADS = 8
LOG_TAIL = 30


class RemoteExecutor(Executor):
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"cancel", "timeout", "logs", "gpu", "remote", "oom-report"}
    )
    transient: ClassVar[tuple[type[Exception], ...]] = ()  # the client's "try again later"

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

    def submit(self, spec: TaskSpec) -> None:
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

    def _keep_log(self, spec: TaskSpec, lines: list[str], source: str) -> str:
        """The log's tail for an error message; the whole log goes into the store if the
        task wrote none there."""
        key = log_path(spec.flow, spec.run_id, spec.step, spec.index, spec.attempt, "stderr")
        if lines and not self.store.get(key):
            with contextlib.suppress(Exception):
                self.store.put(key, ("\n".join(lines) + "\n").encode())
        tail = lines[-LOG_TAIL:]
        return f"last lines of the {source}'s log:\n" + "\n".join(tail) if tail else ""

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
