"""The fidelity corpus's fixtures: one real JupyterLab server per test session (per xdist
worker), serving the folder the notebooks are copied into."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from . import server
from .paths import user_env


@pytest.fixture(scope="session")
def fidelity_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's root; each notebook is copied into a folder of its own below it."""
    return tmp_path_factory.mktemp("fidelity")


@pytest.fixture(scope="session")
def lab_server(fidelity_root: Path) -> Iterator[server.LabServer]:
    lab, process = server.start(fidelity_root, fidelity_root.parent / "lab.log", user_env())
    try:
        yield lab
    finally:
        server.stop(process)
