"""AWS Batch for the executor (and the schedule's driver definition): definitions, jobs
and their logs. The clients come from ``sdk.aws`` (the one home of ``boto3``), whose
standard retry mode handles throttling and 5xx; what is left are errors a user can fix
(credentials, IAM permissions, a queue that does not exist), which become errors that say
what to do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ...errors import ConfigError
from ...sdk import aws
from .batch_job import DEFAULT_LOG_GROUP, BatchOptions
from .batch_status import BatchJobView, job_view

DESCRIBE_BATCH = 100  # DescribeJobs takes at most 100 ids
IAM_HINT = (
    "the AWS identity needs batch:RegisterJobDefinition, batch:DescribeJobDefinitions, "
    "batch:SubmitJob, batch:TagResource, batch:DescribeJobs, batch:TerminateJob and "
    "logs:GetLogEvents (and iam:PassRole for the job role)"
)


class TransientError(Exception):
    """Batch kept failing after botocore's retries (throttling, 5xx, connection)."""


class BatchClient:
    """Batch and CloudWatch Logs clients of one region/endpoint."""

    def __init__(self, options: BatchOptions) -> None:
        purpose = "running steps on AWS Batch"
        self.options = options
        self.batch = aws.client(
            "batch",
            purpose,
            region=options.region,
            endpoint_url=options.endpoint_url,
            endpoint_setting="endpoint_url in [default.batch] (JUPYTER_FLOW_BATCH_ENDPOINT_URL)",
        )
        self.logs = aws.client(
            "logs",
            purpose,
            region=options.region,
            endpoint_url=options.logs_endpoint_url or options.endpoint_url,
            endpoint_setting="logs_endpoint_url in [default.batch]",
        )
        self._definitions: dict[str, str] = {}
        self._lock = threading.Lock()
        self.calls = 0  # API calls made (approximate under threads: for tests and benches)

    def _call(self, what: str, func: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        self.calls += 1
        try:
            return func(**kwargs)
        except NoCredentialsError:
            raise ConfigError(
                "no AWS credentials found for AWS Batch",
                hint="configure a profile (AWS_PROFILE), environment credentials or a role",
            ) from None
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            message = err.response.get("Error", {}).get("Message", str(err))
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
                raise ConfigError(
                    f"AWS refused to let us {what}: {message}", hint=IAM_HINT
                ) from None
            if (
                status == 429
                or status >= 500
                or code in ("ThrottlingException", "TooManyRequestsException")
            ):
                raise TransientError(f"{what}: {message}") from None
            raise ConfigError(
                f"AWS Batch rejected the request to {what}: {message}",
                hint="check [default.batch] (queue, image, roles, platform)",
            ) from None
        except BotoCoreError as err:
            raise TransientError(f"{what}: {err}") from None

    # -- job definitions ------------------------------------------------------------------
    def ensure_definition(self, request: Mapping[str, Any]) -> str:
        """The ARN of an ACTIVE definition with this name, registering it only if missing."""
        name = request["jobDefinitionName"]
        with self._lock:  # held throughout: parallel submits must not register twice
            if name not in self._definitions:
                self._definitions[name] = self._find_or_register(name, request)
            return self._definitions[name]

    def _find_or_register(self, name: str, request: Mapping[str, Any]) -> str:
        found = self._call(
            "describe job definitions",
            self.batch.describe_job_definitions,
            jobDefinitionName=name,
            status="ACTIVE",
        )
        active = sorted(found.get("jobDefinitions", []), key=lambda d: d.get("revision", 0))
        if active:
            arn = str(active[-1]["jobDefinitionArn"])
        else:
            made = self._call(
                "register job definitions", self.batch.register_job_definition, **request
            )
            arn = str(made["jobDefinitionArn"])
        return arn

    # -- jobs -----------------------------------------------------------------------------
    def submit(self, request: Mapping[str, Any]) -> str:
        return str(self._call("submit jobs", self.batch.submit_job, **request)["jobId"])

    def describe(self, job_ids: Iterable[str]) -> list[BatchJobView]:
        ids = list(job_ids)
        views: list[BatchJobView] = []
        for start in range(0, len(ids), DESCRIBE_BATCH):
            chunk = ids[start : start + DESCRIBE_BATCH]
            found = self._call("describe jobs", self.batch.describe_jobs, jobs=chunk)
            views.extend(job_view(j) for j in found.get("jobs", []))
        return views

    def terminate(self, job_id: str, reason: str) -> None:
        self._call("terminate jobs", self.batch.terminate_job, jobId=job_id, reason=reason)

    # -- logs -----------------------------------------------------------------------------
    def log_lines(
        self, stream: str, token: str | None = None, group: str = ""
    ) -> tuple[list[str], str | None]:
        """New lines of a CloudWatch stream since ``token``, and the token to continue from.
        ``group`` is the job's own (DescribeJobs), else ``log_group``, else Batch's default."""
        kwargs: dict[str, Any] = {
            "logGroupName": group or self.options.log_group or DEFAULT_LOG_GROUP,
            "logStreamName": stream,
            "startFromHead": True,
        }
        if token:
            kwargs["nextToken"] = token
        try:
            found = self._call("read CloudWatch logs", self.logs.get_log_events, **kwargs)
        except ConfigError:  # the stream does not exist yet
            return [], token
        lines = [str(e.get("message", "")) for e in found.get("events", [])]
        return lines, found.get("nextForwardToken") or token

    def close(self) -> None:
        for client in (self.batch, self.logs):
            close = getattr(client, "close", None)
            if close is not None:
                close()
