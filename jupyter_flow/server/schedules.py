"""Schedules over HTTP (``jupyter_flow.schedule.api``): list, create, pause, resume, delete,
run now, history, and a cron preview (normalized expression and next fire times) for the
create dialog.

A schedule is created from a notebook: the notebook is exported first and the module just
written is what gets pinned and scheduled.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from jupyter_flow.errors import ConfigError

from . import services
from .base import endpoint, in_thread
from .errors import BadRequest, NotFound
from .runs import AUTH_RESOURCE, NAME, RunsBase, _parameters
from .scheduler import SCHEDULER_KEY

SCHEDULE_NAME = r"[a-z0-9][-a-z0-9]*"
MAX_FIRES = 20
HISTORY_LIMIT = 20
MAX_HISTORY = 200


def _api() -> Any:
    api = services.schedule_api()
    if api is None:  # pragma: no cover - the routes exist only when it does
        raise ConfigError("schedules are not available in this installation")
    return api


def _show(api: Any, name: str, root: str) -> dict[str, Any]:
    data: dict[str, Any] = api.show_schedule(name, root=root)
    return data


def _require(api: Any, name: str, root: str) -> None:
    if not any(s.name == name for s in api.list_schedules(root=root)):
        raise NotFound(f"no schedule named {name!r}", hint="list the schedules to see names")


def _scheduler(api: Any, root: str, in_server: bool, tick: float) -> dict[str, Any]:
    """Who fires this store's local schedules: ``{alive, pid, host, since, kind}``, and
    whether this server would (``in_server``). A store this server has just been asked
    about is taken up at its scheduler's next tick: wait that long rather than report
    "nobody" for a moment."""
    status = api.scheduler_status(root=root)
    deadline = time.monotonic() + min(3 * tick, 5.0)
    while in_server and not status.alive and time.monotonic() < deadline:
        if api.unfired_warning(root=root) is None:  # no active local schedule to take up
            break
        time.sleep(min(tick / 2, 0.5))
        status = api.scheduler_status(root=root)
    return {**status.to_json(), "in_server": in_server}


class SchedulesHandler(RunsBase):
    """GET ?path=&flow=: schedules (of one flow) with next fire times, the targets and the
    store's scheduler (alive or not: nobody fires local schedules when it is not).
    POST {path, cron, timezone, target, parameters, name}: export, then schedule."""

    def watch(self, root: str) -> float | None:
        """Have this server's scheduler fire ``root`` too; its tick, None when it runs none."""
        scheduler = self.settings.get(SCHEDULER_KEY)
        if scheduler is None:
            return None
        scheduler.watch(root)
        return float(scheduler.options.tick)

    @endpoint(AUTH_RESOURCE)
    async def get(self) -> None:
        api = _api()
        flow = self.get_query_argument("flow", None) or None
        if flow is not None and not re.fullmatch(NAME, flow):
            raise BadRequest(f"{flow!r} is not a flow name")
        root = await self.store_root(self.notebook_dir())
        schedules = await in_thread(api.list_schedules, root=root)
        chosen = [s.name for s in schedules if flow in (None, s.flow.name)]
        shown = [await in_thread(_show, api, name, root) for name in chosen]
        targets = await in_thread(services.schedule_targets)
        tick = self.watch(root)
        scheduler = await in_thread(_scheduler, api, root, tick is not None, tick or 0.0)
        self.reply({"schedules": shown, "targets": targets, "scheduler": scheduler})

    @endpoint("kernels", "execute")
    async def post(self) -> None:
        api = _api()
        body = self.body()
        nb_path = self.notebook(body.get("path"))
        cron = body.get("cron")
        if not isinstance(cron, str) or not cron.strip():
            raise BadRequest("'cron' is required", hint='e.g. "0 6 * * 1-5"')
        timezone = body.get("timezone") or "UTC"
        target = body.get("target") or "local"
        name = body.get("name") or None
        for key, value in (("timezone", timezone), ("target", target), ("name", name)):
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"{key!r} must be a string")
        params = _parameters(body.get("parameters"))
        root = await self.store_root(nb_path.parent, body.get("root"))
        result = await in_thread(services.export_notebook, str(nb_path))
        module = Path(result.module_path)
        if not module.is_absolute():
            module = nb_path.parent / module
        schedule = await in_thread(
            api.create_schedule,
            str(module),
            cron,
            target=target,
            timezone=timezone,
            params=params,
            name=name,
            root=root,
            update=bool(body.get("update", False)),
        )
        self.watch(root)
        self.reply(await in_thread(_show, api, schedule.name, root), status=201)


