"""(Not tests.) Size limits of the real services, enforced by the fakes so a test fails where
a real cluster or AWS account would.

- Linux ``execve``: one argv or environment string (``NAME=value``, its NUL included) may
  hold at most ``MAX_ARG_STRLEN`` = 32 pages = 131072 bytes, else ``E2BIG`` ("argument list
  too long"); all of them together at most ``ARG_MAX`` (a quarter of the 8 MiB default stack).
  A container runtime meets it when it starts the container's process.
- AWS Batch ``SubmitJob``: ``containerOverrides`` at most 8192 characters ("Container
  Overrides length must be at most 8192") and the whole job payload at most 30 KiB ("Job
  size must be less than 30 KiB"): AWS Batch service quotas, which also cap a job
  definition at 24 KiB.
- kube-apiserver: a request body of at most 3 MiB (``MaxRequestBodyBytes``), else 413.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_ARG_STRLEN = 32 * 4096
ARG_MAX = 2 * 1024 * 1024
BATCH_OVERRIDES_MAX = 8192
BATCH_JOB_MAX = 30 * 1024
BATCH_DEFINITION_MAX = 24 * 1024  # RegisterJobDefinition (checked by tests, not the fake)
KUBE_BODY_MAX = 3 * 1024 * 1024


def exec_refusal(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    """What ``execve`` answers for this argv and environment (None: it starts)."""
    strings = [a.encode() for a in argv] + [f"{k}={v}".encode() for k, v in env.items()]
    total = 0
    for text in strings:
        if len(text) + 1 > MAX_ARG_STRLEN:
            return "argument list too long"
        total += len(text) + 1 + 8  # the string and its pointer
    return "argument list too long" if total > ARG_MAX else None


def runc_start_error(argv: Sequence[str], why: str) -> str:
    """A kubelet's message for a container whose process could not be executed."""
    return (
        "failed to create containerd task: failed to create shim task: OCI runtime create "
        "failed: runc create failed: unable to start container process: exec: "
        f'"{argv[0] if argv else ""}": {why}: unknown'
    )


def batch_submit_refusal(raw: bytes, body: Mapping[str, Any]) -> str | None:
    """Batch's ClientException message for a SubmitJob request over its limits."""
    if len(raw) > BATCH_JOB_MAX:
        return f"Job size must be less than 30 KiB, got {-(-len(raw) // 1024)} KiB"
    overrides = body.get("containerOverrides")
    if overrides is not None and len(json.dumps(overrides)) > BATCH_OVERRIDES_MAX:
        return f"Container Overrides length must be at most {BATCH_OVERRIDES_MAX}"
    return None


def kube_body_refusal(length: int) -> dict[str, Any] | None:
    """The apiserver's 413 Status for a request body over its limit."""
    if length <= KUBE_BODY_MAX:
        return None
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"Request entity too large: limit is {KUBE_BODY_MAX}",
        "reason": "RequestEntityTooLarge",
        "code": 413,
    }
