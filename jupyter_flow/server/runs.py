"""Runs over HTTP: list, detail (live status), log tail, start, cancel, and the backends."""

from __future__ import annotations

import os
import re
from pathlib import Path

from jupyter_flow.errors import RunNotFound

from . import paths, run_request, services
from .base import FlowHandler, endpoint, in_thread
from .errors import BadRequest, Conflict

AUTH_RESOURCE = "jupyter_flow"
STATUSES = ("running", "done", "failed", "cancelled", "lost")
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
RUN_ID = r"[A-Za-z0-9_.\-]+"
DEFAULT_TAIL = 200
MAX_TAIL = 5000


class RunsBase(FlowHandler):
    def notebook_dir(self) -> Path:
        """The folder whose settings name the store: the notebook's, or the server root."""
        api_path = self.get_query_argument("path", None)
        return self.notebook(api_path).parent if api_path else self.root

    async def store_root(self, notebook_dir: Path, root: object = None) -> str:
        """The configured store root, or the one the user chose (the frontend's "store
        location" setting). A folder (also as ``file://``) must stay inside the server
        root; a remote URL is taken only if the server's settings name it (``paths.py``)."""
        if root is None:
            root = self.get_query_argument("root", None)
        if root is not None and not isinstance(root, str):
            raise BadRequest("'root' must be a string")
        if root:
            configured = await in_thread(services.store_root, notebook_dir, None)
            root = paths.store_location(self.root, notebook_dir, root, configured)
        return str(await in_thread(services.store_root, notebook_dir, root or None))


class RunsHandler(RunsBase):
    """GET ?path=&flow=&status=&limit=: run summaries, newest first."""

    @endpoint(AUTH_RESOURCE)
    async def get(self) -> None:
        flow = self.get_query_argument("flow", None) or None
        if flow is not None and not re.fullmatch(NAME, flow):
            raise BadRequest(f"{flow!r} is not a flow name")
        status = self.get_query_argument("status", None) or None
        if status is not None and status not in STATUSES:
            raise BadRequest(f"unknown status {status!r}", hint=f"one of: {', '.join(STATUSES)}")
        limit = self.int_argument("limit", 50)
        root = await self.store_root(self.notebook_dir())
        runs = await in_thread(services.list_runs, flow, root=root, status=status, limit=limit)
        self.reply({"runs": runs})


class RunHandler(RunsBase):
    """GET ?path=: one run's live summary (a just-started run is 'starting')."""

    @endpoint(AUTH_RESOURCE)
    async def get(self, flow: str, run_id: str) -> None:
        root = await self.store_root(self.notebook_dir())
        try:
            summary = await in_thread(services.run_summary, f"{flow}/{run_id}", root=root)
        except RunNotFound:
            launch = self.launcher.get(run_id)
            if launch is None or launch.flow != flow:
                raise
            summary = launch.status()
        self.reply(summary)


class LogsHandler(RunsBase):
    """GET ?path=&step=&tail=: the last lines of a run's (or one step's) logs."""

    @endpoint(AUTH_RESOURCE)
    async def get(self, flow: str, run_id: str) -> None:
        step = self.get_query_argument("step", None) or None
        if step is not None and not re.fullmatch(NAME, step):
            raise BadRequest(f"{step!r} is not a step name")
        tail = min(self.int_argument("tail", DEFAULT_TAIL) or DEFAULT_TAIL, MAX_TAIL)
        root = await self.store_root(self.notebook_dir())
        launch = self.launcher.get(run_id)
        try:
            text = await in_thread(
                services.run_logs, f"{flow}/{run_id}", root=root, step=step, tail=tail
            )
        except RunNotFound:
            if launch is None or launch.flow != flow:
                raise
            text = ""
        if launch is not None and step is None and launch.returncode not in (None, 0):
            text = f"{text}\n{launch.log_tail(tail)}".strip()
        self.reply({"id": run_id, "flow": flow, "step": step, "logs": text})


