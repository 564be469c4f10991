"""A join over 1000 foreach branches on the fake Kubernetes, whose kubelet refuses what Linux
refuses: one env or argv string over 131072 bytes fails the container with StartError (the
task spec of such a join, ~230 characters a branch, did before it moved to the store)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from tests.fakes.backends import kube_settings, local_settings
from tests.fakes.k8s_api import TOKEN, FakeKubeAPI

WIDE = """
    from jupyter_flow import Flow

    flow = Flow("Wide", parameters={"n": 1000})

    @flow.step(outputs=("xs",))
    def start(n):
        return list(range(n))

    @flow.step(foreach="x in xs", outputs=("y",), cpu=0.1, memory="64M")
    def square(x):
        return x * x

    @flow.step(outputs=("total",))
    def join(y):
        return sum(y), len(y)
"""
EXPECTED = (sum(i * i for i in range(1000)), 1000)


def test_a_join_over_1000_branches_runs_on_kubernetes(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    """The branches run locally (1000 pods take minutes here: the slow test below), then the
    run is resumed from the join, which runs as a pod reading all 1000 branches."""
    flow = load_flow(write_flow(WIDE))
    local = run_flow(flow, settings=local_settings(root))
    before = kube.calls[("POST", "jobs", "")]

    joined = run_flow(flow, settings=kube_settings(kube, root), resume=local.id, resume_step="join")

    assert joined.data.total == EXPECTED
    assert kube.calls[("POST", "jobs", "")] - before == 1  # the join, as a Kubernetes Job
    assert joined.record.executor == "kubernetes"


@pytest.mark.slow
def test_a_join_over_1000_branches_all_as_pods(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    """1001 pods, each a real task process: 2 to 3.5 minutes on a shared 2-core machine."""
    result = run_flow(load_flow(write_flow(WIDE)), settings=kube_settings(kube, root))
    assert result.data.total == EXPECTED
    assert len(result["square"].tasks) == 1000


def test_a_container_whose_env_linux_refuses_fails_to_start_as_a_kubelet_reports_it(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        from jupyter_flow import Flow

        flow = Flow("Big")

        @flow.step(outputs=("x",))
        def work():
            return 1
    """)
    settings = kube_settings(kube, root, env={"HUGE": "x" * 131072})
    with pytest.raises(RunFailed) as caught:
        run_flow(load_flow(path), settings=settings)
    text = str(caught.value)
    assert "exited with code 128" in text and "StartError" in text
    assert "argument list too long" in text  # the pod's log, as the runtime wrote it


def test_the_api_server_refuses_a_body_over_3_mib(kube: FakeKubeAPI) -> None:
    body = json.dumps({"metadata": {"name": "big", "annotations": {"a": "x" * (3 << 20)}}})
    request = urllib.request.Request(
        f"{kube.url}/apis/batch/v1/namespaces/default/jobs",
        data=body.encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 413
    assert json.loads(caught.value.read())["reason"] == "RequestEntityTooLarge"
