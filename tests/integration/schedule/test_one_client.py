"""``schedule create`` reaches the cluster and AWS as ``run --on kubernetes|batch`` does:
one loader of the kubeconfig (``kubeconfig``, ``context``, ``in_cluster``, the
``JUPYTER_FLOW_K8S_*`` overrides), one retry policy, one Batch endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_flow.errors import ConfigError
from jupyter_flow.runtime.executors.kubernetes_client import KubeClient
from jupyter_flow.runtime.executors.kubernetes_job import KubernetesOptions
from jupyter_flow.schedule import api
from tests.fakes.batch_api import FakeBatchAPI

K8S_TOML = """
[default.kubernetes]
namespace = "flows"
store_url = "s3://acme-flows/prod"
"""


def test_a_429_during_schedule_apply_is_retried(project, fake_k8s, root: str) -> None:
    """The API server sheds load with 429 (priority and fairness): the executor retries it,
    and now so does the schedule's apply instead of failing the create."""
    path = project(K8S_TOML)
    fake_k8s.fail_next["cronjobs"] = 429
    api.create_schedule(path, "0 3 * * *", target="kubernetes", root=root)
    assert [c["metadata"]["name"] for c in fake_k8s.kinds("cronjobs")] == ["jf-fan-flow"]
    assert [s.name for s in api.list_schedules(root)] == ["fan-flow"]


@pytest.mark.parametrize(
    ("target", "plural"), [("kubernetes", "cronjobs"), ("argo", "cronworkflows")]
)
def test_listing_the_clusters_schedules_retries_a_429_too(
    project, fake_k8s, root: str, target: str, plural: str
) -> None:
    path = project(K8S_TOML + '[default.argo]\nstore_url = "s3://acme-flows/prod"\n')
    api.create_schedule(path, "0 3 * * *", target=target, root=root)
    fake_k8s.fail_list[plural] = 429
    assert api.target_for(target, root).list_names() == ["fan-flow"]
    assert plural not in fake_k8s.fail_list  # the 429 was answered, and retried


def _two_contexts(fake_k8s, tmp_path: Path) -> Path:
    """A kubeconfig whose current context is a cluster that is not there."""
    config = json.loads(fake_k8s.kubeconfig(tmp_path / "one").read_text())
    config["clusters"].append({"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}})
    config["contexts"].append({"name": "gone", "context": {"cluster": "gone", "user": "fake"}})
    config["current-context"] = "gone"
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    return path


def test_the_context_the_executor_uses_is_the_one_schedules_are_applied_to(
    project, fake_k8s, root: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(_two_contexts(fake_k8s, tmp_path)))
    monkeypatch.setenv("JUPYTER_FLOW_K8S_CONTEXT", "fake")
    path = project(K8S_TOML)
    options = KubernetesOptions.from_settings({}, {"JUPYTER_FLOW_K8S_CONTEXT": "fake"})
    assert KubeClient(options).host == fake_k8s.url  # what `run --on kubernetes` talks to
    api.create_schedule(path, "0 3 * * *", target="kubernetes", root=root)
    assert [c["metadata"]["name"] for c in fake_k8s.kinds("cronjobs")] == ["jf-fan-flow"]


def test_in_cluster_true_never_applies_to_the_kubeconfig_cluster(
    project, fake_k8s, root: str, monkeypatch
) -> None:
    """``in_cluster = true`` means the pod's service account, for the executor and the
    schedule alike: a kubeconfig on the machine (here: the fake) is not used instead."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    path = project(K8S_TOML + "in_cluster = true\n")
    with pytest.raises(ConfigError, match="in-cluster"):
        api.create_schedule(path, "0 3 * * *", target="kubernetes", root=root)
    assert fake_k8s.kinds("cronjobs") == fake_k8s.kinds("serviceaccounts") == []
    assert api.list_schedules(root) == []


def test_a_missing_context_is_named_not_replaced_by_the_in_cluster_config(
    project, fake_k8s, root: str
) -> None:
    path = project(K8S_TOML + 'context = "prod"\n')
    with pytest.raises(ConfigError, match="context 'prod' does not exist") as caught:
        api.create_schedule(path, "0 3 * * *", target="kubernetes", root=root)
    assert "contexts in" in str(caught.value) and "fake" in str(caught.value)
    assert api.list_schedules(root) == []


# -- AWS -------------------------------------------------------------------------------------


@pytest.fixture
def batch() -> Iterator[FakeBatchAPI]:
    with FakeBatchAPI(slots=1) as server:
        yield server


@pytest.fixture
def aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_run_now_submits_the_driver_where_its_definition_was_registered(
    project, batch: FakeBatchAPI, moto_server, aws_keys, root: str
) -> None:
    """EventBridge on one endpoint, Batch on another: ``run-now`` used to send SubmitJob to
    the Scheduler's endpoint, where the driver's job definition does not exist."""
    path = project(f"""
[default.aws]
scheduler_role_arn = "arn:aws:iam::123456789012:role/flows-scheduler"
region = "us-east-1"
endpoint_url = "{moto_server.endpoint}"
store_url = "s3://acme-flows/prod"

[default.batch]
queue = "flows"
region = "us-east-1"
endpoint_url = "{batch.url}"
""")
    api.create_schedule(path, "0 3 * * *", target="aws", root=root)
    assert batch.definitions, "the driver's definition is registered on the Batch endpoint"
    job_id = api.run_now("fan-flow", root)
    assert job_id in batch.jobs
    assert batch.jobs[job_id].doc["jobQueue"] == "flows"


def test_without_a_namespace_setting_the_cronjob_goes_where_run_on_kubernetes_goes(
    project, fake_k8s, root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The context's namespace holds the steps' Secrets: a schedule that put its CronJob
    and steps in ``default`` instead would fail at its first fire, not at create."""
    config = json.loads(fake_k8s.kubeconfig(tmp_path / "ml").read_text())
    config["contexts"][0]["context"]["namespace"] = "ml"
    (tmp_path / "ml").write_text(json.dumps(config))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "ml"))
    path = project('[default.kubernetes]\nstore_url = "s3://acme-flows/prod"\nsecrets = ["s3"]\n')

    schedule = api.create_schedule(path, "0 3 * * *", target="kubernetes", root=root)

    (cronjob,) = fake_k8s.kinds("cronjobs")
    assert cronjob["metadata"]["namespace"] == "ml"
    assert schedule.settings["extra"]["kubernetes"]["namespace"] == "ml"
    executor = KubeClient(KubernetesOptions.from_settings({}, {"KUBECONFIG": str(tmp_path / "ml")}))
    try:
        assert executor.namespace == "ml"  # where a local run --on kubernetes puts its Jobs
    finally:
        executor.close()
