"""A step's ``packages=`` on the fake Kubernetes: resolved once by the driver (from a local
wheel folder standing in for PyPI), stored in the store with its lock, and installed by
every pod with no index at all (the pods' pip sees an empty folder: no egress)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.environments import Environment
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.store import open_store
from tests.fakes.backends import kube_settings
from tests.fakes.k8s_api import FakeKubeAPI
from tests.fakes.wheels import write_wheel

FLOW = """
    from jupyter_flow import Flow

    flow = Flow("Pkgs")

    @flow.step(outputs=("items",))
    def start():
        return [1, 2, 3]

    @flow.step(foreach="item in items", outputs=("y",), packages="jftiny")
    def each(item):
        import subprocess, sys
        import jftiny, jfdep

        child = subprocess.run(
            [sys.executable, "-c", "import jftiny; print(jftiny.VERSION)"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        return item, jftiny.VERSION, jfdep.VERSION, child

    @flow.step(outputs=("ys",))
    def join(y):
        return y
"""


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The driver's package index: a folder of wheels (jftiny 1.1 needs jfdep)."""
    folder = tmp_path / "index"
    folder.mkdir()
    write_wheel(folder, "jftiny", "1.0", requires=("jfdep",))
    write_wheel(folder, "jftiny", "1.1", requires=("jfdep>=2",))
    write_wheel(folder, "jfdep", "2.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def offline_pods(kube: FakeKubeAPI, root: str, tmp_path: Path, **options: object):  # type: ignore[no-untyped-def]
    """Pods whose pip has no index and an empty wheel folder, sharing one node cache."""
    (tmp_path / "empty").mkdir(exist_ok=True)
    env = {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(tmp_path / "empty"),
        "JUPYTER_FLOW_CACHE": str(tmp_path / "node-cache"),
    }
    return kube_settings(kube, root, env=env, **options)


def test_a_steps_packages_are_resolved_once_and_installed_offline_in_every_pod(
    kube: FakeKubeAPI,
    root: str,
    index: Path,
    write_flow: Callable[..., Path],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    flow = load_flow(write_flow(FLOW))
    result = run_flow(flow, settings=offline_pods(kube, root, tmp_path))

    assert result.data.ys == [(i, "1.1", "2.0", "1.1") for i in (1, 2, 3)]
    assert capfd.readouterr().err.count("resolving the packages of step each") == 1
    store = open_store(root)
    (doc,) = store.list("environments/")
    env = Environment.from_json(store.get(doc) or b"")
    assert env.lock == ("jfdep==2.0", "jftiny==1.1")
    assert env.requirements == ("jftiny",)
    # one install on the node, shared by the three pods
    assert len(list((tmp_path / "node-cache" / "environments").iterdir())) == 1

    # a newer release does not change the next run: the set is locked until it changes
    write_wheel(index, "jftiny", "1.2", requires=("jfdep>=2",))
    again = run_flow(flow, settings=offline_pods(kube, root, tmp_path))
    assert [y[1] for y in again.data.ys] == ["1.1"] * 3
    assert "resolving the packages" not in capfd.readouterr().err


def test_packages_resolved_for_another_cpu_are_refused_by_the_pod_in_words(
    kube: FakeKubeAPI,
    root: str,
    index: Path,
    write_flow: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """Resolved for arm64 (``pip download --platform``: pure wheels fit any CPU), run on
    this amd64 host: the pod says what differs and which setting to fix."""
    flow = load_flow(write_flow(FLOW))
    with pytest.raises(RunFailed) as caught:
        run_flow(flow, settings=offline_pods(kube, root, tmp_path, architecture="arm64"))

    message = str(caught.value)
    assert re.search(r"step 'each\[\d\]' failed: its packages were resolved for Python", message)
    assert "on linux/arm64, but its container runs" in message
    assert "architecture = 'amd64'" in message


def test_a_package_that_does_not_exist_stops_the_run_naming_the_step(
    kube: FakeKubeAPI,
    root: str,
    index: Path,
    write_flow: Callable[..., Path],
    tmp_path: Path,
) -> None:
    flow = load_flow(write_flow(FLOW.replace('packages="jftiny"', 'packages="jf-nowhere==9"')))
    with pytest.raises(Exception) as caught:
        run_flow(flow, settings=offline_pods(kube, root, tmp_path))

    message = str(caught.value)
    assert "step each: its packages (jf-nowhere==9) could not be resolved for Python" in message
    assert "jf-nowhere" in json.dumps(getattr(caught.value, "hint", "") or message)
    assert kube.calls[("POST", "jobs", "")] >= 1  # start ran; no pod of each was created
