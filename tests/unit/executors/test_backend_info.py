"""What the Run dialog is told about each backend: usable here, or why not and what to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_flow import plugins
from jupyter_flow.runtime.executors.base import CAPABILITIES


def describe(name: str):  # type: ignore[no-untyped-def]
    return plugins.load("executor", name).describe(name)


def test_every_builtin_is_described_with_known_capabilities() -> None:
    for name in ("local", "kubernetes", "batch"):
        info = describe(name)
        assert info.name == name
        assert set(info.capabilities) <= set(CAPABILITIES), name
    assert "secret-env" in describe("local").capabilities
    assert "gpu" not in describe("local").capabilities
    assert {"gpu", "remote"} <= set(describe("kubernetes").capabilities)
    assert "secret-env" not in describe("batch").capabilities


@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [("kubernetes", "kubernetes", "kubernetes"), ("batch", "boto3", "aws")],
)
def test_a_backend_whose_sdk_is_missing_says_which_extra_installs_it(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str, extra: str
) -> None:
    assert describe(name).usable  # the test environment has every SDK
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    info = describe(name)
    assert not info.usable
    assert info.reason == f"the {module!r} package is not installed here"
    assert info.hint == f"pip install 'jupyter-flow[{extra}]'"
    assert describe("local").usable


def test_backends_of_other_packages_are_described_too(tmp_path: Path) -> None:
    """One that needs an SDK missing here says what to install from its own package; one
    whose registration is broken is listed as not usable, saying so (not hidden)."""
    (tmp_path / "toy_backend.py").write_text(
        "from jupyter_flow.runtime.executors.base import Requirement\n"
        "from jupyter_flow.runtime.executors.local import LocalExecutor\n\n"
        "class ToyExecutor(LocalExecutor):\n"
        "    requires = (Requirement('toy_cloud_sdk', 'cloud', 'toy-backend'),)\n"
    )
    dist = tmp_path / "toy_backend-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-backend\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[jupyter_flow.executor]\ntoy = toy_backend:ToyExecutor\ngone = no_such_module:Executor\n"
    )
    code = (
        "import json\nfrom jupyter_flow.server import services\n"
        "print(json.dumps([i.to_json() for i in services.describe_backends()]))"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    infos = {i["name"]: i for i in json.loads(done.stdout)}
    assert infos["toy"]["usable"] is False
    assert infos["toy"]["reason"] == "the 'toy_cloud_sdk' package is not installed here"
    assert infos["toy"]["hint"] == "pip install 'toy-backend[cloud]'"
    assert infos["gone"]["usable"] is False
    assert infos["gone"]["reason"].startswith(
        "the executor 'gone' is registered as no_such_module:Executor but cannot be loaded"
    )
    assert infos["gone"]["hint"].startswith("reinstall the package that registers it")
    assert infos["local"]["usable"] is True
