"""Pod and Job states, as the API reports them, become failures in plain words."""

from __future__ import annotations

from typing import Any

from jupyter_flow.flow.resources import Resources
from jupyter_flow.runtime.executors.kubernetes_status import (
    failure,
    job_view,
    pod_view,
    short_resources,
    stuck,
)

from .specs import spec

LIMITS = {"pull_timeout": 30.0, "unschedulable_timeout": 300.0}


def pod(status: dict[str, Any], image: str = "python:3.11-slim") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "jf-x-0-1-abc-k2x9q",
            "labels": {"batch.kubernetes.io/job-name": "jf-x-0-1-abc"},
        },
        "spec": {"containers": [{"name": "task", "image": image}]},
        "status": status,
    }


def terminated(container_reason: str, code: int, **pod_status: Any) -> dict[str, Any]:
    state = {"terminated": {"reason": container_reason, "exitCode": code}}
    return pod({"phase": "Failed", **pod_status, "containerStatuses": [{"state": state}]})


def failed_job(reason: str = "BackoffLimitExceeded") -> dict[str, Any]:
    conditions = [{"type": "Failed", "status": "True", "reason": reason, "message": "m"}]
    return {"metadata": {"name": "jf-x-0-1-abc"}, "status": {"conditions": conditions}}


def test_job_states() -> None:
    done = {
        "metadata": {"name": "j", "annotations": {"jupyter-flow.io/task-id": "r/s/0/1"}},
        "status": {"conditions": [{"type": "Complete", "status": "True"}]},
    }
    assert job_view(done).state == "complete" and job_view(done).task_id == "r/s/0/1"
    assert job_view(failed_job()).state == "failed"
    assert job_view({"metadata": {"name": "j"}, "status": {"active": 1}}).state == "active"
    assert job_view({"metadata": {"name": "j"}, "status": {}}, deleted=True).state == "deleted"


def test_oom_names_the_memory_limit_and_what_to_do() -> None:
    task = spec(resources=Resources(memory_mb=2048))
    error = failure(job_view(failed_job()), pod_view(terminated("OOMKilled", 137)), task)
    assert error.kind == "out-of-memory"
    assert "2Gi" in error.message and "memory=" in error.message


def test_deadline_is_a_timeout() -> None:
    error = failure(job_view(failed_job("DeadlineExceeded")), None, spec(timeout=30.0))
    assert error.kind == "timeout" and "30s" in error.message


def test_eviction_says_why() -> None:
    evicted = terminated(
        "Error", 137, reason="Evicted", message="The node was low on resource: memory."
    )
    error = failure(job_view(failed_job()), pod_view(evicted), spec())
    assert error.kind == "evicted" and "low on resource: memory" in error.message


def test_exit_without_record_gives_the_exit_code() -> None:
    error = failure(job_view(failed_job()), pod_view(terminated("Error", 3)), spec())
    assert error.kind == "worker-died" and "code 3" in error.message


def test_image_pull_names_the_image_after_the_grace_period() -> None:
    waiting = {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}
    view = pod_view(
        pod({"phase": "Pending", "containerStatuses": [{"state": waiting}]}, "acme/nope:1")
    )
    assert stuck(view, spec(), 5.0, **LIMITS) is None
    error = stuck(view, spec(), 31.0, **LIMITS)
    assert error is not None and error.kind == "image-pull" and "'acme/nope:1'" in error.message
    invalid = {"waiting": {"reason": "InvalidImageName", "message": "bad"}}
    assert stuck(
        pod_view(pod({"phase": "Pending", "containerStatuses": [{"state": invalid}]})),
        spec(),
        0.0,
        **LIMITS,
    )


def test_unschedulable_names_the_missing_resource_after_the_deadline() -> None:
    msg = (
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu, 1 Insufficient memory. "
        "preemption: ..."
    )
    cond = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg}]
    view = pod_view(pod({"phase": "Pending", "conditions": cond}))
    assert short_resources(msg) == "memory, nvidia.com/gpu"
    task = spec(resources=Resources(gpu=4))
    assert stuck(view, task, 10.0, **LIMITS) is None
    error = stuck(view, task, 301.0, **LIMITS)
    assert error is not None and error.kind == "unschedulable"
    assert "nvidia.com/gpu" in error.message and "gpu=4" in error.message


def test_missing_secret_fails_at_once() -> None:
    waiting = {
        "waiting": {"reason": "CreateContainerConfigError", "message": 'secret "aws" not found'}
    }
    view = pod_view(pod({"phase": "Pending", "containerStatuses": [{"state": waiting}]}))
    error = stuck(view, spec(), 0.0, **LIMITS)
    assert error is not None and 'secret "aws" not found' in error.message
