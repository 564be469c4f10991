"""Build the batch/v1 Job of one task attempt: a pure function of the spec and the options.

Nothing here talks to a cluster, so the manifest is golden-tested and schema-validated
offline. Retries are the driver's (``backoffLimit: 0``); the timeout is the cluster's
(``activeDeadlineSeconds``); credentials reach the pod only through Secret references.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..bootstrap import task_command, task_environment
from ..taskspec import TaskSpec
from .options import options_from
from .pod_spec import check_quantity, container_pieces, downward_env, pod_pieces
from .pod_spec import resources as pod_resources

LABEL_PREFIX = "jupyter-flow.io"
RUN_LABEL = f"{LABEL_PREFIX}/run"
SCHEDULE_LABEL = f"{LABEL_PREFIX}/schedule"  # on the steps of a scheduled run (pinned labels)
TASK_ANNOTATION = f"{LABEL_PREFIX}/task-id"
MANAGED_BY = {"app.kubernetes.io/managed-by": "jupyter-flow"}
CONTAINER = "task"
_ENV_OPTIONS = {
    "namespace": "JUPYTER_FLOW_K8S_NAMESPACE",
    "context": "JUPYTER_FLOW_K8S_CONTEXT",
    "image": "JUPYTER_FLOW_K8S_IMAGE",
    "kubeconfig": "JUPYTER_FLOW_K8S_KUBECONFIG",
    "service_account": "JUPYTER_FLOW_K8S_SERVICE_ACCOUNT",
}


def default_image() -> str:
    """The official Python image of the driver's minor version, so pickles round-trip."""
    return f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"


@dataclass(frozen=True)
class KubernetesOptions:
    """``[default.kubernetes]`` of the config file, with ``JUPYTER_FLOW_K8S_*`` overrides."""

    namespace: str | None = None  # None: the kubeconfig context's namespace, else "default"
    image: str = field(default_factory=default_image)
    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool | None = None  # None: in-cluster when no kubeconfig is found
    service_account: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    image_pull_secrets: tuple[str, ...] = ()
    image_pull_policy: str | None = None
    secrets: tuple[str, ...] = ()  # Secret names whose keys become env vars (credentials)
    env: Mapping[str, str] = field(default_factory=dict)  # plain, non-secret env vars
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    python: str = "python"
    python_version: str | None = None  # the image's Python, when its tag does not say it
    architecture: str = "amd64"  # the nodes' CPU (amd64, arm64): what packages= resolve for
    cpu_limit: bool = True  # limits.cpu = requests.cpu (Guaranteed QoS)
    ttl_seconds_after_finished: int = 600
    unschedulable_timeout: float = 300.0  # seconds a pod may wait for a node
    image_pull_timeout: float = 60.0  # seconds a pod may fail to pull before we give up
    max_in_flight: int = 1000
    request_retries: int = 5
    disk: str | None = None  # ephemeral-storage request, a quantity ("20Gi")
    shm_size: str = "1Gi"  # a GPU step's /dev/shm (in memory); "" for the runtime's 64 MiB
    run_as_user: int | None = None  # runAsNonRoot as this UID (the image must allow it)

    def __post_init__(self) -> None:
        check_quantity("disk", self.disk)
        check_quantity("shm_size", self.shm_size or None)

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any], env: Mapping[str, str]) -> KubernetesOptions:
        return options_from(
            cls,
            "kubernetes",
            raw,
            env,
            _ENV_OPTIONS,
            tuples=("tolerations", "image_pull_secrets", "secrets"),
            mappings=("node_selector", "env", "labels", "annotations"),
        )


def label_value(text: str) -> str:
    """A valid label value (<= 63 chars of [A-Za-z0-9_.-], alphanumeric at both ends)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned) or "x"


def job_name(spec: TaskSpec) -> str:
    """Unique per attempt, readable, and a valid DNS-1123 label (pods add a suffix)."""
    digest = hashlib.sha256(f"{spec.flow}/{spec.task_id}".encode()).hexdigest()[:8]
    stem = re.sub(r"[^a-z0-9-]+", "-", f"{spec.flow}-{spec.step}".lower()).strip("-")
    tail = f"-{spec.index}-{spec.attempt}-{digest}"
    return f"jf-{stem[: 49 - len(tail)].rstrip('-')}{tail}"


def task_labels(spec: TaskSpec) -> dict[str, str]:
    return {
        **MANAGED_BY,
        f"{LABEL_PREFIX}/flow": label_value(spec.flow),
        RUN_LABEL: label_value(spec.run_id),
        f"{LABEL_PREFIX}/step": label_value(spec.step),
        f"{LABEL_PREFIX}/index": str(spec.index),
        f"{LABEL_PREFIX}/attempt": str(spec.attempt),
    }


def run_selector(run_id: str) -> str:
    return f"{RUN_LABEL}={label_value(run_id)}"


def resources(spec: TaskSpec, options: KubernetesOptions) -> dict[str, dict[str, str]]:
    res = spec.resources
    return pod_resources(res.cpu, res.memory_mb, res.gpu, options)


def command(options: KubernetesOptions) -> list[str]:
    """The bootstrap's launcher: runs in any image with Python (jupyter_flow comes with the
    code package); the spec travels in the environment, keeping argv short."""
    return task_command(options.python)


def build_job(spec: TaskSpec, options: KubernetesOptions) -> dict[str, Any]:
    """The Job manifest of one attempt (plain JSON-able dict, keys in API order)."""
    labels = {**options.labels, **task_labels(spec)}
    annotations = {**options.annotations, TASK_ANNOTATION: spec.task_id}
    gpu = spec.resources.gpu
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image or options.image,
        "command": command(options),
        "env": [*task_environment(spec, options.env), *downward_env()],
        "resources": resources(spec, options),
        **container_pieces(options, gpu),
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        "containers": [container],
    }
    if options.service_account:
        pod_spec["serviceAccountName"] = options.service_account
    pod_spec.update(pod_pieces(options, gpu))
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": options.ttl_seconds_after_finished,
        "template": {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod_spec},
    }
    if spec.timeout is not None:
        job_spec["activeDeadlineSeconds"] = max(1, math.ceil(spec.timeout))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(spec),
            **({"namespace": options.namespace} if options.namespace else {}),
            "labels": labels,
            "annotations": annotations,
        },
        "spec": job_spec,
    }
