"""The schedule as stored and handed to targets: frozen, JSON-able, self-contained.

A schedule carries the shape of its flow (steps, fan-outs, retries, resources) taken when it
was created, so every target's ``render`` is a pure function of the schedule alone and the
pinned code never has to be imported again to re-render, pause or delete it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..flow.spec import Flow

CONCURRENCY = ("forbid", "allow", "replace")
PARAMS_STEP = "_parameters"  # the pseudo-step that provides flow parameters (flow.dag.PARAMS)


@dataclass(frozen=True)
class StepShape:
    """What a target needs to know about one step."""

    name: str
    upstream: tuple[str, ...] = ()
    foreach_items: str | None = None  # the list the step fans out over
    foreach_source: str | None = None  # step that writes that list, or PARAMS_STEP
    retries: int = 0
    timeout: float | None = None
    cpu: float = 1.0
    memory_mb: int = 4096
    gpu: int = 0
    image: str | None = None


@dataclass(frozen=True)
class FlowShape:
    """The flow a schedule runs, pinned: its module inside the code package and the package."""

    name: str
    source_path: str  # the module file the schedule was created from
    module_name: str
    package_key: str  # content hash of the pinned code
    steps: tuple[StepShape, ...] = ()
    parameters: tuple[str, ...] = ()

    @property
    def module_file(self) -> str:
        """The module's file name inside the code package."""
        return Path(self.source_path).name

    @classmethod
    def of(cls, flow: Flow, source_path: str, package_key: str) -> FlowShape:
        from ..runtime.loader import module_name_for

        dag = flow.dag()
        steps = []
        for name in dag.order:
            spec = flow.steps[name]
            items = spec.foreach.items if spec.foreach else None
            steps.append(
                StepShape(
                    name=name,
                    upstream=tuple(dag.upstream[name]),
                    foreach_items=items,
                    foreach_source=dag.sources[name].get(items) if items else None,
                    retries=spec.retries,
                    timeout=spec.timeout,
                    cpu=spec.resources.cpu,
                    memory_mb=spec.resources.memory_mb,
                    gpu=spec.resources.gpu,
                    image=spec.image,
                )
            )
        return cls(
            name=flow.name,
            source_path=source_path,
            module_name=module_name_for(source_path),
            package_key=package_key,
            steps=tuple(steps),
            parameters=tuple(flow.parameters),
        )


@dataclass(frozen=True)
class Schedule:
    """One schedule: which pinned flow, when (cron in a zone, or after another flow), where."""

    name: str
    flow: FlowShape
    target: str
    cron: str | None = None
    timezone: str = "UTC"
    params: Mapping[str, str] = field(default_factory=dict)
    concurrency: str = "forbid"
    on_finish: str | None = None  # run when this flow finishes successfully (local only)
    paused: bool = False
    created: float = 0.0
    updated: float = 0.0
    root: str = ""  # the store the scheduled runs write to
    # the executor settings its in-cluster driver runs steps with (settings_pin.py), and
    # their key in the store; empty for the local target
    settings: Mapping[str, Any] = field(default_factory=dict)
    settings_key: str = ""

    def with_paused(self, paused: bool) -> Schedule:
        return replace(self, paused=paused, updated=time.time())

    @property
    def trigger(self) -> str:
        if self.on_finish:
            return f"after {self.on_finish} succeeds"
        return f"cron {self.cron!r} ({self.timezone})"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["params"] = dict(self.params)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        raw = dict(data)
        flow = dict(raw["flow"])
        flow["steps"] = tuple(
            StepShape(**{**s, "upstream": tuple(s.get("upstream", ()))}) for s in flow["steps"]
        )
        flow["parameters"] = tuple(flow.get("parameters", ()))
        raw["flow"] = FlowShape(**flow)
        raw["params"] = dict(raw.get("params") or {})
        raw["settings"] = dict(raw.get("settings") or {})
        return cls(**raw)


@dataclass(frozen=True)
class HistoryEntry:
    """One fire of a schedule: the run it started (if any) and how it ended."""

    id: int
    schedule: str
    fire_time: float
    status: str  # starting | running | done | failed | cancelled | lost | skipped | replaced
    run_id: str | None = None
    reason: str = ""
    started: float | None = None
    finished: float | None = None
    pid: int | None = None
    trigger: str = "cron"  # cron | missed | run-now | on-finish:<Flow/run>

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Applied:
    """What a target did (or would do, for a dry run): human lines plus the documents."""

    target: str
    summary: str
    documents: tuple[Mapping[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "summary": self.summary, "documents": list(self.documents)}
