"""The Python API of schedules, used by the CLI and the JupyterLab server extension.

Every function validates before it changes anything (cron, time zone, target, flow,
parameters, name), applies to the engine first and records the schedule last, so a failure
leaves nothing half-created. Results are frozen dataclasses with ``to_json()``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import plugins
from ..config import Settings
from ..errors import ConfigError
from .base import ScheduleTarget
from .cron import next_fire_times as _next_fire_times
from .cron import validate_cron, validate_timezone
from .lease import SchedulerStatus
from .lease import scheduler_status as _scheduler_status
from .model import CONCURRENCY, Applied, FlowShape, HistoryEntry, Schedule
from .pin import package_key
from .store import ScheduleStore

__all__ = [
    "create_schedule",
    "delete_schedule",
    "get_schedule",
    "list_schedules",
    "next_fire_times",
    "pause_schedule",
    "render_schedule",
    "resume_schedule",
    "run_now",
    "schedule_history",
    "scheduler_status",
    "show_schedule",
    "unfired_warning",
]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$")


def _settings(root: str | None) -> Settings:
    return Settings.load(root=root)


def _store(root: str | None) -> ScheduleStore:
    return ScheduleStore(_settings(root).root)


def target_for(name: str, root: str | None = None) -> ScheduleTarget:
    """The target registered as ``name`` (``ConfigError`` listing the choices otherwise)."""
    cls = plugins.load("schedule", name)
    target: ScheduleTarget = cls(_settings(root))
    return target


def default_name(flow_name: str) -> str:
    """``SweepFlow`` -> ``sweep-flow``: a valid Kubernetes/Argo/AWS name."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", flow_name).replace("_", "-").lower()


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(
            f"schedule name {name!r} is not valid",
            hint="use 1-52 lowercase letters, digits and '-', starting and ending with a "
            "letter or digit (it names Kubernetes and AWS objects)",
        )
    return name


def _check_params(flow: Any, params: Mapping[str, Any] | None) -> dict[str, str]:
    values = {str(k): v if isinstance(v, str) else _as_text(v) for k, v in (params or {}).items()}
    flow.resolve_parameters(values)  # unknown names / unconvertible values raise here
    return values


def _as_text(value: Any) -> str:
    import json

    return json.dumps(value)


def create_schedule(
    flow_path: str | Path,
    cron: str | None,
    *,
    target: str = "local",
    timezone: str = "UTC",
    params: Mapping[str, Any] | None = None,
    name: str | None = None,
    concurrency: str = "forbid",
    on_finish: str | None = None,
    root: str | None = None,
    dry_run: bool = False,
    update: bool = False,
) -> Schedule:
    """Validate, pin the flow's code and apply the schedule (unless ``dry_run``).

    A schedule of the same name is replaced only with ``update=True``: that is how a new
    version of the flow gets scheduled (the code is pinned at creation)."""
    from ..runtime.loader import load_flow

    engine = target_for(target, root)
    if concurrency not in CONCURRENCY:
        raise ConfigError(
            f"unknown concurrency policy {concurrency!r}",
            hint=f"choose one of: {', '.join(CONCURRENCY)}",
        )
    expr = validate_cron(cron, allow_seconds=engine.allows_seconds) if cron else None
    validate_timezone(timezone)
    path = Path(flow_path).resolve()
    flow = load_flow(path)
    flow.dag()  # a flow that does not validate is not scheduled
    values = _check_params(flow, params)
    now = time.time()
    schedule = Schedule(
        name=_check_name(name or default_name(flow.name)),
        flow=FlowShape.of(flow, str(path), package_key(path)),
        target=target,
        cron=expr,
        timezone=timezone,
        params=values,
        concurrency=concurrency,
        on_finish=on_finish,
        created=now,
        updated=now,
        root=engine.settings.root,
    )
    engine.validate(schedule)
    schedule = engine.pin_settings(schedule)  # what its driver runs steps with
    if dry_run:
        return schedule
    store = ScheduleStore(engine.settings.root)
    existing = store.get(schedule.name)
    if existing is not None:
        if not update:
            raise ConfigError(
                f"schedule {schedule.name!r} already exists ({existing.flow.name} on "
                f"{existing.target}, code {existing.flow.package_key[:12]})",
                hint="pass --update (update=True) to replace it with the flow as it is now, "
                "or choose another --name",
            )
        schedule = replace(schedule, created=existing.created)
        if existing.target != schedule.target:
            target_for(existing.target, root).remove(existing)
    _resolve_packages(flow, schedule, engine)
    engine.apply(schedule)
    store.put(schedule, reset_state=True)
    return schedule


