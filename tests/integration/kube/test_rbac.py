"""The fake API's RBAC: a service account may do only what the rendered Role grants."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_flow.errors import ConfigError
from jupyter_flow.runtime.executors.kubernetes_client import KubeClient, NotFound
from jupyter_flow.runtime.executors.kubernetes_job import KubernetesOptions
from jupyter_flow.schedule import kubernetes_render
from jupyter_flow.schedule.model import FlowShape, Schedule
from tests.fakes.k8s_api import FakeKubeAPI
from tests.fakes.k8s_rbac import kubeconfig_as

SCHEDULE = Schedule("nightly", FlowShape("F", "/p/f.py", "f", "ab" * 32), "kubernetes", "0 3 * * *")


@pytest.fixture(autouse=True)
def _fresh_rbac(kube: FakeKubeAPI):  # type: ignore[no-untyped-def]
    kube.rbac.reset()
    yield
    kube.rbac.reset()


def _client(kube: FakeKubeAPI, tmp_path: Path, role_verbs: list[str] | None = None) -> KubeClient:
    docs = kubernetes_render.render_rbac(SCHEDULE, kubernetes_render.KubeOptions(namespace="flows"))
    if role_verbs is not None:
        docs[1]["rules"][0]["verbs"] = role_verbs
    kube.rbac.bind_rendered(docs, token="sa-token", account=("flows", "jf-nightly"))
    path = kubeconfig_as(tmp_path / "sa-kubeconfig", kube.url, "sa-token", "flows")
    return KubeClient(KubernetesOptions(kubeconfig=str(path), namespace="flows"))


def test_the_rendered_role_grants_every_call_of_the_executor(
    kube: FakeKubeAPI, tmp_path: Path
) -> None:
    client = _client(kube, tmp_path)
    client.list_jobs("a=b")
    client.list_pods("a=b")
    client.delete_jobs("a=b")  # cancel-all: deletecollection
    client.delete_job("gone")  # 404 is fine; not 403
    with pytest.raises(NotFound):  # pods/log get: allowed, the pod does not exist
        client.pod_log("no-such-pod")
    with pytest.raises(ConfigError, match="403 Forbidden"):
        client._json("list secrets", client.core.list_namespaced_secret, "flows")
    client.close()


def test_a_verb_the_role_lacks_answers_403_as_the_api_server_does(
    kube: FakeKubeAPI, tmp_path: Path
) -> None:
    client = _client(kube, tmp_path, ["create", "get", "list", "watch", "delete"])
    with pytest.raises(ConfigError) as caught:
        client.delete_jobs("a=b")
    text = str(caught.value)
    assert "403 Forbidden" in text
    assert 'cannot deletecollection resource "jobs" in API group "batch"' in text
    assert "system:serviceaccount:flows:jf-nightly" in text
    with pytest.raises(ConfigError, match="403 Forbidden"):  # another namespace
        KubeClient(
            KubernetesOptions(kubeconfig=client.options.kubeconfig, namespace="other")
        ).list_jobs("")
    client.close()
