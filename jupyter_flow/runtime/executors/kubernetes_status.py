"""What a Job or Pod's status means for a task attempt, in plain words (pure functions).

The client turns API objects into the small frozen views below; the executor asks this
module whether an attempt ended, is stuck (image pull, no node fits), and why it failed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...flow.resources import format_memory
from ...store.records import ErrorInfo
from ..taskspec import TaskSpec
from .kubernetes_job import TASK_ANNOTATION
from .start_failure import EXIT_MISSING, MISSING_WORDS

PULL_FATAL = frozenset({"InvalidImageName", "ErrImageNeverPull"})
PULL_RETRYING = frozenset({"ErrImagePull", "ImagePullBackOff"})
CONFIG_FATAL = frozenset({"CreateContainerConfigError", "CreateContainerError"})


@dataclass(frozen=True)
class JobView:
    name: str
    task_id: str
    state: str  # active | complete | failed | deleted
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class PodView:
    name: str
    job: str
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    image: str = ""
    reason: str = ""  # pod-level: Evicted, DeadlineExceeded, ...
    message: str = ""
    waiting: str = ""  # container waiting reason: ImagePullBackOff, ...
    waiting_message: str = ""
    terminated: str = ""  # container terminated reason: OOMKilled, Error, Completed
    exit_code: int | None = None
    unschedulable: str = ""  # the scheduler's message while no node fits
    deleted: bool = False


def job_view(raw: Mapping[str, Any], deleted: bool = False) -> JobView:
    meta = raw.get("metadata") or {}
    status = raw.get("status") or {}
    state, reason, message = "active", "", ""
    for cond in status.get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed"):
            state = "complete" if cond["type"] == "Complete" else "failed"
            reason, message = cond.get("reason") or "", cond.get("message") or ""
    if state == "active" and deleted:
        state = "deleted"
    annotations = meta.get("annotations") or {}
    return JobView(
        meta.get("name", ""), annotations.get(TASK_ANNOTATION, ""), state, reason, message
    )


def pod_view(raw: Mapping[str, Any], deleted: bool = False) -> PodView:
    meta = raw.get("metadata") or {}
    status = raw.get("status") or {}
    labels = meta.get("labels") or {}
    containers = (raw.get("spec") or {}).get("containers") or [{}]
    waiting: Mapping[str, Any] = {}
    terminated: Mapping[str, Any] = {}
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        waiting = state.get("waiting") or waiting
        terminated = state.get("terminated") or terminated
    unschedulable = next(
        (
            c.get("message") or "no node can run it"
            for c in status.get("conditions") or []
            if c.get("type") == "PodScheduled"
            and c.get("status") == "False"
            and c.get("reason") == "Unschedulable"
        ),
        "",
    )
    return PodView(
        name=meta.get("name", ""),
        job=labels.get("batch.kubernetes.io/job-name") or labels.get("job-name", ""),
        phase=status.get("phase") or "Unknown",
        image=containers[0].get("image", ""),
        reason=status.get("reason") or "",
        message=status.get("message") or "",
        waiting=waiting.get("reason") or "",
        waiting_message=waiting.get("message") or "",
        terminated=terminated.get("reason") or "",
        exit_code=terminated.get("exitCode"),
        unschedulable=unschedulable,
        deleted=deleted,
    )


def short_resources(message: str) -> str:
    """``"0/3 nodes are available: 3 Insufficient nvidia.com/gpu."`` -> ``"nvidia.com/gpu"``."""
    found = sorted(set(re.findall(r"Insufficient ([\w./-]+?)[,.]?(?:\s|$)", message)))
    return ", ".join(found)


def stuck(
    pod: PodView,
    spec: TaskSpec,
    waited: float,
    *,
    pull_timeout: float,
    unschedulable_timeout: float,
) -> ErrorInfo | None:
    """Why a pending pod will not start by itself, once it has waited long enough."""
    if pod.phase != "Pending":
        return None
    if pod.waiting in PULL_FATAL or (pod.waiting in PULL_RETRYING and waited >= pull_timeout):
        return ErrorInfo(
            "image-pull",
            f"the image {pod.image!r} could not be pulled ({pod.waiting}: {pod.waiting_message}); "
            "check its name and tag, and that the cluster may pull it "
            "(imagePullSecrets in [default.kubernetes] image_pull_secrets)",
            pod.waiting,
        )
    if pod.waiting in CONFIG_FATAL:
        return ErrorInfo(
            "infrastructure",
            f"the container could not be created ({pod.waiting}: {pod.waiting_message}); "
            "check that the Secrets named in [default.kubernetes] secrets exist in the namespace",
            pod.waiting,
        )
    if pod.unschedulable and waited >= unschedulable_timeout:
        wanted = short_resources(pod.unschedulable)
        asks = spec.resources.describe()
        what = f"not enough {wanted} on any node" if wanted else "no node matches"
        return ErrorInfo(
            "unschedulable",
            f"no node could run the task for {waited:.0f}s: {what} (it asks for {asks}). "
            f"The scheduler said: {pod.unschedulable} Lower the step's resources, or add "
            "nodes / fix node_selector and tolerations in [default.kubernetes]",
            "Unschedulable",
        )
    return None


def failure(job: JobView, pod: PodView | None, spec: TaskSpec) -> ErrorInfo:
    """Why a failed Job failed, for failures the task itself could not record."""
    if pod is not None and pod.terminated == "OOMKilled":
        limit = format_memory(spec.resources.memory_mb)
        return ErrorInfo(
            "out-of-memory",
            f"the task ran out of memory: Kubernetes killed it (OOMKilled) at its limit of "
            f"{limit}; "
            "ask for more with @flow.step(memory=...) or %%step --memory",
            "OOMKilled",
        )
    if job.reason == "DeadlineExceeded" or (pod is not None and pod.reason == "DeadlineExceeded"):
        limit = f"{spec.timeout:g}s" if spec.timeout is not None else "its deadline"
        return ErrorInfo(
            "timeout",
            f"the task ran longer than its timeout of {limit} (Kubernetes stopped the Job: "
            "DeadlineExceeded)",
            "DeadlineExceeded",
        )
    if pod is not None and pod.reason == "Evicted":
        return ErrorInfo(
            "evicted",
            "the pod was evicted from its node: "
            + (pod.message or "the node ran short of resources"),
            "Evicted",
        )
    if pod is not None and pod.exit_code == EXIT_MISSING:
        return ErrorInfo("infrastructure", MISSING_WORDS, "MissingDependency")
    if pod is not None and pod.exit_code is not None:
        return ErrorInfo(
            "worker-died",
            f"the container exited with code {pod.exit_code} before the task could record why "
            f"({pod.terminated or 'Error'})",
            pod.terminated or "Error",
        )
    detail = f"{job.reason}: {job.message}" if job.reason else "no reason given"
    return ErrorInfo("infrastructure", f"the Kubernetes Job {job.name} failed ({detail})")
