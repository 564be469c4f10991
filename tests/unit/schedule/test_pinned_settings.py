"""Executor settings pinned at ``schedule create``: what a local run would use, carried to
the driver through the store, and refused with a located error when they cannot be."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from jupyter_flow.config import Settings
from jupyter_flow.errors import ConfigError
from jupyter_flow.runtime.cli_engine import _pinned_settings
from jupyter_flow.runtime.executors.kubernetes_job import KubernetesOptions, build_job
from jupyter_flow.schedule import settings_pin
from jupyter_flow.schedule.aws import AwsTarget
from jupyter_flow.schedule.cli import _pinned_line
from jupyter_flow.schedule.kubernetes import KubernetesTarget
from jupyter_flow.schedule.model import Schedule
from tests.unit.executors.specs import spec

K8S = """
[default.kubernetes]
namespace = "flows"
image = "ghcr.io/acme/flows:2"
store_url = "s3://acme-flows/prod"   # the schedule's own key
driver_cpu = "250m"                  # the schedule's own key
kubeconfig = "/home/ana/.kube/config"  # how this machine reaches the cluster
secrets = ["s3-creds"]
env = {JUPYTER_FLOW_S3_ENDPOINT_URL = "http://minio:9000"}
service_account = "flows-s3"
node_selector = {pool = "flows"}
tolerations = [{key = "dedicated", operator = "Equal", value = "flows"}]
"""


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str) -> Settings:
    (tmp_path / "jupyter_flow.toml").write_text(toml)
    monkeypatch.chdir(tmp_path)
    for name in ("JUPYTER_FLOW_K8S_IMAGE", "JUPYTER_FLOW_K8S_NAMESPACE", "JUPYTER_FLOW_ROOT"):
        monkeypatch.delenv(name, raising=False)
    return Settings.load(cwd=tmp_path, root=str(tmp_path / "store"))


def test_kubernetes_pins_what_a_local_run_would_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    settings = _settings(tmp_path, monkeypatch, K8S)
    monkeypatch.setenv("JUPYTER_FLOW_K8S_IMAGE", "ghcr.io/acme/flows:3")  # env wins, as locally
    schedule = KubernetesTarget(settings).pin_settings(golden_schedule)
    steps = schedule.settings["extra"]["kubernetes"]
    assert steps["image"] == "ghcr.io/acme/flows:3"
    assert steps["secrets"] == ["s3-creds"]
    assert steps["env"] == {"JUPYTER_FLOW_S3_ENDPOINT_URL": "http://minio:9000"}
    assert (steps["service_account"], steps["node_selector"]) == ("flows-s3", {"pool": "flows"})
    assert steps["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "flows"}]
    assert steps["namespace"] == "flows"
    # the schedule's own keys and this machine's connection are not the executor's
    assert not {"store_url", "driver_cpu", "kubeconfig", "context", "in_cluster"} & set(steps)
    assert schedule.settings_key == settings_pin.key_of(settings_pin.encode(schedule.settings))
    line = _pinned_line(schedule.settings, schedule.settings_key)  # schedule show/create
    assert line.startswith(f"kubernetes, pinned {schedule.settings_key[:12]} (image ghcr.io")
    assert "namespace flows; service account flows-s3; secrets s3-creds" in line


def test_the_driver_reads_exactly_the_pinned_settings_from_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    settings = _settings(tmp_path, monkeypatch, K8S)
    schedule = KubernetesTarget(settings).pin_settings(golden_schedule)
    settings_pin.upload(settings.root, schedule)
    (tmp_path / "jupyter_flow.toml").write_text("[default.kubernetes]\nimage = 'other:1'\n")
    args = argparse.Namespace(
        settings=schedule.settings_key, root=settings.root, executor="kubernetes", max_workers=None
    )
    got = _pinned_settings(args)
    assert got.executor == "kubernetes" and got.root == settings.root
    assert got.backend_options("kubernetes") == schedule.settings["extra"]["kubernetes"]

    with pytest.raises(ConfigError, match="contradicts the pinned settings"):
        _pinned_settings(argparse.Namespace(**{**vars(args), "executor": "batch"}))
    with pytest.raises(ConfigError, match="are not in the store") as caught:
        _pinned_settings(argparse.Namespace(**{**vars(args), "settings": "cd" * 32}))
    assert "schedule create --update" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("in_cluster = false", "[default.kubernetes] in_cluster = false cannot hold"),
        ('env = {PYTHONPATH = "/opt"}', "[default.kubernetes] env sets PYTHONPATH"),
        ('nodeselector = {pool = "x"}', "unknown kubernetes option(s): nodeselector"),
    ],
)
def test_a_setting_the_driver_cannot_carry_is_refused_where_it_is_set(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    golden_schedule: Schedule,
    extra: str,
    message: str,
) -> None:
    toml = '[default.kubernetes]\nnamespace = "flows"\n' + extra + "\n"
    settings = _settings(tmp_path, monkeypatch, toml)
    with pytest.raises(ConfigError) as caught:
        KubernetesTarget(settings).pin_settings(golden_schedule)
    assert message in str(caught.value)
    if "unknown" not in message:
        assert str(tmp_path / "jupyter_flow.toml") in str(caught.value)


def test_steps_in_another_namespace_than_the_cronjob_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    settings = _settings(tmp_path, monkeypatch, '[default.kubernetes]\nnamespace = "flows"\n')
    monkeypatch.setenv("JUPYTER_FLOW_K8S_NAMESPACE", "ml")
    with pytest.raises(ConfigError, match=r"namespace 'ml'.*Role are in 'flows'"):
        KubernetesTarget(settings).pin_settings(golden_schedule)


def test_batch_pins_image_role_and_env_with_the_aws_queue_as_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    toml = """
[default.aws]
scheduler_role_arn = "arn:aws:iam::1:role/s"
job_queue = "flows"
region = "eu-central-1"

