"""The executor seam: the driver submits task attempts and waits for them to finish.

An executor knows nothing about notebooks or DAGs: it runs ``TaskSpec``s somewhere (local
worker processes, Kubernetes Jobs, AWS Batch jobs) and reports when each attempt ended.
What a task produced (artifacts, the user's traceback) is read from the store, so every
executor reports the same things the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ...config import Settings
    from ...flow.secret_params import Secret
    from ...store.blobs import BlobStore
    from ...store.records import ErrorInfo
    from ..taskspec import CodeRef, TaskSpec


@dataclass(frozen=True)
class TaskEvent:
    """An attempt ended. ``error`` is set for failures the task could not record itself
    (worker died, timeout, pod evicted); the user's own exceptions are in the store."""

    task_id: str
    ok: bool
    error: ErrorInfo | None = None


class Executor(ABC):
    """Run task attempts. Capabilities tell the UI and the pre-flight what works here."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings: Settings, store: BlobStore, max_workers: int) -> None:
        self.settings = settings
        self.store = store
        self.max_workers = max(1, max_workers)

    def prepare(self, code: CodeRef) -> CodeRef:
        """Make the flow's code reachable by tasks (remote executors upload a package)."""
        return code

    def unreachable_secrets(self, secrets: Mapping[str, Secret]) -> dict[str, str]:
        """Secret parameters (name -> why) a task here could not read, checked before a run
        starts; empty when each is reachable or only the task itself can tell."""
        return {}

    @property
    def capacity(self) -> int:
        """How many attempts may be in flight at once."""
        return self.max_workers

    @abstractmethod
    def submit(self, spec: TaskSpec) -> None:
        """Start an attempt (may queue); must not block on the task itself."""

    @abstractmethod
    def wait(self, timeout: float) -> list[TaskEvent]:
        """Attempts that ended since the last call, waiting up to ``timeout`` seconds for one."""

    @abstractmethod
    def cancel(self, task_ids: Iterable[str] | None = None) -> None:
        """Stop the given attempts (all when None); they are not reported afterwards."""

    def logs(self, task_id: str, follow: bool = False) -> Iterator[str]:
        """Live log lines straight from the engine (pod logs, CloudWatch), where it has them;
        the store's copy (uploaded by the task) is the fallback everyone can read."""
        return iter(())

    def close(self) -> None:
        """Release workers and clients; called once, also after errors."""
