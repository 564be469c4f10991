"""jupyter_flow: tag notebook cells as steps, export them to a flow module, run it anywhere.

Only the public API lives here, and importing it does no work.
"""

from __future__ import annotations

from typing import Any

from .flow.secret_params import Secret, secret
from .flow.spec import Flow

__version__ = "0.1.0"
__all__ = ["Flow", "Secret", "__version__", "load_ipython_extension", "run", "secret"]


def run(*args: Any, **kwargs: Any) -> Any:
    """Run the current notebook's flow (or a flow module) from a kernel; see the user guide."""
    from .kernel.session import run as _run

    return _run(*args, **kwargs)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_flow``: registers ``%%step``, ``%%params`` and ``%flow``."""
    from .kernel.magics import load_ipython_extension as _load

    _load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.scheduler_app import FlowSchedulerApp  # the local scheduler, stopped on exit

    return [
        {"module": "jupyter_flow.server"},
        {"module": "jupyter_flow.server.scheduler_app", "app": FlowSchedulerApp},
    ]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-flow"}]
