"""Shared fixtures: a temporary store root and a way to write flow modules into tmp dirs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# the fidelity table in the terminal summary, also when xdist's controller never collects
# tests/fidelity (it loads only the conftests of its arguments)
pytest_plugins = ["tests.fidelity.report"]


@pytest.fixture
def root(tmp_path: Path) -> str:
    """A fresh store root; also exported so CLI subprocesses and the client find it."""
    path = tmp_path / "store"
    return str(path)


@pytest.fixture
def write_flow(tmp_path: Path) -> Callable[..., Path]:
    """Write a flow module (dedented source) into tmp_path and return its path."""
    counter = iter(range(1000))

    def write(source: str, name: str | None = None) -> Path:
        path = tmp_path / (name or f"flow_{next(counter)}.py")
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture
def cli(root: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m jupyter_flow ...` against the test store; returns the finished process."""

    def run(
        *args: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "JUPYTER_FLOW_ROOT": root, "JUPYTER_FLOW_RETRY_BACKOFF": "0.05"}
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "jupyter_flow", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            check=False,
        )

    return run
