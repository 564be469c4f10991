"""The pieces of a step's pod that Kubernetes Jobs and Argo Workflows both carry.

One home, so a step placed, credentialed and sized by ``[default.kubernetes]`` runs the same
whichever engine starts it: ``kubernetes_job.build_job`` puts the pieces in a Job's pod,
``schedule/argo_render.py`` in a WorkflowTemplate's templates (from the pinned settings).
Pure functions of the options and the step's resources: no client, nothing read.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from ...flow.resources import format_memory

if TYPE_CHECKING:
    from .kubernetes_job import KubernetesOptions

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
SHM_VOLUME = "dshm"
# the pod's identity, for logs and tools inside the task (the downward API)
DOWNWARD_ENV = {
    "JUPYTER_FLOW_POD_NAME": "metadata.name",
    "JUPYTER_FLOW_NAMESPACE": "metadata.namespace",
    "JUPYTER_FLOW_NODE_NAME": "spec.nodeName",
}
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


def check_quantity(key: str, value: str | None) -> None:
    """A size setting (``disk``, ``shm_size``) must be a Kubernetes quantity: the API
    server would refuse the Job (or Argo the pod) only once a step starts."""
    if value is not None and not _QUANTITY.match(str(value)):
        raise ConfigError(
            f"kubernetes option {key} = {value!r} is not a Kubernetes quantity",
            hint=f'write it like "20Gi" or "512Mi" ([default.kubernetes] {key})',
        )


def cpu_quantity(cpu: float) -> str:
    return f"{cpu:g}" if float(cpu).is_integer() else f"{math.ceil(cpu * 1000)}m"


def resources(
    cpu: float, memory_mb: int, gpu: int, options: KubernetesOptions
) -> dict[str, dict[str, str]]:
    """Requests and limits: memory limited as requested (no overcommit), CPU too when
    ``cpu_limit`` (Guaranteed QoS), GPUs requested = limited, scratch disk requested."""
    requests = {"cpu": cpu_quantity(cpu), "memory": format_memory(memory_mb)}
    limits = {"memory": requests["memory"]}
    if options.cpu_limit:
        limits["cpu"] = requests["cpu"]
    if options.disk:
        requests["ephemeral-storage"] = str(options.disk)
    if gpu:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(gpu)
    return {"requests": requests, "limits": limits}


def tolerations(options: KubernetesOptions, gpu: int) -> list[dict[str, Any]]:
    """The configured tolerations, plus the GPU taint's for a GPU step (EKS and GKE taint
    GPU node groups ``nvidia.com/gpu``: without it the pod stays Pending)."""
    found = [dict(t) for t in options.tolerations]
    if gpu and not any(t.get("key") == GPU_RESOURCE for t in found):
        found.append(dict(GPU_TOLERATION))
    return found


def downward_env() -> list[dict[str, Any]]:
    return [
        {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}
        for name, path in DOWNWARD_ENV.items()
    ]


def container_security(options: KubernetesOptions) -> dict[str, Any]:
    """No privilege escalation always; with ``run_as_user`` also no capabilities (what the
    ``restricted`` Pod Security level asks). The default keeps the image's user: the
    official python images run as root, which ``runAsNonRoot`` would refuse to start."""
    context: dict[str, Any] = {"allowPrivilegeEscalation": False}
    if options.run_as_user is not None:
        context["capabilities"] = {"drop": ["ALL"]}
    return context


def pod_security(options: KubernetesOptions) -> dict[str, Any]:
    context: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    if options.run_as_user is not None:
        uid = int(options.run_as_user)
        context.update(runAsNonRoot=True, runAsUser=uid, runAsGroup=uid, fsGroup=uid)
    return context


def shm_volume(options: KubernetesOptions, gpu: int) -> dict[str, Any] | None:
    """A GPU step's ``/dev/shm`` in memory (the runtime's default is 64 MiB, too small for
    PyTorch's DataLoader workers); ``shm_size = ""`` leaves it out."""
    if not gpu or not options.shm_size:
        return None
    return {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": options.shm_size}}


def container_pieces(options: KubernetesOptions, gpu: int) -> dict[str, Any]:
    """What goes into the step's container besides image, command, env and resources."""
    pieces: dict[str, Any] = {}
    if options.secrets:
        pieces["envFrom"] = [{"secretRef": {"name": s}} for s in options.secrets]
    if options.image_pull_policy:
        pieces["imagePullPolicy"] = options.image_pull_policy
    pieces["securityContext"] = container_security(options)
    if shm_volume(options, gpu):
        pieces["volumeMounts"] = [{"name": SHM_VOLUME, "mountPath": "/dev/shm"}]
    return pieces


def pod_pieces(options: KubernetesOptions, gpu: int) -> dict[str, Any]:
    """What goes into the step's pod (a Job's pod spec, an Argo template) for placement,
    pulling and isolation."""
    pieces: dict[str, Any] = {}
    if options.node_selector:
        pieces["nodeSelector"] = dict(options.node_selector)
    placed = tolerations(options, gpu)
    if placed:
        pieces["tolerations"] = placed
    if options.image_pull_secrets:
        pieces["imagePullSecrets"] = [{"name": s} for s in options.image_pull_secrets]
    pieces["securityContext"] = pod_security(options)
    shm = shm_volume(options, gpu)
    if shm:
        pieces["volumes"] = [shm]
    return pieces
