"""What a ``DescribeJobs`` entry means for a task attempt, in plain words (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...flow.resources import format_memory
from ...store.records import ErrorInfo
from ..taskspec import TaskSpec
from .start_failure import EXIT_MISSING, MISSING_WORDS

ACTIVE = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"})


@dataclass(frozen=True)
class BatchJobView:
    job_id: str
    status: str  # SUBMITTED .. RUNNING, SUCCEEDED, FAILED
    status_reason: str = ""
    container_reason: str = ""
    exit_code: int | None = None
    log_stream: str = ""
    log_group: str = ""  # the job's awslogs group; "" when its definition names none
    started_at: float | None = None  # seconds since the epoch


def job_view(raw: Mapping[str, Any]) -> BatchJobView:
    container = raw.get("container") or {}
    attempts = raw.get("attempts") or []
    last = (attempts[-1].get("container") or {}) if attempts else {}
    started = raw.get("startedAt")
    group, stream = log_location(container, last)
    return BatchJobView(
        job_id=raw.get("jobId", ""),
        status=raw.get("status", ""),
        status_reason=raw.get("statusReason") or "",
        container_reason=container.get("reason") or last.get("reason") or "",
        exit_code=container.get("exitCode", last.get("exitCode")),
        log_stream=stream,
        log_group=group,
        started_at=started / 1000 if isinstance(started, int | float) else None,
    )


def log_location(container: Mapping[str, Any], last: Mapping[str, Any]) -> tuple[str, str]:
    """The CloudWatch group and stream of a job's container: its awslogs group (the
    definition's ``logConfiguration``), and the stream DescribeJobs names or, when it names
    none, the awslogs driver's ``<stream prefix>/default/<ECS task id>``."""
    logging = container.get("logConfiguration") or {}
    options = logging.get("options") or {} if logging.get("logDriver") == "awslogs" else {}
    stream = container.get("logStreamName") or last.get("logStreamName") or ""
    task = str(container.get("taskArn") or last.get("taskArn") or "")
    prefix = options.get("awslogs-stream-prefix")
    if not stream and prefix and task:
        stream = f"{prefix}/default/{task.rsplit('/', 1)[-1]}"
    return str(options.get("awslogs-group") or ""), stream


def failure(job: BatchJobView, spec: TaskSpec) -> ErrorInfo:
    """Why a FAILED job failed, for failures the task itself could not record."""
    reason = job.container_reason
    parts = [p for p in (job.status_reason, reason) if p]
    said = f" (Batch: {'; '.join(parts)})" if parts else ""
    if reason.startswith("OutOfMemoryError") or "memory" in reason.lower():
        limit = format_memory(spec.resources.memory_mb)
        return ErrorInfo(
            "out-of-memory",
            f"the task ran out of memory: the container was killed at its limit of {limit}; "
            f"ask for more with @flow.step(memory=...) or %%step --memory{said}",
            "OutOfMemoryError",
        )
    if "duration exceeded timeout" in job.status_reason:
        limit = f"{spec.timeout:g}s" if spec.timeout is not None else "its timeout"
        return ErrorInfo("timeout", f"the task ran longer than its timeout of {limit}{said}")
    if reason.startswith(("CannotPullContainerError", "CannotPullImage")):
        return ErrorInfo(
            "image-pull",
            f"the image {spec.image or 'of the job definition'} could not be pulled: {reason}; "
            "check its name and tag, and that the execution role may pull it",
            "CannotPullContainerError",
        )
    if "Host EC2" in job.status_reason and "terminated" in job.status_reason:
        return ErrorInfo(
            "evicted",
            f"the instance running the task went away (a Spot reclaim?){said}",
            "HostTerminated",
        )
    if job.exit_code == EXIT_MISSING:
        return ErrorInfo("infrastructure", MISSING_WORDS + said, "MissingDependency")
    if job.exit_code not in (None, 0):
        return ErrorInfo(
            "worker-died",
            f"the container exited with code {job.exit_code} before the task could record why"
            f"{said}",
        )
    return ErrorInfo(
        "infrastructure", f"the Batch job {job.job_id} failed{said or ' (no reason given)'}"
    )
