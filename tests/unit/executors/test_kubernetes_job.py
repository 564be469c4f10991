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
    env = {e["name"]: e["value"] for e in container["env"]}
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
