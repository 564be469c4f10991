"""AWS Batch requests: golden files, definitions keyed by what they pin, and failures in
plain words from DescribeJobs answers."""

from __future__ import annotations

import pytest

from jupyter_flow.errors import ConfigError
from jupyter_flow.flow.resources import Resources
from jupyter_flow.runtime.executors.batch_job import (
    BatchOptions,
    build_definition,
    build_submit,
    definition_name,
    job_name,
)
from jupyter_flow.runtime.executors.batch_status import failure, job_view

from .golden import check_golden
from .specs import spec

OPTIONS = BatchOptions.from_settings(
    {
        "queue": "ml-spot",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/flows:1.4",
        "job_role_arn": "arn:aws:iam::123456789012:role/flow-task",
        "secrets": {"API_TOKEN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:token"},
        "env": {"JUPYTER_FLOW_S3_ENDPOINT_URL": "http://minio:9000"},
        "tags": {"team": "forecasting"},
    },
    {},
)


def test_requests_match_golden() -> None:
    task = spec(resources=Resources(cpu=1.5, memory_mb=6144, gpu=1), timeout=30.0)
    definition = build_definition(OPTIONS.image, task.resources, OPTIONS)
    check_golden("batch/definition_gpu.json", definition)
    check_golden("batch/submit_gpu_timeout.json", build_submit(task, "arn:def:1", OPTIONS))
    fargate = BatchOptions(queue="q", platform="FARGATE", image="python:3.11-slim")
    check_golden(
        "batch/definition_fargate.json",
        build_definition("python:3.11-slim", Resources(cpu=0.25, memory_mb=512), fargate),
    )


def test_a_definition_is_keyed_by_image_resources_and_roles() -> None:
    res = Resources(cpu=2, memory_mb=4096)
    same = definition_name("img:1", res, OPTIONS)
    assert same == definition_name("img:1", Resources(cpu=2, memory_mb=4096), OPTIONS)
    assert same != definition_name("img:2", res, OPTIONS)
    assert same != definition_name("img:1", Resources(cpu=2, memory_mb=8192), OPTIONS)
    other_role = BatchOptions(queue="q", job_role_arn="arn:other")
    assert same != definition_name("img:1", res, other_role)


def test_the_job_carries_the_task_and_batch_does_not_retry() -> None:
    task = spec(timeout=5.0)
    request = build_submit(task, "arn:def:1", OPTIONS)
    env = {e["name"]: e["value"] for e in request["containerOverrides"]["environment"]}
    assert env["JUPYTER_FLOW_TASK_SPEC_KEY"] == task.to_blob()[0]  # the spec is in the store
    assert request["retryStrategy"] == {"attempts": 1}
    assert request["timeout"] == {"attemptDurationSeconds": 60}  # Batch's minimum; ours is 5 s
    assert "API_TOKEN" not in env  # a secret comes from the definition's valueFrom
    assert len(job_name(spec(flow="F" * 200))) <= 128


def test_a_queue_is_required() -> None:
    with pytest.raises(ConfigError, match="job queue"):
        BatchOptions.from_settings({}, {})
    assert BatchOptions.from_settings({}, {"JUPYTER_FLOW_BATCH_QUEUE": "q"}).queue == "q"


def failed(
    reason: str = "",
    status_reason: str = "Essential container in task exited",
    code: int | None = 1,
) -> dict:
    container = {"logStreamName": "jf/default/abc", **({"reason": reason} if reason else {})}
    if code is not None:
        container["exitCode"] = code
    return {
        "jobId": "j-1",
        "status": "FAILED",
        "statusReason": status_reason,
        "container": container,
    }


def test_failures_in_plain_words() -> None:
    task = spec(resources=Resources(memory_mb=2048), timeout=90.0)
    oom = failure(
        job_view(failed("OutOfMemoryError: Container killed due to memory usage", code=137)), task
    )
    assert oom.kind == "out-of-memory" and "2Gi" in oom.message
    timeout = failure(
        job_view(failed(status_reason="Job attempt duration exceeded timeout", code=None)), task
    )
    assert timeout.kind == "timeout" and "90s" in timeout.message
    pull = failure(
        job_view(failed("CannotPullContainerError: not found", "Task failed to start", None)), task
    )
    assert pull.kind == "image-pull"
    lost = failure(
        job_view(failed(status_reason="Host EC2 (instance i-0abc) terminated.", code=None)), task
    )
    assert lost.kind == "evicted"
    died = failure(job_view(failed(code=9)), task)
    assert died.kind == "worker-died" and "code 9" in died.message
    assert job_view(failed()).log_stream == "jf/default/abc"
