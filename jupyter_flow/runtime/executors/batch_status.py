"""What a ``DescribeJobs`` entry means for a task attempt, in plain words (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...flow.resources import format_memory
from ...store.records import ErrorInfo
from ..taskspec import TaskSpec

ACTIVE = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"})


@dataclass(frozen=True)
class BatchJobView:
    job_id: str
    status: str  # SUBMITTED .. RUNNING, SUCCEEDED, FAILED
    status_reason: str = ""
    container_reason: str = ""
    exit_code: int | None = None
    log_stream: str = ""
    started_at: float | None = None  # seconds since the epoch


def job_view(raw: Mapping[str, Any]) -> BatchJobView:
    container = raw.get("container") or {}
    attempts = raw.get("attempts") or []
    last = (attempts[-1].get("container") or {}) if attempts else {}
    started = raw.get("startedAt")
    return BatchJobView(
        job_id=raw.get("jobId", ""),
        status=raw.get("status", ""),
        status_reason=raw.get("statusReason") or "",
        container_reason=container.get("reason") or last.get("reason") or "",
        exit_code=container.get("exitCode", last.get("exitCode")),
        log_stream=container.get("logStreamName") or last.get("logStreamName") or "",
        started_at=started / 1000 if isinstance(started, int | float) else None,
    )


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
    if job.exit_code not in (None, 0):
        return ErrorInfo(
            "worker-died",
            f"the container exited with code {job.exit_code} before the task could record why"
            f"{said}",
        )
    return ErrorInfo(
        "infrastructure", f"the Batch job {job.job_id} failed{said or ' (no reason given)'}"
    )
