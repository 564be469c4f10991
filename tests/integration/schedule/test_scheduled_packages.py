"""A scheduled flow's ``packages=`` are resolved when the schedule is created (where the
index is reachable), so a CronJob fire needs no index: the wheel folder is gone before the
fire, and the driver and its step pods still get the pinned versions from the store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_flow.client import latest_run
from tests.fakes.k8s_api import FakeKubeAPI
from tests.fakes.wheels import write_wheel
from tests.integration.schedule.test_scheduled_fire_kubernetes import _fire, _schedule

FLOW = """
from jupyter_flow import Flow

flow = Flow("FireFlow", parameters={"items": [1, 2]})


@flow.step(foreach="item in items", outputs="seen", packages="jftiny")
def work(item):
    import jftiny

    return item, jftiny.VERSION


@flow.step(outputs="stages")
def join(seen):
    return sorted(seen)
"""


@pytest.fixture
def kube() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI(slots=8) as api_server:
        yield api_server


def test_a_fire_installs_the_packages_resolved_at_creation_without_an_index(
    project,
    fake_k8s,
    kube: FakeKubeAPI,
    s3_env,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    index = tmp_path / "index"
    index.mkdir()
    write_wheel(index, "jftiny", "3.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    cronjob, root = _schedule(project, fake_k8s, kube, s3_env, fail_item=0, flow=FLOW)
    assert "resolving the packages of step work" in capfd.readouterr().err
    shutil.rmtree(index)  # the pods' pip (and the driver's) now finds nothing

    log = _fire(kube, cronjob, tmp_path, "flow-runner-token")

    run = latest_run("FireFlow", root=root)
    assert run.status == "done", log
    assert run.data.stages == [(1, "3.0"), (2, "3.0")]
    assert "resolving the packages" not in log


def test_argo_resolves_for_the_image_its_pods_run(
    project, fake_k8s, root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[default.argo] image`` comes before the pinned Kubernetes one for Argo's pods: the
    packages are resolved for its Python, so the pods find them stored for their platform."""
    from jupyter_flow.runtime.environments import Environment
    from jupyter_flow.schedule import api
    from jupyter_flow.store import open_store

    index = tmp_path / "index"
    index.mkdir()
    write_wheel(index, "jftiny", "3.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    path = project(
        '[default.kubernetes]\nimage = "python:3.11-slim"\n'
        '[default.argo]\nimage = "python:3.12-slim"\nstore_url = "s3://acme-flows/prod"\n'
    )
    path.write_text(FLOW)
    api.create_schedule(path, "0 3 * * *", target="argo", root=root)

    store = open_store(root)
    (doc,) = store.list("environments/")
    assert Environment.from_json(store.get(doc) or b"").target.python == "3.12"
