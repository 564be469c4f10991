"""The jupyter_server extension: REST handlers under ``/jupyter-flow/``.

Loaded by jupyter_server through ``jupyter_flow._jupyter_server_extension_points``; the
``jupyter-config`` file shipped in the wheel enables it on install. The local scheduler is
its second point, an ``ExtensionApp`` (``scheduler_app.py``), so that it is stopped on exit.
"""

from __future__ import annotations

from typing import Any

from .routes import setup_handlers


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .scheduler_app import FlowSchedulerApp

    return [
        {"module": "jupyter_flow.server"},
        {"module": "jupyter_flow.server.scheduler_app", "app": FlowSchedulerApp},
    ]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    setup_handlers(serverapp.web_app)
    serverapp.log.info("jupyter_flow server extension loaded under /jupyter-flow/")


__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]
