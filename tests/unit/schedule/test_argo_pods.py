"""Argo's step pods get what ``--on kubernetes`` Jobs get, from the settings pinned at
``schedule create``; what Argo cannot carry is refused there, naming where it is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from jupyter_flow.config import Settings
from jupyter_flow.errors import ConfigError
from jupyter_flow.schedule.argo import ArgoTarget
from jupyter_flow.schedule.model import Schedule

TOML = """
[default]
max_workers = 6

[default.argo]
namespace = "flows"
service_account_annotations = {"eks.amazonaws.com/role-arn" = "arn:aws:iam::1:role/steps"}

[default.kubernetes]
namespace = "flows"
image = "ghcr.io/acme/flows:2"
driver_cpu = "250m"                  # the CronJob target's own key: not the steps'
kubeconfig = "/home/ana/.kube/config"  # how this machine reaches the cluster
secrets = ["s3-creds"]
env = {JUPYTER_FLOW_S3_ENDPOINT_URL = "http://minio.storage:9000"}
node_selector = {pool = "flows"}
tolerations = [{key = "dedicated", operator = "Equal", value = "flows", effect = "NoSchedule"}]
image_pull_secrets = ["ghcr"]
"""
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str) -> Settings:
    (tmp_path / "jupyter_flow.toml").write_text(toml)
    monkeypatch.chdir(tmp_path)
    for name in ("JUPYTER_FLOW_K8S_IMAGE", "JUPYTER_FLOW_K8S_NAMESPACE", "JUPYTER_FLOW_ROOT"):
        monkeypatch.delenv(name, raising=False)
    return Settings.load(cwd=tmp_path, root="s3://acme-flows/prod")


def _templates(target: ArgoTarget, schedule: Schedule) -> dict[str, dict[str, Any]]:
    template = target.render(schedule)[-2]
    return {t["name"]: t for t in template["spec"]["templates"]}


def _as_pod(spec: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    """The pod Argo makes of a template (its containers, init containers and pod pieces),
    for Kubernetes' own schema."""
    mounts = template["container"]["volumeMounts"]
    init = [
        {**{k: v for k, v in c.items() if k != "mirrorVolumeMounts"}, "volumeMounts": mounts}
        for c in template["initContainers"]
    ]
    pod = {
        "initContainers": init,
        "containers": [{"name": "main", **template["container"]}],
        "volumes": [*spec["volumes"], *template.get("volumes", [])],
        "imagePullSecrets": spec.get("imagePullSecrets", []),
        "serviceAccountName": spec["serviceAccountName"],
    }
    for key in ("nodeSelector", "tolerations", "securityContext"):
        if key in template:
            pod[key] = template[key]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod}


def test_pinned_credentials_and_placement_reach_every_argo_pod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    target = ArgoTarget(_settings(tmp_path, monkeypatch, TOML))
    schedule = target.pin_settings(golden_schedule)
    docs = target.render(schedule)
    spec = docs[-2]["spec"]
    assert spec["parallelism"] == 6  # max_workers
    assert spec["imagePullSecrets"] == [{"name": "ghcr"}]
    assert spec["serviceAccountName"] == "jf-shapes-nightly"
    account = docs[0]
    assert account["kind"] == "ServiceAccount"
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/steps"
    }
    templates = _templates(target, schedule)
    endpoint = {"name": "JUPYTER_FLOW_S3_ENDPOINT_URL", "value": "http://minio.storage:9000"}
    for name in ("start", "extract", "plan", "train", "pick", "finish"):
        template = templates[name]
        # the code fetch reads the store as the task does
        for container in (template["initContainers"][0], template["container"]):
            assert container["envFrom"] == [{"secretRef": {"name": "s3-creds"}}], name
            assert endpoint in container["env"], name
        assert template["container"]["image"] == (
            "ghcr.io/acme/train:1" if name == "train" else "ghcr.io/acme/flows:2"
        )
        assert template["nodeSelector"] == {"pool": "flows"}, name
        assert template["tolerations"][0]["key"] == "dedicated", name
        assert (GPU_TOLERATION in template["tolerations"]) == (name == "train"), name
        kubernetes_validate.validate(_as_pod(spec, template), "1.33", strict=True)
    train = templates["train"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in train["container"]["volumeMounts"]
    assert train["volumes"] == [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}
    ]
    downward = [e["name"] for e in train["container"]["env"] if "valueFrom" in e]
    assert downward == ["JUPYTER_FLOW_POD_NAME", "JUPYTER_FLOW_NAMESPACE", "JUPYTER_FLOW_NODE_NAME"]
    assert train["metadata"]["labels"]["jupyter-flow/run"] == "{{workflow.name}}"
    assert train["metadata"]["labels"]["jupyter-flow.io/schedule"] == "shapes-nightly"  # as Jobs
    meta = docs[-2]["spec"]["workflowMetadata"]
    assert meta["labels"]["jupyter-flow/schedule"] == "shapes-nightly"
    assert meta["labelsFrom"] == {"jupyter-flow/run": {"expression": "workflow.name"}}
    assert docs[-2]["metadata"]["annotations"]["jupyter-flow/settings"] == schedule.settings_key


