"""A CronJob fire played end to end: the schedule is created as a user would (settings in
jupyter_flow.toml, an S3 store), then the CronJob's pod is run by the fake Kubernetes API's
kubelet: its fetch-code init container, then the driver, authenticated as the pod's
service account with exactly the rendered Role (the fake enforces RBAC). Pods inherit
neither AWS credentials nor JUPYTER_FLOW_* variables, so the store is reachable only through
the pinned settings: the Secret (envFrom) and the S3 endpoint (env)."""

from __future__ import annotations

import base64
import copy
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.client import latest_run
from jupyter_flow.runtime.executors.kubernetes_client import KubeClient
from jupyter_flow.runtime.executors.kubernetes_job import KubernetesOptions
from jupyter_flow.schedule import api
from tests.fakes.k8s_api import FakeKubeAPI
from tests.fakes.k8s_rbac import kubeconfig_as

STEPS_FLOW = """
import os
import time
from jupyter_flow import Flow

flow = Flow("FireFlow", parameters={"items": [1, 2]})


@flow.step(foreach="item in items", outputs="seen")
def work(item):
    if item == int(os.environ.get("FAIL_ITEM", "0")):
        raise ValueError(f"bad item {item}")
    if os.environ.get("FAIL_ITEM"):
        time.sleep(60)  # siblings still running when the failure cancels the run
    return (item, os.environ["FLOW_STAGE"])


@flow.step(outputs="stages")
def join(seen):
    return sorted(seen)
"""

TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "flows", "effect": "NoSchedule"}


@pytest.fixture
def kube() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI(slots=8) as api_server:
        yield api_server


def _toml(endpoint: str, fail_item: int) -> str:
    return f"""
[default.kubernetes]
namespace = "flows"
image = "ghcr.io/acme/flows:2"
secrets = ["s3-creds"]
service_account = "flow-runner"
node_selector = {{pool = "flows"}}
tolerations = [{{key = "dedicated", operator = "Equal", value = "flows", effect = "NoSchedule"}}]
image_pull_secrets = ["ghcr"]

[default.kubernetes.env]
JUPYTER_FLOW_S3_ENDPOINT_URL = "{endpoint}"
FLOW_STAGE = "nightly"
FAIL_ITEM = "{fail_item}"
"""


def _localize(command: list[str], code: Path) -> list[str]:
    """The container's command on this machine: our Python, ``/code`` -> ``code``."""
    out = [sys.executable if part == "python" else part for part in command]
    return [part.replace("/code", str(code)) for part in out]


def _fire(kube: FakeKubeAPI, cronjob: dict[str, Any], tmp_path: Path, token: str) -> str:
    """Run the CronJob's pod: the init container, then the driver; return the driver's log."""
    admin = KubeClient(KubernetesOptions(kubeconfig=str(kube.kubeconfig), namespace="flows"))
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    code = tmp_path / "code"
    # the pod's service account token, as the kubelet mounts it (no file in the pod here)
    sa_config = kubeconfig_as(tmp_path / "sa-kubeconfig", kube.url, token, "flows")
    try:
        for name, container in (
            ("fire-fetch", template["spec"]["initContainers"][0]),
            ("fire-driver", template["spec"]["containers"][0]),
        ):
            local = copy.deepcopy(container)
            local["command"] = _localize(local["command"], code)
            local["env"] = [
                {**e, "value": e["value"].replace("/code", str(code))} for e in local["env"]
            ] + [{"name": "KUBECONFIG", "value": str(sa_config)}]
            local.pop("volumeMounts")
            spec = {k: v for k, v in template["spec"].items() if k != "initContainers"}
            spec.pop("volumes")
            job = {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": name, "namespace": "flows"},
                "spec": {"backoffLimit": 0, "template": {"spec": {**spec, "containers": [local]}}},
            }
            admin.create_job(job)
            assert _finished(kube, name, timeout=180), _log(kube, name)
    finally:
        admin.close()
    return _log(kube, "fire-driver")


