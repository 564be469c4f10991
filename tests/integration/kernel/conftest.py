"""Real kernels for the kernel-side runner: a saved notebook, executed by nbclient."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[3]
LOAD = "%load_ext jupyter_flow"


@pytest.fixture
def kernel_env(tmp_path: Path) -> dict[str, str]:
    """The kernel's environment: its own store, quick retries, the notebook it belongs to."""
    env = dict(os.environ)
    env.update(
        JUPYTER_FLOW_ROOT=str(tmp_path / "store"),
        JUPYTER_FLOW_RETRY_BACKOFF="0.05",
        JUPYTER_FLOW_MAX_WORKERS="2",
        JPY_SESSION_NAME=str(tmp_path / "nb.ipynb"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        # this checkout, whether or not it is installed in the venv
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return env


@pytest.fixture
def save_notebook(tmp_path: Path) -> Callable[[list[str]], Path]:
    """Write the notebook the kernel belongs to (``nb.ipynb``), as JupyterLab saves it."""

    def save(cells: list[str]) -> Path:
        path = tmp_path / "nb.ipynb"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nbformat.write(nb, path)
        return path

    return save


@pytest.fixture
def execute(tmp_path: Path, kernel_env: dict[str, str]) -> Callable[..., Any]:
    """Run ``cells`` in a fresh kernel in the notebook's folder; returns the executed notebook."""

    def run(cells: list[str], *, allow_errors: bool = False) -> Any:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        client = NotebookClient(
            nb,
            timeout=120,
            kernel_name="python3",
            allow_errors=allow_errors,
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute(env=kernel_env)
        return nb

    return run


def text_of(cell: Any) -> str:
    """Everything a reader of the saved notebook sees as text in a cell's outputs."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback))
        else:
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def bundle_of(cell: Any) -> dict[str, Any]:
    """The run view's mimebundle (the display output carrying a widget view)."""
    for out in cell.outputs:
        data = out.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data:
            return dict(data)
    raise AssertionError(f"no run view in {cell.outputs}")


def widget_states(nb: Any) -> dict[str, dict[str, Any]]:
    """model id -> state, as nbclient saved it for the frontend."""
    saved = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return {model_id: entry["state"] for model_id, entry in saved.items()}


def descendants(states: dict[str, dict[str, Any]], model_id: str) -> list[dict[str, Any]]:
    found = [states[model_id]]
    for child in states[model_id].get("children", []):
        found += descendants(states, child.removeprefix("IPY_MODEL_"))
    return found
