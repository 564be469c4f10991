"""Kubernetes and Argo targets applied through the official client to a fake API server."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_flow.errors import ConfigError
from jupyter_flow.schedule import api
from jupyter_flow.store.blobs import LocalBlobs

K8S_TOML = """
[default.kubernetes]
namespace = "flows"
image = "ghcr.io/acme/flows:2"
store_url = "s3://acme-flows/prod"

[default.argo]
namespace = "argo"
store_url = "s3://acme-flows/prod"
"""


def test_kubernetes_schedule_lifecycle(project, fake_k8s, root: str) -> None:
    path = project(K8S_TOML)
    schedule = api.create_schedule(
        path, "0 3 * * *", target="kubernetes", timezone="Europe/Berlin", root=root
    )
    cronjobs = fake_k8s.kinds("cronjobs")
    assert [c["metadata"]["name"] for c in cronjobs] == ["jf-fan-flow"]
    spec = cronjobs[0]["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == (
        "0 3 * * *", "Europe/Berlin", "Forbid",
    )  # fmt: skip
    assert [o["metadata"]["name"] for o in fake_k8s.kinds("serviceaccounts")] == ["jf-fan-flow"]
    assert len(fake_k8s.kinds("roles")) == len(fake_k8s.kinds("rolebindings")) == 1
    # the pinned code is in the store under the key the pod will fetch
    assert not LocalBlobs(root).missing_blobs([schedule.flow.package_key])

    api.pause_schedule("fan-flow", root)
    assert fake_k8s.kinds("cronjobs")[0]["spec"]["suspend"] is True
    api.resume_schedule("fan-flow", root)
    assert fake_k8s.kinds("cronjobs")[0]["spec"]["suspend"] is False

    from jupyter_flow.schedule.kubernetes import KubernetesTarget

    target = api.target_for("kubernetes", root)
    assert isinstance(target, KubernetesTarget)
    assert target.list_names() == ["fan-flow"]

    job = api.run_now("fan-flow", root)
    jobs = fake_k8s.kinds("jobs")
    assert [j["metadata"]["name"] for j in jobs] == [job]
    assert jobs[0]["spec"]["template"]["spec"]["containers"][0]["command"][3] == "run"

    # an update re-applies in place (replace, not a second object)
    api.create_schedule(path, "0 4 * * *", target="kubernetes", root=root, update=True)
    assert [c["spec"]["schedule"] for c in fake_k8s.kinds("cronjobs")] == ["0 4 * * *"]

    api.delete_schedule("fan-flow", root)
    for plural in ("cronjobs", "serviceaccounts", "roles", "rolebindings"):
        assert fake_k8s.kinds(plural) == [], plural
    assert api.list_schedules(root) == []


def test_a_failed_apply_leaves_nothing_half_created(project, fake_k8s, root: str) -> None:
    path = project(K8S_TOML)
    fake_k8s.fail_next["cronjobs"] = 403
    with pytest.raises(ConfigError) as err:
        api.create_schedule(path, "0 3 * * *", target="kubernetes", root=root)
    assert "403" in str(err.value)
    for plural in ("cronjobs", "serviceaccounts", "roles", "rolebindings"):
        assert fake_k8s.kinds(plural) == [], plural
    assert api.list_schedules(root) == []


def test_unreachable_cluster_is_a_clear_error(
    project, root: str, tmp_path: Path, monkeypatch
) -> None:
    path = project(K8S_TOML)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigError, match="no Kubernetes cluster configured"):
        api.create_schedule(path, "0 3 * * *", target="kubernetes", root=root)
    assert api.list_schedules(root) == []


def test_argo_schedule_lifecycle(project, fake_k8s, root: str) -> None:
    path = project(K8S_TOML)
    api.create_schedule(path, "*/30 * * * *", target="argo", concurrency="replace", root=root)
    templates = fake_k8s.kinds("workflowtemplates")
    crons = fake_k8s.kinds("cronworkflows")
    assert [t["metadata"]["name"] for t in templates] == ["jf-fan-flow"]
    assert crons[0]["spec"]["schedules"] == ["*/30 * * * *"]
    assert crons[0]["spec"]["concurrencyPolicy"] == "Replace"
    dag = templates[0]["spec"]["templates"][0]["dag"]["tasks"]
    assert [t["name"] for t in dag] == ["start", "square", "add"]
    assert ("POST", "/apis/argoproj.io/v1alpha1/namespaces/argo/cronworkflows") in fake_k8s.requests

    api.pause_schedule("fan-flow", root)
    assert fake_k8s.kinds("cronworkflows")[0]["spec"]["suspend"] is True
    assert api.target_for("argo", root).list_names() == ["fan-flow"]
    name = api.run_now("fan-flow", root)
    workflows = fake_k8s.kinds("workflows")
    assert [w["metadata"]["name"] for w in workflows] == [name]
    assert workflows[0]["spec"]["workflowTemplateRef"] == {"name": "jf-fan-flow"}

    api.delete_schedule("fan-flow", root)
    assert fake_k8s.kinds("workflowtemplates") == fake_k8s.kinds("cronworkflows") == []
