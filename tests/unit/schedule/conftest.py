"""A small flow with every shape a target must render: a fan-out over a parameter, a
fan-out over a step's output, retries, a timeout, a GPU and a join."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.schedule.model import FlowShape, Schedule

SHAPES_FLOW = """
from jupyter_flow import Flow

flow = Flow("ShapesFlow", parameters={"regions": ["eu", "us"], "n": 3})


@flow.step(foreach="region in regions", outputs="rows", retries=2, timeout="10m")
def extract(region, n):
    return [region] * n


@flow.step(outputs="grid", memory="1G", cpu=0.5)
def plan(rows):
    return list(range(len(rows)))


@flow.step(
    foreach="cell in grid", outputs="score", gpu=1, memory="16G", image="ghcr.io/acme/train:1"
)
def train(cell):
    return cell * 2


@flow.step(outputs="best")
def pick(score):
    return max(score)
"""

PACKAGE_KEY = "ab" * 32
# the executors' environment overrides, which targets read when they pin settings
BACKEND_ENV = ("JUPYTER_FLOW_K8S_", "JUPYTER_FLOW_BATCH_")


@pytest.fixture(autouse=True)
def _no_backend_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Targets pin with ``os.environ`` as a local run would: a developer's
    ``JUPYTER_FLOW_K8S_IMAGE`` must not change what these tests render."""
    for name in list(os.environ):
        if name.startswith(BACKEND_ENV):
            monkeypatch.delenv(name)


@pytest.fixture
def shapes_path(tmp_path: Path) -> Path:
    path = tmp_path / "shapes_flow.py"
    path.write_text(SHAPES_FLOW)
    return path


@pytest.fixture
def golden_schedule(shapes_path: Path) -> Schedule:
    """A schedule with fixed paths and key, so rendered documents are reproducible."""
    flow = load_flow(shapes_path)
    shape = FlowShape.of(flow, "/home/ana/project/shapes_flow.py", PACKAGE_KEY)
    return Schedule(
        name="shapes-nightly",
        flow=shape,
        target="kubernetes",
        cron="0 3 * * 1-5",
        timezone="Europe/Berlin",
        params={"n": "5"},
        concurrency="forbid",
        created=1_700_000_000.0,
        updated=1_700_000_000.0,
        root="s3://acme-flows/prod",
    )
