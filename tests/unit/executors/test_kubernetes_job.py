"""The Job manifest: golden files, schema-valid (kubernetes-validate --strict), and the
properties a platform engineer relies on."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from jupyter_flow.errors import ConfigError
from jupyter_flow.flow.resources import Resources
from jupyter_flow.runtime.bootstrap import SPEC_KEY_ENV
from jupyter_flow.runtime.executors.kubernetes_job import (
    KubernetesOptions,
    build_job,
    job_name,
    label_value,
    run_selector,
)
from jupyter_flow.runtime.taskspec import TaskSpec

from .golden import check_golden
from .specs import spec

FULL = KubernetesOptions.from_settings(
    {
        "namespace": "ml",
        "image": "ghcr.io/acme/flows:1.4",
        "service_account": "flow-runner",
        "node_selector": {"pool": "batch"},
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}
        ],
        "image_pull_secrets": ["ghcr"],
        "secrets": ["aws-credentials"],
        "env": {"JUPYTER_FLOW_S3_ENDPOINT_URL": "http://minio:9000"},
        "labels": {"team": "forecasting"},
        "ttl_seconds_after_finished": 3600,
        "disk": "20Gi",
        "run_as_user": 1000,
    },
    {},
)
CASES = {
    "defaults": (spec(), KubernetesOptions(namespace="default", image="python:3.11-slim")),
    "gpu_timeout_full_options": (
        spec(
            resources=Resources(cpu=0.5, memory_mb=1536, gpu=2),
            timeout=90.5,
            image="pytorch/pytorch:2.5",
        ),
        FULL,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_manifest_matches_golden_and_validates_strictly(case: str) -> None:
    task, options = CASES[case]
    manifest = build_job(task, options)
    check_golden(f"k8s/{case}.json", manifest)
    kubernetes_validate.validate(manifest, "1.33", strict=True)


def test_retries_are_ours_and_timeout_is_the_clusters() -> None:
    manifest = build_job(spec(timeout=90.2), KubernetesOptions())
    assert manifest["spec"]["backoffLimit"] == 0
    assert manifest["spec"]["activeDeadlineSeconds"] == 91
    assert manifest["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert "activeDeadlineSeconds" not in build_job(spec(), KubernetesOptions())["spec"]


def test_the_container_gets_the_specs_key_and_no_credentials() -> None:
    task = spec()
    manifest = build_job(task, FULL)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    key, data = task.to_blob()
    assert env[SPEC_KEY_ENV] == key and TaskSpec.from_json(data.decode()) == task
    assert container["command"][:2] == ["python", "-c"]  # the bootstrap's launcher
    assert "jupyter_flow.runtime.bootstrap" in container["command"][2]
    assert env["JUPYTER_FLOW_ROOT"] == "s3://bucket/flows"
    assert env["JUPYTER_FLOW_TASK_ID"] == task.task_id
    assert container["envFrom"] == [{"secretRef": {"name": "aws-credentials"}}]
    assert not any("SECRET" in name or "PASSWORD" in name for name in env)


def test_resources_become_requests_and_limits() -> None:
    manifest = build_job(
        spec(resources=Resources(cpu=0.25, memory_mb=512, gpu=1)), KubernetesOptions()
    )
    pod = manifest["spec"]["template"]["spec"]
    res = pod["containers"][0]["resources"]
    assert res["requests"] == {"cpu": "250m", "memory": "512Mi", "nvidia.com/gpu": "1"}
    assert res["limits"] == {"memory": "512Mi", "cpu": "250m", "nvidia.com/gpu": "1"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]


def test_names_are_valid_and_unique_per_attempt() -> None:
    long = spec(flow="A" * 80, step="an_extremely_long_step_name_that_goes_on_and_on")
    names = {job_name(long), job_name(spec(attempt=3)), job_name(spec(index=4)), job_name(spec())}
    assert len(names) == 4
    for name in names:
        assert len(name) <= 52 and name[0].isalpha() and name[-1].isalnum()
        assert name == name.lower() and "_" not in name
    assert label_value("_private_step_") == "private_step"
    assert (
        run_selector("20261125-101500-ab12cd34") == "jupyter-flow.io/run=20261125-101500-ab12cd34"
    )


def test_labels_let_kubectl_find_a_runs_jobs() -> None:
    labels = build_job(spec(), KubernetesOptions())["spec"]["template"]["metadata"]["labels"]
    assert labels["jupyter-flow.io/run"] == "20261125-101500-ab12cd34"
    assert labels["jupyter-flow.io/step"] == "fit_model"
    assert labels["jupyter-flow.io/index"] == "3"


def test_options_from_config_and_environment() -> None:
    options = KubernetesOptions.from_settings(
        {"namespace": "ml", "secrets": ["a"]}, {"JUPYTER_FLOW_K8S_NAMESPACE": "prod"}
    )
    assert options.namespace == "prod" and options.secrets == ("a",)
    with pytest.raises(ConfigError, match=r"unknown kubernetes option.*namspace"):
        KubernetesOptions.from_settings({"namspace": "ml"}, {})
    json.dumps(build_job(spec(), options))  # plain JSON all the way down


def test_a_gpu_step_gets_shared_memory_scratch_disk_and_the_pods_identity() -> None:
    task = spec(resources=Resources(cpu=4, memory_mb=8192, gpu=1))
    pod = build_job(task, FULL)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["requests"]["ephemeral-storage"] == "20Gi"
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    shm = {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}
    assert pod["volumes"] == [shm]
    downward = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]
                if "valueFrom" in e}  # fmt: skip
    assert downward == {
        "JUPYTER_FLOW_POD_NAME": "metadata.name",
        "JUPYTER_FLOW_NAMESPACE": "metadata.namespace",
        "JUPYTER_FLOW_NODE_NAME": "spec.nodeName",
    }
    # a CPU step has no /dev/shm volume; shm_size = "" turns it off for GPU steps too
    assert "volumes" not in build_job(spec(), FULL)["spec"]["template"]["spec"]
    off = KubernetesOptions.from_settings({"shm_size": ""}, {})
    assert "volumes" not in build_job(task, off)["spec"]["template"]["spec"]


def test_security_context_keeps_the_default_image_running_and_tightens_with_a_uid() -> None:
    """python:3.X-slim runs as root: runAsNonRoot by default would stop every pod."""
    pod = build_job(spec(), KubernetesOptions())["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["containers"][0]["securityContext"] == {"allowPrivilegeEscalation": False}
    pod = build_job(spec(), FULL)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1000
    assert pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_a_size_that_is_no_quantity_is_refused_naming_the_option() -> None:
    with pytest.raises(ConfigError, match=r"disk = '20 GB' is not a Kubernetes quantity"):
        KubernetesOptions.from_settings({"disk": "20 GB"}, {})
