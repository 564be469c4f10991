"""Build AWS Batch requests for one task attempt: pure functions of the spec and the options.

A job definition is keyed by what it pins (image, resources, roles, platform), so the same
step reuses one revision across runs; each attempt is a ``SubmitJob`` whose container
overrides carry the task (env), its resources and its timeout. Batch retries are off
(``attempts: 1``): retries are the driver's.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ...errors import ConfigError
from ...flow.resources import Resources
from ..bootstrap import task_command, task_environment
from ..taskspec import TaskSpec
from .kubernetes_job import default_image
from .options import options_from

MIN_TIMEOUT = 60  # Batch refuses attemptDurationSeconds below this; shorter ones are ours
TAG_PREFIX = "jupyter-flow"
_ENV_OPTIONS = {
    "queue": "JUPYTER_FLOW_BATCH_QUEUE",
    "image": "JUPYTER_FLOW_BATCH_IMAGE",
    "region": "JUPYTER_FLOW_BATCH_REGION",
    "endpoint_url": "JUPYTER_FLOW_BATCH_ENDPOINT_URL",
    "logs_endpoint_url": "JUPYTER_FLOW_LOGS_ENDPOINT_URL",
    "poll_interval": "JUPYTER_FLOW_BATCH_POLL_INTERVAL",
}


@dataclass(frozen=True)
class BatchOptions:
    """``[default.batch]`` of the config file, with ``JUPYTER_FLOW_BATCH_*`` overrides."""

    queue: str = ""
    image: str = field(default_factory=default_image)
    region: str | None = None
    endpoint_url: str | None = None
    logs_endpoint_url: str | None = None
    platform: str = "EC2"  # or FARGATE
    job_role_arn: str | None = None
    execution_role_arn: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)  # env name -> Secrets Manager ARN
    env: Mapping[str, str] = field(default_factory=dict)  # plain, non-secret env vars
    tags: Mapping[str, str] = field(default_factory=dict)
    log_group: str = "/aws/batch/job"
    definition_prefix: str = "jupyter-flow"
    python: str = "python"
    poll_interval: float = 5.0  # seconds between DescribeJobs rounds
    max_in_flight: int = 1000

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any], env: Mapping[str, str]) -> BatchOptions:
        options = options_from(
            cls,
            "batch",
            raw,
            env,
            _ENV_OPTIONS,
            mappings=("secrets", "env", "tags"),
            floats=("poll_interval",),
        )
        if not options.queue:
            raise ConfigError(
                "AWS Batch needs a job queue",
                hint="set queue = '...' in [default.batch] or JUPYTER_FLOW_BATCH_QUEUE",
            )
        return options


def vcpus(cpu: float, platform: str) -> str:
    """Fargate takes fractions (0.25, 0.5...); EC2 compute environments whole vCPUs."""
    if platform.upper() == "FARGATE":
        return f"{cpu:g}"
    return str(max(1, math.ceil(cpu)))


def resource_requirements(res: Resources, platform: str) -> list[dict[str, str]]:
    reqs = [
        {"type": "VCPU", "value": vcpus(res.cpu, platform)},
        {"type": "MEMORY", "value": str(res.memory_mb)},
    ]
    if res.gpu:
        reqs.append({"type": "GPU", "value": str(res.gpu)})
    return reqs


def definition_name(image: str, res: Resources, options: BatchOptions) -> str:
    """Same image, resources and roles -> same definition (registered once, reused)."""
    key = {
        "image": image,
        "resources": asdict(res),
        "platform": options.platform,
        "job_role": options.job_role_arn,
        "execution_role": options.execution_role_arn,
        "secrets": dict(sorted(options.secrets.items())),
        "python": options.python,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return f"{options.definition_prefix}-{digest}"


def build_definition(image: str, res: Resources, options: BatchOptions) -> dict[str, Any]:
    """``RegisterJobDefinition`` arguments."""
    container: dict[str, Any] = {
        "image": image,
        "command": task_command(options.python),
        "resourceRequirements": resource_requirements(res, options.platform),
    }
    if options.job_role_arn:
        container["jobRoleArn"] = options.job_role_arn
    if options.execution_role_arn:
        container["executionRoleArn"] = options.execution_role_arn
    if options.secrets:
        container["secrets"] = [
            {"name": k, "valueFrom": v} for k, v in sorted(options.secrets.items())
        ]
    if options.platform.upper() == "FARGATE":
        container["networkConfiguration"] = {"assignPublicIp": "ENABLED"}
    return {
        "jobDefinitionName": definition_name(image, res, options),
        "type": "container",
        "platformCapabilities": [options.platform.upper()],
        "containerProperties": container,
        "retryStrategy": {"attempts": 1},
        "tags": {f"{TAG_PREFIX}:managed-by": "jupyter-flow", **options.tags},
    }


def job_name(spec: TaskSpec) -> str:
    """<= 128 chars of letters, digits, hyphens and underscores, starting alphanumeric."""
    text = f"{spec.flow}-{spec.step}-{spec.index}-{spec.attempt}-{spec.run_id}"
    return ("jf-" + re.sub(r"[^A-Za-z0-9_-]", "-", text))[:128]


def build_submit(spec: TaskSpec, definition: str, options: BatchOptions) -> dict[str, Any]:
    """``SubmitJob`` arguments for one attempt."""
    request: dict[str, Any] = {
        "jobName": job_name(spec),
        "jobQueue": options.queue,
        "jobDefinition": definition,
        "containerOverrides": {
            "environment": task_environment(spec, options.env),
            "resourceRequirements": resource_requirements(spec.resources, options.platform),
        },
        "retryStrategy": {"attempts": 1},
        "propagateTags": True,
        "tags": {
            **options.tags,
            f"{TAG_PREFIX}:flow": spec.flow,
            f"{TAG_PREFIX}:run": spec.run_id,
            f"{TAG_PREFIX}:step": spec.step,
            f"{TAG_PREFIX}:task-id": spec.task_id,
        },
    }
    if spec.timeout is not None:
        request["timeout"] = {"attemptDurationSeconds": max(MIN_TIMEOUT, math.ceil(spec.timeout))}
    return request
