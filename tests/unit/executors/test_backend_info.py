"""What the Run dialog is told about each backend: usable here, or why not and what to do."""

from __future__ import annotations

import sys

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