class ScheduleHandler(RunsBase):
    """GET: one schedule. DELETE: remove it (from its engine, then from the store)."""

    @endpoint(AUTH_RESOURCE)
    async def get(self, name: str) -> None:
        api = _api()
        root = await self.store_root(self.notebook_dir())
        await in_thread(_require, api, name, root)
        self.reply(await in_thread(_show, api, name, root))

    @endpoint(AUTH_RESOURCE)
    async def delete(self, name: str) -> None:
        api = _api()
        root = await self.store_root(self.notebook_dir())
        await in_thread(_require, api, name, root)
        await in_thread(api.delete_schedule, name, root=root)
        self.reply({"deleted": name})


class ScheduleActionHandler(RunsBase):
    """POST .../pause or .../resume."""

    @endpoint(AUTH_RESOURCE)
    async def post(self, name: str, action: str) -> None:
        api = _api()
        root = await self.store_root(self.notebook_dir(), self.body().get("root"))
        await in_thread(_require, api, name, root)
        change = api.pause_schedule if action == "pause" else api.resume_schedule
        await in_thread(change, name, root=root)
        self.reply(await in_thread(_show, api, name, root))


class RunNowHandler(RunsBase):
    """POST .../run-now: start one run of the schedule now (202 with the engine's run id).
    It runs code, so it needs the right to execute, like starting a run."""

    @endpoint("kernels", "execute")
    async def post(self, name: str) -> None:
        api = _api()
        root = await self.store_root(self.notebook_dir(), self.body().get("root"))
        await in_thread(_require, api, name, root)
        run = await in_thread(api.run_now, name, root=root)
        self.reply({"name": name, "run": run}, status=202)


class HistoryHandler(RunsBase):
    """GET .../history?limit=: the schedule's fires, newest first (refreshed from the
    engine, so a run's status is current)."""

    @endpoint(AUTH_RESOURCE)
    async def get(self, name: str) -> None:
        api = _api()
        limit = min(self.int_argument("limit", HISTORY_LIMIT) or HISTORY_LIMIT, MAX_HISTORY)
        root = await self.store_root(self.notebook_dir())
        await in_thread(_require, api, name, root)
        entries = await in_thread(api.schedule_history, name, root=root)
        newest = sorted(entries, key=lambda e: (e.fire_time, e.id), reverse=True)[:limit]
        self.reply({"name": name, "entries": [e.to_json() for e in newest]})


class CronPreviewHandler(RunsBase):
    """GET ?cron=&timezone=&n=: the normalized expression and its next fire times."""

    @endpoint(AUTH_RESOURCE)
    async def get(self) -> None:
        api = _api()
        cron = self.get_query_argument("cron", "") or ""
        timezone = self.get_query_argument("timezone", None) or "UTC"
        count = min(self.int_argument("n", 5) or 5, MAX_FIRES)
        from jupyter_flow.schedule.cron import validate_cron, validate_timezone

        expr = validate_cron(cron, allow_seconds=True)
        validate_timezone(timezone)
        fires = await in_thread(api.next_fire_times, expr, timezone, count)
        self.reply({"cron": expr, "timezone": timezone, "next": [t.isoformat() for t in fires]})


def routes() -> list[tuple[str, Any]]:
    if services.schedule_api() is None:
        return []
    return [
        ("schedules", SchedulesHandler),
        ("cron", CronPreviewHandler),
        (rf"schedules/(?P<name>{SCHEDULE_NAME})", ScheduleHandler),
        (rf"schedules/(?P<name>{SCHEDULE_NAME})/(?P<action>pause|resume)", ScheduleActionHandler),
        (rf"schedules/(?P<name>{SCHEDULE_NAME})/run-now", RunNowHandler),
        (rf"schedules/(?P<name>{SCHEDULE_NAME})/history", HistoryHandler),
    ]
