"""What a user sees when a Kubernetes task fails for reasons outside their code, and how
the executor copes with an API that throttles, errors, forbids, or drops watches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_flow.errors import ConfigError, RunCancelled, RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.executors.kubernetes_job import RUN_LABEL
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.observer import RunObserver
from tests.fakes.backends import kube_settings
from tests.fakes.k8s_api import FakeKubeAPI


def one_step(write_flow: Callable[..., Path], options: str = "", body: str = "return 1") -> Path:
    return write_flow(f"""
        import time
        from jupyter_flow import Flow

        flow = Flow("One")

        @flow.step(outputs=("x",){options})
        def work():
            {body}
    """)


def run(path: Path, kube: FakeKubeAPI, root: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return run_flow(load_flow(path), settings=kube_settings(kube, root), **kwargs)  # type: ignore[arg-type]


def run_objects(kube: FakeKubeAPI, run_id: str) -> list[str]:
    with kube.cluster.lock:
        jobs = [
            n
            for (_, n), j in kube.cluster.jobs.items()
            if j["metadata"]["labels"].get(RUN_LABEL) == run_id
        ]
        pods = [
            n
            for (_, n), p in kube.cluster.pods.items()
            if p.obj["metadata"]["labels"].get(RUN_LABEL) == run_id
        ]
    return jobs + pods


def test_oom_killed_names_the_limit_and_the_fix(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    kube.cluster.faults["work"] = "oom"
    with pytest.raises(RunFailed) as caught:
        run(one_step(write_flow, ', memory="512M"'), kube, root)
    text = str(caught.value)
    assert "out of memory" in text and "OOMKilled" in text and "512Mi" in text and "memory=" in text


def test_an_image_that_cannot_be_pulled_is_named_and_its_job_removed(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    image = "registry.example.com/team/does-not-exist:1.0"
    with pytest.raises(RunFailed) as caught:
        run(one_step(write_flow, f", image={image!r}"), kube, root)
    assert f"image {image!r} could not be pulled" in str(caught.value)
    run_id = str(caught.value).split("/")[1].split(" ")[0]
    assert run_objects(kube, run_id) == []


def test_no_node_with_a_gpu_is_reported_with_the_missing_resource(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    with pytest.raises(RunFailed) as caught:
        run(one_step(write_flow, ", gpu=1"), kube, root)
    text = str(caught.value)
    assert "no node could run the task" in text and "nvidia.com/gpu" in text and "gpu=1" in text


def test_an_evicted_pod_says_so(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    kube.cluster.faults["work"] = "evict"
    with pytest.raises(
        RunFailed, match="evicted from its node: The node was low on resource: memory"
    ):
        run(one_step(write_flow, body="time.sleep(30)"), kube, root)


def test_throttling_and_server_errors_are_retried(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    kube.fail_next("POST", r"/jobs$", 429, times=2)
    kube.fail_next("POST", r"/jobs$", 503, times=1)
    before = kube.calls[("POST", "jobs", "")]
    result = run(one_step(write_flow), kube, root)
    assert result.data.x == 1
    assert kube.calls[("POST", "jobs", "")] - before == 4


def test_forbidden_explains_the_rbac_permissions_needed(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    kube.fail_next(
        "POST",
        r"/jobs$",
        403,
        message='jobs.batch is forbidden: User "ds" cannot create resource "jobs"',
    )
    with pytest.raises(ConfigError) as caught:
        run(one_step(write_flow), kube, root)
    text = str(caught.value)
    assert "403 Forbidden" in text and 'cannot create resource "jobs"' in text
    assert "create, get, list, watch, delete" in text and "pods/log" in text


class _Disrupt(RunObserver):
    """Drops every watch and compacts the history while tasks run (a flaky network, etcd)."""

    def __init__(self, kube: FakeKubeAPI) -> None:
        self.kube = kube
        self.done = 0

    def task_started(self, spec: object) -> None:
        if self.done < 3:
            self.done += 1
            self.kube.cluster.compact()
            self.kube.drop_watches()


def test_dropped_watches_and_410_gone_lose_no_task(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        import time
        from jupyter_flow import Flow

        flow = Flow("Steady", parameters={"n": 4})

        @flow.step(outputs=("items",))
        def start(n):
            return list(range(n))

        @flow.step(foreach="i in items", outputs=("y",))
        def each(i):
            time.sleep(0.2)
            return i * 10
    """)
    lists_before = kube.calls[("GET", "jobs", "")]
    result = run(path, kube, root, observer=_Disrupt(kube))
    assert result.data.y == [0, 10, 20, 30]
    assert kube.calls[("GET", "jobs", "")] - lists_before >= 2  # relisted after 410 Gone


class _Interrupt(RunObserver):
    def __init__(self, kube: FakeKubeAPI) -> None:
        self.kube = kube

    def poll(self) -> None:
        with self.kube.cluster.lock:
            running = any(p.proc is not None for p in self.kube.cluster.pods.values())
        if running:
            raise KeyboardInterrupt


def test_cancel_deletes_the_runs_jobs_and_their_pods(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    path = one_step(write_flow, body="time.sleep(60)")
    with pytest.raises(RunCancelled) as caught:
        run(path, kube, root, observer=_Interrupt(kube))
    run_id = str(caught.value).split("/")[1].split(" ")[0]
    assert run_objects(kube, run_id) == []
