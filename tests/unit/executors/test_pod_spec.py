"""The pod pieces Jobs and Argo share (``pod_spec``): one builder, so both engines agree."""

from __future__ import annotations

import kubernetes_validate

from jupyter_flow.runtime.executors import pod_spec
from jupyter_flow.runtime.executors.kubernetes_job import KubernetesOptions

GPU = pod_spec.GPU_TOLERATION


def test_a_gpu_step_tolerates_the_gpu_taint_once() -> None:
    own = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "a100", "effect": "NoSchedule"}
    assert pod_spec.tolerations(KubernetesOptions(), gpu=1) == [GPU]
    assert pod_spec.tolerations(KubernetesOptions(), gpu=0) == []
    # a GPU toleration of your own is kept as it is, not doubled
    assert pod_spec.tolerations(KubernetesOptions(tolerations=(own,)), gpu=2) == [own]


def test_resources_follow_cpu_limit_and_disk() -> None:
    loose = KubernetesOptions(cpu_limit=False, disk="5Gi")
    res = pod_spec.resources(0.25, 1536, 0, loose)
    assert res == {
        "requests": {"cpu": "250m", "memory": "1536Mi", "ephemeral-storage": "5Gi"},
        "limits": {"memory": "1536Mi"},
    }


def test_the_pieces_make_a_valid_pod_for_a_gpu_step_as_another_user() -> None:
    options = KubernetesOptions(
        secrets=("s3",),
        image_pull_secrets=("ghcr",),
        image_pull_policy="IfNotPresent",
        node_selector={"pool": "gpu"},
        run_as_user=1000,
        shm_size="2Gi",
    )
    container = {
        "name": "task",
        "image": "x:1",
        "env": pod_spec.downward_env(),
        "resources": pod_spec.resources(4, 8192, 1, options),
        **pod_spec.container_pieces(options, 1),
    }
    pod = {"containers": [container], **pod_spec.pod_pieces(options, 1)}
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod}
    kubernetes_validate.validate(manifest, "1.33", strict=True)
    assert pod["volumes"][0]["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["envFrom"] == [{"secretRef": {"name": "s3"}}]
    assert pod["imagePullSecrets"] == [{"name": "ghcr"}]