def test_the_jobs_namespace_alone_does_not_stop_an_argo_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    """Nothing it names lives in that namespace: the steps run in Argo's."""
    toml = '[default.kubernetes]\nnamespace = "flows"\nnode_selector = {pool = "x"}\n'
    target = ArgoTarget(_settings(tmp_path, monkeypatch, toml))
    schedule = target.pin_settings(golden_schedule)
    assert schedule.settings["extra"]["kubernetes"]["namespace"] == "argo"
    template = target.render(schedule)[-2]
    assert template["metadata"]["namespace"] == "argo"
    assert template["spec"]["templates"][1]["nodeSelector"] == {"pool": "x"}


def test_the_cronjobs_pull_secret_pulls_the_same_image_for_argo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    toml = '[default.kubernetes]\nimage = "ghcr.io/acme/flows:2"\nimage_pull_secret = "ghcr"\n'
    target = ArgoTarget(_settings(tmp_path, monkeypatch, toml))
    template = target.render(target.pin_settings(golden_schedule))[-2]
    assert template["spec"]["imagePullSecrets"] == [{"name": "ghcr"}]


def test_the_steps_service_account_is_used_and_bound_to_what_argo_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    """Without the Role, Argo's executor could not report the step's results."""
    toml = '[default.argo]\nnamespace = "flows"\n[default.kubernetes]\nservice_account = "s3"\n'
    target = ArgoTarget(_settings(tmp_path, monkeypatch, toml))
    docs = target.render(target.pin_settings(golden_schedule))
    assert [d["kind"] for d in docs] == ["Role", "RoleBinding", "WorkflowTemplate", "CronWorkflow"]
    assert docs[1]["subjects"] == [{"kind": "ServiceAccount", "name": "s3", "namespace": "flows"}]
    assert docs[2]["spec"]["serviceAccountName"] == "s3"
    # [default.argo] service_account is yours as it is: nothing is made or bound
    toml = (
        '[default.argo]\nservice_account = "mine"\n[default.kubernetes]\nservice_account = "s3"\n'
    )
    target = ArgoTarget(_settings(tmp_path, monkeypatch, toml))
    docs = target.render(target.pin_settings(golden_schedule))
    assert [d["kind"] for d in docs] == ["WorkflowTemplate", "CronWorkflow"]
    assert docs[0]["spec"]["serviceAccountName"] == "mine"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[default.kubernetes]\nmax_in_flight = 50\n",
            "[default.kubernetes] max_in_flight cannot hold for an Argo schedule",
        ),
        (
            "[default.kubernetes]\nunschedulable_timeout = 60\n",
            "[default.kubernetes] unschedulable_timeout cannot hold for an Argo schedule",
        ),
        (
            '[default.kubernetes]\nnamespace = "ml"\nsecrets = ["s3"]\n',
            "[default.kubernetes] secrets names objects of namespace 'ml'",
        ),
        (
            '[default.kubernetes]\nenv = {JUPYTER_FLOW_ROOT = "s3://x"}\n',
            "[default.kubernetes] env sets JUPYTER_FLOW_ROOT",
        ),
        (
            '[default.argo]\nservice_acount = "s3"\n',
            "[default.argo] service_acount: unknown argo schedule option(s)",
        ),
        (
            '[default.argo]\nservice_account = "s3"\n'
            'service_account_annotations = {"eks.amazonaws.com/role-arn" = "arn:x"}\n',
            "step pods run as the existing 's3'",
        ),
        (
            '[default.kubernetes]\ndisk = "20 GB"\n',
            "disk = '20 GB' is not a Kubernetes quantity",
        ),
    ],
)
def test_a_setting_argo_cannot_carry_is_refused_at_create_where_it_is_set(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    golden_schedule: Schedule,
    toml: str,
    message: str,
) -> None:
    target = ArgoTarget(_settings(tmp_path, monkeypatch, toml))
    with pytest.raises(ConfigError) as caught:
        target.pin_settings(golden_schedule)
    assert message in str(caught.value)
    if "[default." in message:
        assert str(tmp_path / "jupyter_flow.toml") in str(caught.value)
