"""Pure EventBridge Scheduler request for an AWS schedule.

The schedule's target is EventBridge Scheduler's universal target for Batch
(``aws-sdk:batch:submitJob``): at each fire it submits one Batch job that fetches the
pinned code and runs the flow's driver with steps on Batch (``--on batch``). The cron
expression is translated to AWS's six-field form and the time zone passed through.
EventBridge has no concurrency control: overlapping fires each start a driver.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .bootstrap import driver_command, fetch_command, object_name
from .cron import to_aws
from .model import Schedule

SUBMIT_JOB_ARN = "arn:aws:scheduler:::aws-sdk:batch:submitJob"


@dataclass(frozen=True)
class AwsOptions:
    """``[default.aws]`` settings; ``job_queue`` and ``region`` fall back to the Batch
    executor's ``[default.batch]`` (``queue``, ``region``)."""

    scheduler_role_arn: str = ""
    job_queue: str = ""
    job_definition: str = ""
    schedule_group: str = "default"
    region: str | None = None
    endpoint_url: str | None = None
    store_url: str = ""

    @classmethod
    def from_settings(
        cls, options: Mapping[str, Any], batch: Mapping[str, Any] | None = None
    ) -> AwsOptions:
        known = set(cls.__dataclass_fields__)
        batch = dict(batch or {})
        if "queue" in batch:  # the Batch executor's name for it
            batch.setdefault("job_queue", batch["queue"])
        merged = {k: v for k, v in batch.items() if k in ("job_queue", "job_definition", "region")}
        merged.update({k: v for k, v in options.items() if k in known})
        if "role_arn" in options and "scheduler_role_arn" not in options:
            merged["scheduler_role_arn"] = options["role_arn"]
        return cls(**merged)


def submit_job_input(schedule: Schedule, opts: AwsOptions) -> dict[str, Any]:
    """The Batch ``SubmitJob`` request the schedule sends (AWS's PascalCase names)."""
    store = opts.store_url or schedule.root
    fetch = shlex.join(fetch_command(schedule, store))
    driver = shlex.join(driver_command(schedule, store, "batch"))
    return {
        "JobName": object_name(schedule),
        "JobQueue": opts.job_queue,
        "JobDefinition": opts.job_definition,
        "ContainerOverrides": {
            "Command": ["sh", "-c", f"{fetch} && cd /code && exec {driver}"],
            "Environment": [
                {"Name": "JUPYTER_FLOW_ROOT", "Value": store},
                # the Batch executor's settings for the step jobs (no config file in the job)
                {"Name": "JUPYTER_FLOW_BATCH_QUEUE", "Value": opts.job_queue},
                *(
                    [{"Name": "JUPYTER_FLOW_BATCH_REGION", "Value": opts.region}]
                    if opts.region
                    else []
                ),
                {"Name": "PYTHONPATH", "Value": "/code"},
                {"Name": "PYTHONUNBUFFERED", "Value": "1"},
            ],
        },
        "Tags": {"jupyter-flow/schedule": schedule.name, "jupyter-flow/flow": schedule.flow.name},
    }


def render(schedule: Schedule, opts: AwsOptions) -> dict[str, Any]:
    """Keyword arguments of ``scheduler.create_schedule`` / ``update_schedule``."""
    assert schedule.cron is not None
    return {
        "Name": object_name(schedule),
        "GroupName": opts.schedule_group,
        "ScheduleExpression": to_aws(schedule.cron),
        "ScheduleExpressionTimezone": schedule.timezone,
        "State": "DISABLED" if schedule.paused else "ENABLED",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Description": f"jupyter_flow {schedule.flow.name} (code {schedule.flow.package_key[:12]})",
        "Target": {
            "Arn": SUBMIT_JOB_ARN,
            "RoleArn": opts.scheduler_role_arn,
            "Input": json.dumps(submit_job_input(schedule, opts), sort_keys=True),
            "RetryPolicy": {"MaximumRetryAttempts": 0},  # a retried fire would be a second run
        },
    }
