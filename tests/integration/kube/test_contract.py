"""The Kubernetes contract: the same tests against the fake API server and, when
``JUPYTER_FLOW_TEST_KUBECONFIG`` is set, against a real cluster (see docs/kubernetes.md for
running it with kind). Against a real cluster the pods must reach the store, so it also needs
``JUPYTER_FLOW_TEST_STORE`` (an ``s3://bucket/prefix`` the pods can read and write), an
image with Python and boto3 (``JUPYTER_FLOW_TEST_IMAGE``), and optionally a Secret with the
store's credentials (``JUPYTER_FLOW_TEST_SECRET``) and the S3 endpoint as pods see it
(``JUPYTER_FLOW_TEST_S3_ENDPOINT``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.config import Settings
from jupyter_flow.errors import RunCancelled, RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.executors.kubernetes_client import KubeClient
from jupyter_flow.runtime.executors.kubernetes_job import KubernetesOptions, run_selector
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.observer import RunObserver
from tests.fakes.backends import kube_settings
from tests.fakes.k8s_api import FakeKubeAPI

REAL = os.environ.get("JUPYTER_FLOW_TEST_KUBECONFIG")


@dataclass
class Cluster:
    name: str
    settings: Callable[[str], Settings]
    options: KubernetesOptions
    fake: FakeKubeAPI | None = None

    def oom(self, step: str) -> None:
        if self.fake is not None:
            self.fake.cluster.faults[step] = "oom"  # a real cluster kills the allocation itself


def _real_settings(root: str) -> Settings:
    store = os.environ.get("JUPYTER_FLOW_TEST_STORE", "")
    options: dict[str, Any] = {
        "kubeconfig": REAL,
        "image": os.environ.get("JUPYTER_FLOW_TEST_IMAGE", "python:3.11-slim"),
        "unschedulable_timeout": 120,
    }
    if os.environ.get("JUPYTER_FLOW_TEST_SECRET"):
        options["secrets"] = [os.environ["JUPYTER_FLOW_TEST_SECRET"]]
    if os.environ.get("JUPYTER_FLOW_TEST_S3_ENDPOINT"):
        options["env"] = {
            "JUPYTER_FLOW_S3_ENDPOINT_URL": os.environ["JUPYTER_FLOW_TEST_S3_ENDPOINT"]
        }
    url = f"{store.rstrip('/')}/contract-{secrets.token_hex(4)}"
    return Settings(
        root=url, executor="kubernetes", retry_backoff=0.05, extra={"kubernetes": options}
    )


@pytest.fixture(
    params=[
        "fake",
        pytest.param(
            "real",
            marks=[
                pytest.mark.cluster,
                pytest.mark.skipif(
                    not REAL, reason="set JUPYTER_FLOW_TEST_KUBECONFIG to run against a cluster"
                ),
            ],
        ),
    ]
)
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    if request.param == "real":
        assert REAL is not None
        yield Cluster("real", _real_settings, KubernetesOptions(kubeconfig=REAL))
        return
    kube: FakeKubeAPI = request.getfixturevalue("kube")
    yield Cluster(
        "fake",
        lambda root: kube_settings(kube, root),
        KubernetesOptions(kubeconfig=str(kube.kubeconfig)),
        kube,
    )


def run(cluster: Cluster, root: str, path: Path, **kwargs: Any) -> Any:
    return run_flow(load_flow(path), settings=cluster.settings(root), **kwargs)


def test_a_foreach_flow_gives_its_artifacts(
    cluster: Cluster, root: str, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        from jupyter_flow import Flow

        flow = Flow("Contract", parameters={"words": ["kind", "of", "cluster"]})

        @flow.step(foreach="w in words", outputs=("n",), cpu=0.1, memory="128M")
        def count(w):
            print("counting", w)
            return len(w)

        @flow.step(outputs=("total",), cpu=0.1, memory="128M")
        def total(n):
            return sum(n)
    """)
    result = run(cluster, root, path)
    assert result.data.n == [4, 2, 7] and result.data.total == 13
    assert "counting kind" in result["count"].tasks[0].stdout


def test_failures_read_the_same(
    cluster: Cluster, root: str, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        import time
        from jupyter_flow import Flow

        flow = Flow("ContractFail")

        @flow.step(timeout=2, cpu=0.1, memory="128M")
        def slow():
            time.sleep(120)
    """)
    with pytest.raises(RunFailed, match="timeout of 2s"):
        run(cluster, root, path)


def test_out_of_memory_is_named(
    cluster: Cluster, root: str, write_flow: Callable[..., Path]
) -> None:
    cluster.oom("hog")
    path = write_flow("""
        from jupyter_flow import Flow

        flow = Flow("ContractOom")

        @flow.step(cpu=0.1, memory="64M")
        def hog():
            blocks = [bytearray(32 << 20) for _ in range(16)]
            return None if blocks else None
    """)
    with pytest.raises(RunFailed, match=r"OOMKilled.*64Mi"):
        run(cluster, root, path)


class _Interrupt(RunObserver):
    def __init__(self) -> None:
        self.polls = 0

    def poll(self) -> None:
        self.polls += 1
        if self.polls > 6:  # about three seconds in: the pod has been created
            raise KeyboardInterrupt


def test_cancel_leaves_no_job_behind(
    cluster: Cluster, root: str, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        import time
        from jupyter_flow import Flow

        flow = Flow("ContractCancel")

        @flow.step(cpu=0.1, memory="128M")
        def wait():
            time.sleep(300)
    """)
    with pytest.raises(RunCancelled) as caught:
        run(cluster, root, path, observer=_Interrupt())
    run_id = str(caught.value).split("/")[1].split(" ")[0]
    jobs, _ = KubeClient(cluster.options).list_jobs(run_selector(run_id))
    assert jobs == []