def _resolve_packages(flow: Any, schedule: Schedule, engine: ScheduleTarget) -> None:
    """Resolve the steps' ``packages=`` now, on this machine, which reaches the package
    index: a fire's driver then finds them in the store and its cluster needs no index."""
    executor = schedule.settings.get("executor")
    steps = [(s.name, s.packages, s.image) for s in flow.steps.values() if s.packages]
    if not steps or not executor:
        return
    if "remote" not in plugins.load("executor", executor).capabilities:
        return  # local steps run in the driver's own environment
    from ..runtime.environments import resolve_steps
    from ..store import open_store

    store = open_store(schedule.root)
    try:
        options = dict(schedule.settings["extra"][executor])
        options["image"] = engine.steps_image() or options.get("image")
        resolve_steps(store, steps, options)
    finally:
        store.close()


def render_schedule(schedule: Schedule, root: str | None = None) -> Applied:
    """What ``apply`` would send to the engine (the ``--dry-run`` output)."""
    return target_for(schedule.target, root).describe(schedule)


def get_schedule(name: str, root: str | None = None) -> Schedule:
    return _store(root).require(name)


def list_schedules(root: str | None = None) -> list[Schedule]:
    return _store(root).all()


def show_schedule(name: str, root: str | None = None, n: int = 5) -> dict[str, Any]:
    """The schedule, its next ``n`` fire times in its zone and its latest fires."""
    schedule = get_schedule(name, root)
    fires = (
        [t.isoformat() for t in _next_fire_times(schedule.cron, schedule.timezone, n)]
        if schedule.cron and not schedule.paused
        else []
    )
    recent = _store(root).history(name)[-5:]
    return {
        **schedule.to_json(),
        "next_fire_times": fires,
        "recent": [h.to_json() for h in recent],
    }


def _set_paused(name: str, paused: bool, root: str | None) -> Schedule:
    store = _store(root)
    schedule = store.require(name).with_paused(paused)
    target_for(schedule.target, root).set_paused(schedule)
    store.put(schedule)
    return schedule


def pause_schedule(name: str, root: str | None = None) -> Schedule:
    return _set_paused(name, True, root)


def resume_schedule(name: str, root: str | None = None) -> Schedule:
    """Resume; fires missed while paused are not made up."""
    schedule = _set_paused(name, False, root)
    _store(root).put(schedule, reset_state=True)
    return schedule


def delete_schedule(name: str, root: str | None = None) -> Schedule:
    store = _store(root)
    schedule = store.require(name)
    target_for(schedule.target, root).remove(schedule)
    store.delete(name)
    return schedule


def schedule_history(name: str, root: str | None = None) -> list[HistoryEntry]:
    store = _store(root)
    schedule = store.require(name)
    target_for(schedule.target, root).refresh(store, schedule)
    return store.history(name)


def run_now(name: str, root: str | None = None) -> str:
    """Start one run of the schedule now; returns its id in the engine."""
    schedule = get_schedule(name, root)
    return target_for(schedule.target, root).run_now(schedule)


def next_fire_times(cron: str, timezone: str = "UTC", n: int = 5) -> list[datetime]:
    return _next_fire_times(cron, timezone, n)


def scheduler_status(root: str | None = None) -> SchedulerStatus:
    """Whether a local scheduler (daemon or Jupyter server) is alive for this store."""
    return _scheduler_status(_store(root).dir)


def unfired_warning(root: str | None = None) -> str | None:
    """The warning to show when active local schedules have nobody to fire them."""
    store = _store(root)
    if not any(not s.paused for s in store.all("local")):
        return None
    if _scheduler_status(store.dir).alive:
        return None
    return (
        f"no scheduler is running for {store.root}: local schedules will not fire; start one "
        "with `jupyter flow scheduler` or open Jupyter (its server runs one)"
    )
