"""The executor seam: the driver submits task attempts and waits for them to finish.

An executor knows nothing about notebooks or DAGs: it runs ``TaskSpec``s somewhere (local
worker processes, Kubernetes Jobs, AWS Batch jobs) and reports when each attempt ended.
What a task produced (artifacts, the user's traceback) is read from the store, so every
executor reports the same things the same way.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ...errors import FlowError

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


# What an executor may declare in ``capabilities``, and what each means to a user (the
# Lab Run dialog shows these words; a flow needing one a backend lacks is told so).
CAPABILITIES: dict[str, str] = {
    "cancel": "a run can be stopped",
    "timeout": "a step's timeout is enforced",
    "logs": "live logs while a step runs",
    "gpu": "a step's gpu= is given a GPU",
    "remote": "steps run away from this machine (the code is packaged)",
    "oom-report": "a step killed for memory says so",
    "secret-env": "tasks inherit the environment of the process that starts the run, so a "
    "secret given when the run starts reaches them",
}


@dataclass(frozen=True)
class Requirement:
    """A package a backend needs here: its import name and the extra of ``distribution``
    that installs it (a backend from another package names its own distribution)."""

    module: str
    extra: str
    distribution: str = "jupyter-flow"

    def missing(self) -> str | None:
        """Why it is not usable, or None. ``find_spec``, not an import: the answer is cheap
        (importing the Kubernetes SDK costs the server a second and 60 MB)."""
        try:
            found = importlib.util.find_spec(self.module)
        except (ImportError, ValueError):
            found = None
        if found is not None:
            return None
        return f"the {self.module!r} package is not installed here"

    @property
    def hint(self) -> str:
        return f"pip install '{self.distribution}[{self.extra}]'"


@dataclass(frozen=True)
class BackendInfo:
    """What a UI shows about a backend before offering it: usable here or why not."""

    name: str
    usable: bool
    reason: str | None
    hint: str | None
    capabilities: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "usable": self.usable,
            "reason": self.reason,
            "hint": self.hint,
            "capabilities": list(self.capabilities),
        }


class Executor(ABC):
    """Run task attempts. Capabilities (names in ``CAPABILITIES``) and requirements tell
    the UI and the pre-flight what works here, without starting anything."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset()
    requires: ClassVar[tuple[Requirement, ...]] = ()  # optional SDKs this backend imports

    @classmethod
    def describe(cls, name: str | None = None) -> BackendInfo:
        """Usable here (every requirement importable) or the first reason it is not."""
        for req in cls.requires:
            why = req.missing()
            if why is not None:
                return BackendInfo(
                    name or cls.name, False, why, req.hint, tuple(sorted(cls.capabilities))
                )
        return BackendInfo(name or cls.name, True, None, None, tuple(sorted(cls.capabilities)))

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


def describe_backend(name: str) -> BackendInfo:
    """The executor registered as ``name``, described without starting anything: usable
    here, or why not and what to install. One whose class cannot even be loaded (a missing
    SDK imported at module level, another package's broken entry) is described by that."""
    from ... import plugins

    try:
        cls = plugins.load("executor", name)
        describe = getattr(cls, "describe", None)
        if describe is None:  # not an Executor subclass: nothing says it cannot run
            caps = tuple(sorted(getattr(cls, "capabilities", ())))
            return BackendInfo(name, True, None, None, caps)
        info: BackendInfo = describe(name)
        return info
    except (ImportError, AttributeError, FlowError) as err:
        if isinstance(err, FlowError):
            return BackendInfo(name, False, err.headline, err.hint, ())
        why = f"it cannot be loaded: {type(err).__name__}: {err}"
        return BackendInfo(name, False, why, "reinstall the package it comes from", ())
