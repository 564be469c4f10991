"""Pure EventBridge Scheduler request for an AWS schedule.

The schedule's target is EventBridge Scheduler's universal target for Batch
(``aws-sdk:batch:submitJob``): at each fire it submits one Batch job that fetches the
pinned code and runs the flow's driver with steps on Batch (``--on batch``) and the Batch
settings pinned at create (``settings_pin``). The driver's job definition is rendered from
those settings too (the steps' image, roles, secrets, log group, mounts), since
``SubmitJob`` cannot override an image or a role; ``job_definition`` names an existing one
instead. The cron expression is translated to AWS's six-field form and the time zone passed through.
EventBridge has no concurrency control: overlapping fires each start a driver.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .bootstrap import driver_command, fetch_command, object_name
from .cron import to_aws
from .model import Schedule

SUBMIT_JOB_ARN = "arn:aws:scheduler:::aws-sdk:batch:submitJob"
DRIVER_PLACEHOLDER = (
    "python",
    "-c",
    "raise SystemExit('jupyter_flow: a scheduled driver gets its command from its schedule')",
)


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
    driver_cpu: float = 1.0  # the driver job's vCPUs and memory (MiB), rendered definition
    driver_memory: int = 2048

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


def pinned(schedule: Schedule) -> Mapping[str, Any] | None:
    """The Batch executor settings pinned for the driver (``settings_pin``), if any."""
    found = (schedule.settings.get("extra") or {}).get("batch")
    return found if isinstance(found, Mapping) else None


def driver_definition(schedule: Schedule, opts: AwsOptions) -> dict[str, Any] | None:
    """``RegisterJobDefinition`` of the driver job: the steps' image, job/execution roles,
    secrets and platform (named by what it pins, like step definitions). None when
    ``job_definition`` names an existing definition or nothing was pinned."""
    steps = pinned(schedule)
    if opts.job_definition or steps is None:
        return None
    from ..flow.resources import Resources
    from ..runtime.executors.batch_fargate import check_fargate
    from ..runtime.executors.batch_job import BatchOptions, build_definition

    batch = BatchOptions.from_settings(steps, {})
    # Batch never retries a driver: a second driver would be a second run of the fire (as
    # EventBridge's RetryPolicy), while the first one's step jobs still run
    batch = replace(batch, definition_prefix=f"{batch.definition_prefix}-driver", host_attempts=1)
    res = Resources(cpu=float(opts.driver_cpu), memory_mb=int(opts.driver_memory))
    if batch.fargate:
        what = "the scheduled driver job ([default.aws] driver_cpu, driver_memory)"
        check_fargate(what, res, step=False)
    # each schedule's SubmitJob brings the command; one definition serves many schedules
    return build_definition(batch.image, res, batch, command=DRIVER_PLACEHOLDER)


def definition_ref(schedule: Schedule, opts: AwsOptions) -> str:
    rendered = driver_definition(schedule, opts)
    return str(rendered["jobDefinitionName"]) if rendered else opts.job_definition


def _environment(schedule: Schedule, opts: AwsOptions, store: str) -> list[dict[str, str]]:
    steps = pinned(schedule)
    env = [{"Name": "JUPYTER_FLOW_ROOT", "Value": store}]
    if steps is None:  # a schedule from before settings were pinned: queue + region only
        env.append({"Name": "JUPYTER_FLOW_BATCH_QUEUE", "Value": opts.job_queue})
        if opts.region:
            env.append({"Name": "JUPYTER_FLOW_BATCH_REGION", "Value": opts.region})
    else:  # what step jobs get, so the driver reaches the store as they do
        env += [{"Name": k, "Value": str(v)} for k, v in sorted(steps["env"].items())]
    env += [{"Name": "PYTHONPATH", "Value": "/code"}, {"Name": "PYTHONUNBUFFERED", "Value": "1"}]
    return env


def submit_job_input(schedule: Schedule, opts: AwsOptions) -> dict[str, Any]:
    """The Batch ``SubmitJob`` request the schedule sends (AWS's PascalCase names)."""
    store = opts.store_url or schedule.root
    fetch = shlex.join(fetch_command(schedule, store))
    driver = shlex.join(driver_command(schedule, store, "batch"))
    return {
        "JobName": object_name(schedule),
        "JobQueue": opts.job_queue,
        "JobDefinition": definition_ref(schedule, opts),
        "ContainerOverrides": {
            "Command": ["sh", "-c", f"{fetch} && cd /code && exec {driver}"],
            "Environment": _environment(schedule, opts, store),
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