def _finished(kube: FakeKubeAPI, name: str, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with kube.cluster.lock:
            job = kube.cluster.jobs.get(("flows", name))
            conditions = [c["type"] for c in (job or {}).get("status", {}).get("conditions", [])]
        if "Complete" in conditions or "Failed" in conditions:
            return name != "fire-fetch" or "Complete" in conditions
        time.sleep(0.1)
    return False


def _log(kube: FakeKubeAPI, job: str) -> str:
    with kube.cluster.lock:
        logs = [p.log for p in kube.cluster.pods.values() if p.job == job]
    return "\n".join(log.read_text() for log in logs)


def _schedule(
    project, fake_k8s, kube: FakeKubeAPI, s3_env, fail_item: int, flow: str = STEPS_FLOW
) -> tuple[dict, str]:
    """Create the schedule; put the S3 credentials in a Secret; bind the applied Role."""
    root = s3_env.fresh_url()
    path = project(_toml(s3_env.endpoint, fail_item))
    path.write_text(flow)
    api.create_schedule(path, "0 3 * * *", target="kubernetes", root=root)
    cronjob = fake_k8s.kinds("cronjobs")[0]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "flow-runner"  # the steps' account, Role bound to it
    rbac = fake_k8s.kinds("roles") + fake_k8s.kinds("rolebindings")
    kube.rbac.bind_rendered(rbac, token="flow-runner-token", account=("flows", "flow-runner"))
    creds = {k: v for k, v in s3_env.env.items() if k.startswith("AWS_")}
    data = {k: base64.b64encode(v.encode()).decode() for k, v in creds.items()}
    with kube.cluster.lock:
        kube.cluster.secrets[("flows", "s3-creds")] = {
            "metadata": {"name": "s3-creds"},
            "data": data,
        }
    return cronjob, root


def _step_jobs(kube: FakeKubeAPI) -> list[dict[str, Any]]:
    with kube.cluster.lock:
        jobs = list(kube.cluster.jobs.values())
    return [
        j for j in jobs if j["metadata"].get("labels", {}).get("jupyter-flow.io/flow") == "FireFlow"
    ]


def test_a_cronjob_fire_runs_steps_with_the_pinned_settings(
    project, fake_k8s, kube: FakeKubeAPI, s3_env, tmp_path: Path
) -> None:
    cronjob, root = _schedule(project, fake_k8s, kube, s3_env, fail_item=0)
    log = _fire(kube, cronjob, tmp_path, "flow-runner-token")
    assert kube.rbac.denied == [], kube.rbac.denied
    assert "Results of FireFlow/" in log, log
    run = latest_run("FireFlow", root=root)
    assert run.status == "done", log
    assert run.data.stages == [(1, "nightly"), (2, "nightly")]
    jobs = _step_jobs(kube)
    assert len(jobs) == 3  # two work tasks and the join, as Jobs of the fake cluster
    for job in jobs:
        pod = job["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert pod["serviceAccountName"] == "flow-runner"
        assert pod["nodeSelector"] == {"pool": "flows"}
        assert pod["tolerations"] == [TOLERATION]
        assert pod["imagePullSecrets"] == [{"name": "ghcr"}]
        assert container["image"] == "ghcr.io/acme/flows:2"
        assert container["envFrom"] == [{"secretRef": {"name": "s3-creds"}}]
        assert {"name": "FLOW_STAGE", "value": "nightly"} in container["env"]


def test_a_failing_step_cancels_its_siblings_under_the_rendered_role(
    project, fake_k8s, kube: FakeKubeAPI, s3_env, tmp_path: Path
) -> None:
    cronjob, root = _schedule(project, fake_k8s, kube, s3_env, fail_item=2)
    started = time.monotonic()
    log = _fire(kube, cronjob, tmp_path, "flow-runner-token")
    assert time.monotonic() - started < 55, "siblings were waited for, not cancelled"
    assert kube.rbac.denied == [], kube.rbac.denied  # deletecollection is granted
    assert "403" not in log
    assert "bad item 2" in log  # the user's error, not the API's
    run = latest_run("FireFlow", root=root)
    assert run.status == "failed"
    # cancel-all deleted the sleeping siblings' Jobs (none left running)
    with kube.cluster.lock:
        alive = [p.job for p in kube.cluster.pods.values() if p.proc and p.proc.poll() is None]
    assert not [j for j in alive if j.startswith("jf-fireflow")], alive
    assert ("DELETE", "jobs", "") in kube.calls  # the collection delete, not one by one
