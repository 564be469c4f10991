"""Build AWS Batch requests for one task attempt: pure functions of the spec and the options.

A job definition is named by a hash of everything it pins (image, command, resources,
roles, platform, logging, mounts, retry strategy), so the same step reuses one revision
across runs and a changed setting or launcher registers a new one; each attempt is a
``SubmitJob`` whose container overrides carry the task (env), its resources and its
timeout. Batch itself retries only what the task cannot see (its host going away); the
step's own failures are retried by the driver (``retry_strategy``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ...errors import ConfigError, FlowDefinitionError
from ...flow.resources import Resources, parse_memory
from ..bootstrap import task_command, task_environment
from ..taskspec import TaskSpec
from .batch_fargate import check_fargate
from .kubernetes_job import default_image
from .options import options_from

MIN_TIMEOUT = 60  # Batch refuses attemptDurationSeconds below this; shorter ones are ours
TAG_PREFIX = "jupyter-flow"
DEFAULT_LOG_GROUP = "/aws/batch/job"  # where Batch's awslogs driver logs when told nothing
EPHEMERAL_GIB = (21, 200)  # Fargate's ephemeralStorage.sizeInGiB range
TMPFS_MOUNT_OPTIONS = frozenset(
    {
        "defaults",
        "ro",
        "rw",
        "suid",
        "nosuid",
        "dev",
        "nodev",
        "exec",
        "noexec",
        "sync",
        "async",
        "dirsync",
        "remount",
        "mand",
        "nomand",
        "atime",
        "noatime",
        "diratime",
        "nodiratime",
        "bind",
        "rbind",
        "unbindable",
        "runbindable",
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "relatime",
        "norelatime",
        "strictatime",
        "nostrictatime",
        "mode",
        "uid",
        "gid",
        "nr_inodes",
        "nr_blocks",
        "mpol",
    }
)
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
    log_group: str | None = None  # None: Batch's /aws/batch/job, with its stream names
    log_stream_prefix: str = "jupyter-flow"  # streams <prefix>/default/<task id> (log_group)
    shared_memory: int | None = None  # MiB of /dev/shm (EC2; Docker's default is 64 MiB)
    tmpfs: tuple[Mapping[str, Any], ...] = ()  # {path, size (MiB), mount_options} (EC2)
    ephemeral_storage: int | None = None  # GiB of task storage (Fargate, 21-200; else 20)
    host_attempts: int = 3  # Batch attempts of a job whose host goes away (Spot), 1-10
    definition_prefix: str = "jupyter-flow"
    python: str = "python"
    python_version: str | None = None  # the image's Python, when its tag does not say it
    architecture: str = "amd64"  # the hosts' CPU (amd64, arm64): what packages= resolve for
    poll_interval: float = 5.0  # seconds between DescribeJobs rounds
    max_in_flight: int = 1000

    @classmethod
    def from_settings(
        cls, raw: Mapping[str, Any], env: Mapping[str, str], where: Where | None = None
    ) -> BatchOptions:
        where = where or Where()
        known = {f.name for f in fields(cls)}
        for key in sorted(set(raw) - known):
            close = difflib.get_close_matches(key, known, n=1)
            raise ConfigError(
                f"{where(key)}: unknown Batch setting",
                hint=(f"did you mean {close[0]}? " if close else "")
                + f"known settings: {', '.join(sorted(known))}",
            )
        options = options_from(
            cls,
            "batch",
            raw,
            env,
            _ENV_OPTIONS,
            tuples=("tmpfs",),
            mappings=("secrets", "env", "tags"),
            floats=("poll_interval",),
        )
        if not options.queue:
            raise ConfigError(
                "AWS Batch needs a job queue",
                hint="set queue = '...' in [default.batch] or JUPYTER_FLOW_BATCH_QUEUE",
            )
        return checked(options, where)

    @property
    def fargate(self) -> bool:
        return self.platform.upper() == "FARGATE"


@dataclass(frozen=True)
class Where:
    """Names a setting in errors: ``jupyter_flow.toml [profiles.gpu.batch] tmpfs[0]``."""

    section: str = "[default.batch]"

    def __call__(self, key: str) -> str:
        return f"{self.section} {key}"


def _mib(where: Where, key: str, value: Any) -> int:
    try:
        return parse_memory(value)
    except FlowDefinitionError as err:
        raise ConfigError(f"{where(key)}: {err.headline}", hint=err.hint) from None


def _int(where: Where, key: str, value: Any, low: int, high: int, unit: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"{where(key)} = {value!r} is not a whole number from {low} to {high}{unit}",
            hint=f"set {key} to a number in that range, or remove it",
        )
    return value


def _tmpfs(where: Where, entries: Sequence[Any]) -> tuple[dict[str, Any], ...]:
    """``[{path = "/scratch", size = "10G", mount_options = ["noexec"]}]``, sizes in MiB."""
    mounts = []
    for n, entry in enumerate(entries):
        key = f"tmpfs[{n}]"
        if not isinstance(entry, Mapping) or not {"path", "size"} <= set(entry):
            raise ConfigError(
                f"{where(key)} is not a table with path and size",
                hint='write tmpfs = [{ path = "/scratch", size = "10G" }]',
            )
        unknown = sorted(set(entry) - {"path", "size", "mount_options"})
        if unknown:
            raise ConfigError(
                f"{where(key)}: unknown key(s) {', '.join(unknown)}",
                hint="a tmpfs mount has path, size and mount_options",
            )
        path = str(entry["path"])
        if not path.startswith("/"):
            raise ConfigError(
                f"{where(key)}.path {path!r} is not an absolute path in the container",
                hint='e.g. path = "/scratch"',
            )
        options = [str(o) for o in entry.get("mount_options", ())]
        bad = sorted(set(options) - TMPFS_MOUNT_OPTIONS)
        if bad:
            raise ConfigError(
                f"{where(key)}.mount_options: Batch does not know {', '.join(bad)}",
                hint=f"known options: {', '.join(sorted(TMPFS_MOUNT_OPTIONS))}",
            )
        mounts.append({"path": path, "size": _mib(where, f"{key}.size", entry["size"])})
        if options:
            mounts[-1]["mount_options"] = options
    return tuple(mounts)


def checked(options: BatchOptions, where: Where | None = None) -> BatchOptions:
    """Refuse settings Batch would refuse or silently ignore, naming the key."""
    where = where or Where()
    platform = options.platform.upper()
    if platform not in ("EC2", "FARGATE"):
        raise ConfigError(
            f"{where('platform')} = {options.platform!r} is not a Batch platform",
            hint="set platform = 'EC2' or 'FARGATE' (the compute environments of the queue)",
        )
    fargate = platform == "FARGATE"
    if fargate and not options.execution_role_arn:
        raise ConfigError(
            f"{where('platform')} = 'FARGATE' needs {where('execution_role_arn')}: Fargate "
            "pulls the image and writes the logs as the execution role",
            hint="set execution_role_arn to a role with AmazonECSTaskExecutionRolePolicy",
        )
    ec2_only = [k for k in ("shared_memory", "tmpfs") if getattr(options, k)]
    if fargate and ec2_only:
        raise ConfigError(
            f"{where(ec2_only[0])} is not available on Fargate: Batch refuses a Fargate "
            "job definition with linuxParameters",
            hint=f"remove {' and '.join(ec2_only)}, or run on an EC2 queue (platform = 'EC2')",
        )
    if options.ephemeral_storage is not None and not fargate:
        raise ConfigError(
            f"{where('ephemeral_storage')} is for Fargate only; on EC2 a job's disk is the "
            "compute environment's (its launch template)",
            hint="remove ephemeral_storage, or set platform = 'FARGATE'",
        )
    values: dict[str, Any] = {
        "platform": platform,
        "host_attempts": _int(where, "host_attempts", options.host_attempts, 1, 10),
        "tmpfs": _tmpfs(where, options.tmpfs),
    }
    if options.shared_memory is not None:
        values["shared_memory"] = _mib(where, "shared_memory", options.shared_memory)
    if options.ephemeral_storage is not None:
        values["ephemeral_storage"] = _int(
            where, "ephemeral_storage", options.ephemeral_storage, *EPHEMERAL_GIB, " GiB"
        )
    if options.log_group is not None and not str(options.log_group).strip():
        raise ConfigError(
            f"{where('log_group')} is empty", hint="name a CloudWatch Logs group, or remove it"
        )
    return replace(options, **values)


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


def check_resources(step: str, res: Resources, options: BatchOptions) -> None:
    """What the platform cannot run, refused before a job is submitted."""
    if options.fargate:
        check_fargate(f"step {step!r}", res)


def log_configuration(options: BatchOptions) -> dict[str, Any] | None:
    """awslogs into ``log_group`` (the group the log reader reads), streams named
    ``<log_stream_prefix>/default/<task id>``; None leaves Batch's default group."""
    if options.log_group is None:
        return None
    settings = {"awslogs-group": options.log_group}
    if options.region:
        settings["awslogs-region"] = options.region
    if options.log_stream_prefix:
        settings["awslogs-stream-prefix"] = options.log_stream_prefix
    return {"logDriver": "awslogs", "options": settings}