class StartRunHandler(RunsBase):
    """POST {path, backend, parameters, secrets}: export the notebook, check the request
    against its flow and the backend, start the run, answer its id at once (202); the run's
    status is then read from /runs/FLOW/ID. ``secrets`` (secret parameter -> value) reach
    the run through its environment only."""

    @endpoint("kernels", "execute")
    async def post(self) -> None:
        body = self.body()
        nb_path = self.notebook(body.get("path"))
        backend = body.get("backend") or await in_thread(services.default_backend, nb_path.parent)
        infos = {info.name: info for info in await in_thread(services.describe_backends)}
        if backend not in infos:
            raise BadRequest(f"unknown backend {backend!r}", hint=f"one of: {', '.join(infos)}")
        run_request.check_backend(infos[backend])
        params = run_request.parameters_shape(body.get("parameters"))
        secrets = run_request.secrets_shape(body.get("secrets"))
        root = await self.store_root(nb_path.parent, body.get("root"))  # before any write
        result = await in_thread(services.export_notebook, str(nb_path))
        checked = run_request.check(
            tuple(result.parameters), params, secrets, infos[backend], os.environ
        )
        run_id = await in_thread(services.new_run_id)
        module = Path(result.module_path)
        if not module.is_absolute():
            module = nb_path.parent / module
        await in_thread(
            self.launcher.start,
            module,
            flow=result.flow_name,
            root=root,
            run_id=run_id,
            backend=backend,
            params=checked.params,
            secret_env=checked.secret_env,
        )
        self.reply(
            {
                "id": run_id,
                "flow": result.flow_name,
                "pathspec": f"{result.flow_name}/{run_id}",
                "backend": backend,
                "module_path": self.relative(module),
                "status": "starting",
            },
            status=202,
        )


class CancelRunHandler(RunsBase):
    """POST ?path=&root=: stop a run this server started (SIGINT, as Ctrl-C: its tasks are
    cancelled, finished ones kept, the run recorded ``cancelled``). Answers 202 at once;
    the run's status is then read from /runs/FLOW/ID."""

    @endpoint("kernels", "execute")
    async def post(self, flow: str, run_id: str) -> None:
        root = await self.store_root(self.notebook_dir())
        launch = self.launcher.get(run_id)
        if launch is not None and launch.flow != flow:
            launch = None
        if launch is not None and self.launcher.cancel(run_id):
            self.reply({"id": run_id, "flow": flow, "status": "cancelling"}, status=202)
            return
        try:
            summary = await in_thread(services.run_summary, f"{flow}/{run_id}", root=root)
        except RunNotFound:
            if launch is None:
                raise
            summary = launch.status()
        status = summary["status"]
        if launch is None and status in ("starting", "running"):
            raise Conflict(
                f"run {flow}/{run_id} was not started by this Jupyter server",
                hint="it was started elsewhere: stop it where it runs (Ctrl-C, `%flow cancel`)",
            )
        if status in ("starting", "running"):  # its driver died without a word: lost
            status = "lost"
        raise Conflict(f"run {flow}/{run_id} already ended: it is {status}")


class BackendsHandler(RunsBase):
    """GET ?path=: every backend (name, usable here or why not, capabilities), the
    configured default, the store root."""

    @endpoint(AUTH_RESOURCE)
    async def get(self) -> None:
        folder = self.notebook_dir()
        infos = await in_thread(services.describe_backends)
        default = await in_thread(services.default_backend, folder)
        root = await self.store_root(folder)
        schedules = await in_thread(services.schedule_api) is not None
        self.reply(
            {
                "backends": [info.to_json() for info in infos],
                "default": default,
                "root": root,
                "schedules": schedules,
            }
        )


def _parameters(value: object) -> dict[str, str]:
    """The shape check schedules share with runs (name -> a JSON scalar, as text)."""
    return run_request.parameters_shape(value)


ROUTES: list[tuple[str, type[FlowHandler]]] = [
    ("runs", RunsHandler),
    (rf"runs/(?P<flow>{NAME})/(?P<run_id>{RUN_ID})", RunHandler),
    (rf"runs/(?P<flow>{NAME})/(?P<run_id>{RUN_ID})/logs", LogsHandler),
    (rf"runs/(?P<flow>{NAME})/(?P<run_id>{RUN_ID})/cancel", CancelRunHandler),
    ("run", StartRunHandler),
    ("backends", BackendsHandler),
]
