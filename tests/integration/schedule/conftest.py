"""Remote-target fixtures: settings in a jupyter_flow.toml, a fake Kubernetes API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes import k8s_objects

SIMPLE_FLOW = """
from jupyter_flow import Flow

flow = Flow("FanFlow", parameters={"items": [1, 2, 3]})


@flow.step(foreach="item in items", outputs="sq", retries=1)
def square(item):
    return item * item


@flow.step(outputs="total")
def add(sq):
    return sum(sq)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """A project folder as cwd with the given jupyter_flow.toml; returns the flow path."""

    def make(toml: str) -> Path:
        (tmp_path / "jupyter_flow.toml").write_text(toml)
        monkeypatch.chdir(tmp_path)
        path = tmp_path / "fan_flow.py"
        path.write_text(SIMPLE_FLOW)
        return path

    return make


@pytest.fixture
def fake_k8s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[k8s_objects.FakeKubernetes]:
    with k8s_objects.serve() as fake:
        monkeypatch.setenv("KUBECONFIG", str(fake.kubeconfig(tmp_path / "kubeconfig")))
        yield fake