def retry_strategy(options: BatchOptions) -> dict[str, Any]:
    """Batch retries an attempt only when its host went away; everything else ends the job.

    - ``Host EC2*`` -> RETRY: a Spot reclaim or a lost instance ("Host EC2 (instance ...)
      terminated.") killed a healthy task, which never saw it and could not record it; Batch
      starts it again on another instance, without using one of the step's ``retries``.
    - ``*`` -> EXIT: the step's own failure (its exit code, out of memory, a timeout) ends
      the job. The driver retries those as the step's ``retries=`` say, with backoff, as on
      every backend; Batch retrying them too would multiply the attempts. The rule is needed
      because Batch retries a failure no rule matches.
    """
    if options.host_attempts <= 1:
        return {"attempts": 1}
    return {
        "attempts": options.host_attempts,
        "evaluateOnExit": [
            {"onStatusReason": "Host EC2*", "action": "RETRY"},
            {"onReason": "*", "action": "EXIT"},
        ],
    }


def _container(
    image: str, res: Resources, options: BatchOptions, command: Sequence[str]
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "image": image,
        "command": list(command),
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
    logging = log_configuration(options)
    if logging is not None:
        container["logConfiguration"] = logging
    linux: dict[str, Any] = {}
    if options.shared_memory is not None:
        linux["sharedMemorySize"] = options.shared_memory
    if options.tmpfs:
        linux["tmpfs"] = [
            {
                "containerPath": m["path"],
                "size": m["size"],
                **({"mountOptions": list(m["mount_options"])} if m.get("mount_options") else {}),
            }
            for m in options.tmpfs
        ]
    if linux:
        container["linuxParameters"] = linux
    if options.fargate:
        container["networkConfiguration"] = {"assignPublicIp": "ENABLED"}
        if options.ephemeral_storage is not None:
            container["ephemeralStorage"] = {"sizeInGiB": options.ephemeral_storage}
    return container


def build_definition(
    image: str, res: Resources, options: BatchOptions, command: Sequence[str] | None = None
) -> dict[str, Any]:
    """``RegisterJobDefinition`` arguments; ``command`` defaults to the task launcher."""
    body: dict[str, Any] = {
        "type": "container",
        "platformCapabilities": [options.platform.upper()],
        "containerProperties": _container(
            image, res, options, task_command(options.python) if command is None else command
        ),
        "retryStrategy": retry_strategy(options),
        "tags": {f"{TAG_PREFIX}:managed-by": "jupyter-flow", **options.tags},
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return {"jobDefinitionName": f"{options.definition_prefix}-{digest}", **body}


def definition_name(image: str, res: Resources, options: BatchOptions) -> str:
    """Same image, resources, roles and settings -> same definition (registered once)."""
    return str(build_definition(image, res, options)["jobDefinitionName"])


def job_name(spec: TaskSpec) -> str:
    """<= 128 chars of letters, digits, hyphens and underscores, starting alphanumeric."""
    text = f"{spec.flow}-{spec.step}-{spec.index}-{spec.attempt}-{spec.run_id}"
    return ("jf-" + re.sub(r"[^A-Za-z0-9_-]", "-", text))[:128]


def build_submit(spec: TaskSpec, definition: str, options: BatchOptions) -> dict[str, Any]:
    """``SubmitJob`` arguments for one attempt (its retry strategy overrides the
    definition's, so it is the same one)."""
    request: dict[str, Any] = {
        "jobName": job_name(spec),
        "jobQueue": options.queue,
        "jobDefinition": definition,
        "containerOverrides": {
            "environment": task_environment(spec, options.env),
            "resourceRequirements": resource_requirements(spec.resources, options.platform),
        },
        "retryStrategy": retry_strategy(options),
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
