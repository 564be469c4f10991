"""The seam between the handlers and the rest of jupyter_flow.

Handlers call only these functions, so tests can replace any of them (monkeypatch) and
the imports of the notebook layer and the run client happen on first use, not at server
start. Everything here is synchronous; handlers run it in a worker thread.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from jupyter_flow.config import Settings


def analyze(nb: Any, notebook_path: str) -> dict[str, Any]:
    from jupyter_flow.notebook import api

    return api.analyze(nb, notebook_path=notebook_path)


def export_notebook(notebook_path: str) -> Any:
    from jupyter_flow.notebook import api

    return api.export_notebook(notebook_path)


def read_notebook(path: Path) -> Any:
    import nbformat

    return nbformat.read(path, as_version=4)


def store_root(notebook_dir: Path, root: str | None = None) -> str:
    """The store root for runs of notebooks in ``notebook_dir`` (``root`` overrides the
    configured one; a relative ``root`` is relative to the notebook's folder)."""
    return Settings.load(cwd=notebook_dir, root=root or None).root


def default_backend(notebook_dir: Path) -> str:
    return Settings.load(cwd=notebook_dir).executor


def backends() -> list[str]:
    from jupyter_flow import plugins

    return plugins.names("executor")


def describe_backends() -> list[Any]:
    """Each registered executor as a ``BackendInfo``: usable here, or why not and what to
    install."""
    from jupyter_flow import plugins
    from jupyter_flow.runtime.executors.base import describe_backend

    return [describe_backend(name) for name in plugins.names("executor")]


def list_runs(
    flow: str | None, *, root: str, status: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    from jupyter_flow import client
    from jupyter_flow.store.records import RUN_STATUSES

    wanted = next((s for s in RUN_STATUSES if s == status), None)  # validated by the handler
    runs = client.list_runs(flow, status=wanted, root=root, limit=limit)
    return [run.summary() for run in runs]


def run_summary(pathspec: str, *, root: str) -> dict[str, Any]:
    from jupyter_flow import client

    summary: dict[str, Any] = client.Run(pathspec, root=root).summary()
    return summary


def run_logs(pathspec: str, *, root: str, step: str | None, tail: int) -> str:
    from jupyter_flow import client

    return str(client.Run(pathspec, root=root).logs(step=step, tail=tail))


def new_run_id() -> str:
    from jupyter_flow import client

    make: Any = getattr(client, "new_run_id", None)
    if make is None:  # the engine keeps it beside the run records
        from jupyter_flow.store import records

        make = records.new_run_id
    return str(make())


def schedule_api() -> Any | None:
    """``jupyter_flow.schedule.api`` when that part is installed, else ``None``."""
    try:
        api = importlib.import_module("jupyter_flow.schedule.api")
    except ModuleNotFoundError as err:
        if err.name and err.name.startswith("jupyter_flow.schedule"):
            return None
        raise
    return api


def schedule_targets() -> list[str]:
    from jupyter_flow import plugins

    return plugins.names("schedule")
