"""URL table of the extension, all under ``{base_url}/jupyter-flow/``."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .artifacts import ROUTES as ARTIFACT_ROUTES
from .base import LAUNCHER_KEY
from .launcher import Launcher
from .notebooks import ExportHandler, GraphHandler
from .runs import ROUTES as RUN_ROUTES

NAMESPACE = "jupyter-flow"


def routes() -> list[tuple[str, Any]]:
    table: list[tuple[str, Any]] = [("export", ExportHandler), ("graph", GraphHandler)]
    table += RUN_ROUTES + ARTIFACT_ROUTES
    from .schedules import routes as schedule_routes

    table += schedule_routes()
    return table


def setup_handlers(web_app: Any) -> None:
    web_app.settings.setdefault(LAUNCHER_KEY, Launcher())
    base_url = web_app.settings.get("base_url", "/")
    handlers = [
        (url_path_join(base_url, NAMESPACE, pattern), handler) for pattern, handler in routes()
    ]
    web_app.add_handlers(".*$", handlers)
