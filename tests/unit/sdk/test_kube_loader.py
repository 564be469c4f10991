"""One kubeconfig loader for the executor and the schedule targets (no server needed:
loading does not connect)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from jupyter_flow.errors import ConfigError, MissingExtraError
from jupyter_flow.runtime.executors.kubernetes_client import KubeClient
from jupyter_flow.runtime.executors.kubernetes_job import KubernetesOptions
from jupyter_flow.schedule.kube_client import Objects, api_client

IN_A_POD = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def _kubeconfig(path: Path, namespace: str | None = None) -> Path:
    context: dict[str, str] = {"cluster": "c", "user": "u"}
    if namespace:
        context["namespace"] = namespace
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "ml", "context": context}],
                "current-context": "ml",
            }
        )
    )
    return path


def test_an_unreadable_kubeconfig_is_an_error_not_a_switch_to_in_cluster(tmp_path: Path) -> None:
    """Inside a pod, a broken kubeconfig used to send ``schedule create`` to the pod's own
    cluster; now both paths name the file."""
    broken = tmp_path / "kubeconfig"
    broken.write_text("clusters: [")
    env = {**IN_A_POD, "KUBECONFIG": str(broken)}
    with pytest.raises(ConfigError, match="cannot load the kubeconfig"):
        api_client({}, env)
    with pytest.raises(ConfigError, match="cannot load the kubeconfig"):
        KubeClient(KubernetesOptions(), env=env)


def test_both_read_the_same_keys_and_overrides(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "kubeconfig", namespace="ml-team")
    env = {"JUPYTER_FLOW_K8S_KUBECONFIG": str(path)}
    connected = api_client({"store_url": "s3://b/p"}, env)  # the target's own keys: ignored
    executor = KubeClient(KubernetesOptions.from_settings({}, env), env=env)
    assert connected.cluster.host == executor.host == "http://127.0.0.1:9"
    assert connected.cluster.namespace == executor.namespace == "ml-team"
    assert connected.api.retries == executor.api.retries == KubernetesOptions().request_retries
    assert api_client({"request_retries": 2, "kubeconfig": str(path)}, {}).api.retries == 2


def test_without_the_sdk_both_say_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as if it were not installed
    for make in (
        lambda: Objects(api_client({"kubeconfig": str(path)}, {})),
        lambda: KubeClient(KubernetesOptions(kubeconfig=str(path)), env={}),
    ):
        with pytest.raises(MissingExtraError) as caught:
            make()
        assert caught.value.hint == "pip install 'jupyter-flow[kubernetes]'"