[default.batch]
image = "acme/flows:2"
job_role_arn = "arn:aws:iam::1:role/steps"
env = {FLOW_STAGE = "prod"}
"""
    for name in ("JUPYTER_FLOW_BATCH_QUEUE", "JUPYTER_FLOW_BATCH_IMAGE"):
        monkeypatch.delenv(name, raising=False)
    settings = _settings(tmp_path, monkeypatch, toml)
    schedule = AwsTarget(settings).pin_settings(golden_schedule)
    steps = schedule.settings["extra"]["batch"]
    assert (steps["queue"], steps["region"], steps["image"]) == (
        "flows",
        "eu-central-1",
        "acme/flows:2",
    )
    assert steps["job_role_arn"] == "arn:aws:iam::1:role/steps"
    docs = AwsTarget(settings).render(schedule)
    definition = docs[0]["containerProperties"]
    assert (definition["image"], definition["jobRoleArn"]) == (
        "acme/flows:2",
        "arn:aws:iam::1:role/steps",
    )


def test_a_typo_in_the_aws_table_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    toml = '[default.aws]\nscheduler_role_arn = "r"\njob_defintion = "d"\n'
    toml += '[default.batch]\nqueue = "q"\n'
    settings = _settings(tmp_path, monkeypatch, toml)
    with pytest.raises(ConfigError, match=r"\[default.aws\] job_defintion: unknown aws"):
        AwsTarget(settings).pin_settings(golden_schedule)


def test_the_step_jobs_of_a_scheduled_run_carry_the_schedules_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden_schedule: Schedule
) -> None:
    """The driver builds its Jobs from the pinned settings: they say which schedule fired."""
    settings = _settings(tmp_path, monkeypatch, K8S)
    schedule = KubernetesTarget(settings).pin_settings(golden_schedule)
    pinned = Settings.from_pinned(schedule.settings, settings.root).backend_options("kubernetes")
    job = build_job(spec(), KubernetesOptions.from_settings(pinned, {}))
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["jupyter-flow.io/schedule"] == "shapes-nightly"
    assert labels["jupyter-flow.io/run"] == "20261125-101500-ab12cd34"
    assert labels["jupyter-flow.io/flow"] == "SweepFlow"
