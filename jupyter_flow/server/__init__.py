"""The jupyter_server extension: REST handlers under ``/jupyter-flow/``.

Loaded by jupyter_server through ``jupyter_flow._jupyter_server_extension_points``; the
``jupyter-config`` file shipped in the wheel enables it on install.
"""

from __future__ import annotations

from typing import Any

from .routes import setup_handlers


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_flow.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    setup_handlers(serverapp.web_app)
    serverapp.log.info("jupyter_flow server extension loaded under /jupyter-flow/")


__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]
