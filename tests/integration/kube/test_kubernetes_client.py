"""The client side: kubeconfig contexts and namespaces, Secrets as the only way credentials
reach a task, pod logs streamed while the container runs, and a fake that answers with
objects the official client can deserialize."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from jupyter_flow.errors import ConfigError
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.executors.kubernetes_client import KubeClient
from jupyter_flow.runtime.executors.kubernetes_job import KubernetesOptions, build_job
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.taskspec import CodeRef, TaskSpec
from tests.fakes.backends import kube_settings
from tests.fakes.k8s_api import TOKEN, FakeKubeAPI

REPO = Path(__file__).resolve().parents[3]


def api_client(kube: FakeKubeAPI) -> k8s.ApiClient:
    return k8s_config.new_client_from_config(config_file=str(kube.kubeconfig), persist_config=False)


def test_context_and_its_namespace_come_from_the_kubeconfig(
    kube: FakeKubeAPI, tmp_path: Path
) -> None:
    config = json.loads(kube.kubeconfig.read_text())
    config["contexts"].append(
        {"name": "ml", "context": {"cluster": "fake", "user": "tester", "namespace": "ml"}}
    )
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    assert KubeClient(KubernetesOptions(kubeconfig=str(path))).namespace == "default"
    assert KubeClient(KubernetesOptions(kubeconfig=str(path), context="ml")).namespace == "ml"
    assert (
        KubeClient(KubernetesOptions(kubeconfig=str(path), context="ml", namespace="x")).namespace
        == "x"
    )
    with pytest.raises(ConfigError, match="context 'prod' does not exist") as caught:
        KubeClient(KubernetesOptions(kubeconfig=str(path), context="prod"))
    assert "fake, ml" in str(caught.value)
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        KubeClient(KubernetesOptions(kubeconfig=str(tmp_path / "missing")), env={})


def test_credentials_reach_the_task_only_through_a_secret(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    token = "s3cr3t-value"
    core = k8s.CoreV1Api(api_client(kube))
    core.create_namespaced_secret(
        "default", {"metadata": {"name": "flow-creds"}, "data": {"API_TOKEN": "czNjcjN0LXZhbHVl"}}
    )
    path = write_flow("""
        import os
        from jupyter_flow import Flow

        flow = Flow("UsesSecret")

        @flow.step(outputs=("seen",))
        def read():
            return os.environ.get("API_TOKEN")
    """)
    result = run_flow(load_flow(path), settings=kube_settings(kube, root, secrets=["flow-creds"]))
    assert result.data.seen == token
    with kube.cluster.lock:
        manifests = [
            j
            for j in kube.cluster.jobs.values()
            if j["metadata"]["labels"].get("jupyter-flow.io/flow") == "UsesSecret"
        ]
    assert manifests and all(token not in json.dumps(j) for j in manifests)


def test_pod_logs_stream_while_the_container_runs(kube: FakeKubeAPI, tmp_path: Path) -> None:
    spec = TaskSpec(
        "Logs", "20261125-120000-0000beef", "talk", 0, 1, str(tmp_path), CodeRef("", ""), (), ()
    )
    manifest = build_job(spec, KubernetesOptions(namespace="default"))
    script = (
        "import time\nfor i in range(3):\n    print(f'line {i}', flush=True)\n    time.sleep(0.4)"
    )
    manifest["spec"]["template"]["spec"]["containers"][0]["command"] = ["python", "-c", script]
    kube_client = KubeClient(KubernetesOptions(kubeconfig=str(kube.kubeconfig)))
    kube_client.create_job(manifest)
    name = manifest["metadata"]["name"]
    pod = None
    for _ in range(200):
        pods, _ = kube_client.list_pods(f"batch.kubernetes.io/job-name={name}")
        if pods and pods[0].phase == "Running":
            pod = pods[0].name
            break
        time.sleep(0.05)
    assert pod is not None
    arrivals = []
    for line in kube_client.follow_log(pod):
        arrivals.append((time.monotonic(), line))
    assert [text for _, text in arrivals] == ["line 0", "line 1", "line 2"]
    assert arrivals[-1][0] - arrivals[0][0] > 0.5  # streamed as written, not at the end
    assert kube_client.pod_log(pod, tail_lines=1) == "line 2\n"
    kube_client.close()


def test_the_fake_answers_with_objects_the_official_client_deserializes(
    kube: FakeKubeAPI, tmp_path: Path
) -> None:
    api = api_client(kube)
    batch, core = k8s.BatchV1Api(api), k8s.CoreV1Api(api)
    spec = TaskSpec(
        "Models", "20261125-120000-0000cafe", "s", 0, 1, str(tmp_path), CodeRef("", ""), (), ()
    )
    manifest = build_job(spec, KubernetesOptions(namespace="default"))
    manifest["spec"]["template"]["spec"]["containers"][0]["command"] = ["python", "-c", "pass"]
    created = batch.create_namespaced_job("default", manifest)
    assert isinstance(created, k8s.V1Job) and created.spec.backoff_limit == 0
    name = created.metadata.name
    for _ in range(200):
        job = batch.read_namespaced_job(name, "default")
        if job.status.succeeded:
            break
        time.sleep(0.05)
    assert isinstance(job, k8s.V1Job) and [c.type for c in job.status.conditions][-1] == "Complete"
    pods = core.list_namespaced_pod("default", label_selector=f"job-name={name}")
    assert isinstance(pods, k8s.V1PodList)
    state = pods.items[0].status.container_statuses[0].state.terminated
    assert state.exit_code == 0 and state.reason == "Completed"
    jobs = batch.list_namespaced_job("default", label_selector="jupyter-flow.io/flow=Models")
    assert isinstance(jobs, k8s.V1JobList) and len(jobs.items) == 1
    status = batch.delete_collection_namespaced_job(
        "default", label_selector="jupyter-flow.io/flow=Models"
    )
    assert isinstance(status, k8s.V1Status)


def test_a_bad_token_is_explained(kube: FakeKubeAPI, tmp_path: Path) -> None:
    config = json.loads(kube.kubeconfig.read_text().replace(TOKEN, "expired"))
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    kube_client = KubeClient(KubernetesOptions(kubeconfig=str(path)))
    with pytest.raises(ConfigError, match="did not accept our credentials"):
        kube_client.list_jobs("")


def test_run_on_kubernetes_from_the_command_line(
    kube: FakeKubeAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        from jupyter_flow import Flow

        flow = Flow("Cli", parameters={"xs": [1, 2, 3]})

        @flow.step(foreach="x in xs", outputs=("y",))
        def double(x):
            return 2 * x

        if __name__ == "__main__":
            flow.main()
    """)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "JUPYTER_FLOW_ROOT": root,
        "JUPYTER_FLOW_K8S_KUBECONFIG": str(kube.kubeconfig),
    }
    done = subprocess.run(
        [sys.executable, str(path), "run", "--on", "kubernetes"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=path.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "✓ double (3 tasks)" in done.stdout and "y = [2, 4, 6]" in done.stdout


def test_the_same_flow_gives_the_same_artifacts_as_local(
    kube: FakeKubeAPI,
    tmp_path: Path,
    write_flow: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_flow("""
        from jupyter_flow import Flow

        flow = Flow("Same", parameters={"words": ["a", "bb", "ccc"]})

        @flow.step(foreach="w in words", outputs=("n", "upper"))
        def measure(w):
            return len(w), w.upper()

        @flow.step(outputs=("report",))
        def report(n, upper, words):
            return {"total": sum(n), "pairs": list(zip(words, upper))}
    """)
    monkeypatch.setenv("JUPYTER_FLOW_K8S_KUBECONFIG", str(kube.kubeconfig))
    flow = load_flow(path)
    local = run_flow(flow, root=str(tmp_path / "local"), executor="local")
    remote = run_flow(flow, root=str(tmp_path / "kube"), executor="kubernetes")
    assert remote.record.executor == "kubernetes"
    for name in ("n", "upper", "report", "words"):
        assert getattr(remote.data, name) == getattr(local.data, name)
