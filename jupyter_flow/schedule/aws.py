"""The AWS target: an EventBridge Scheduler schedule submitting the driver as a Batch job."""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import ConfigError
from . import settings_pin
from .aws_render import AwsOptions, driver_definition, pinned, render, submit_job_input
from .base import ScheduleTarget
from .bootstrap import object_name
from .cron import to_aws
from .model import Applied, Schedule
from .pin import upload_package
from .run_history import refresh_from_runs
from .store import ScheduleStore


class AwsTarget(ScheduleTarget):
    name = "aws"

    @property
    def aws(self) -> AwsOptions:
        return AwsOptions.from_settings(self.options, self.settings.backend_options("batch"))

    def validate(self, schedule: Schedule) -> None:
        super().validate(schedule)
        assert schedule.cron is not None
        to_aws(schedule.cron)  # AWS's day-field rules, checked before anything is created
        missing = [key for key in ("scheduler_role_arn", "job_queue") if not getattr(self.aws, key)]
        if missing:
            raise ConfigError(
                f"AWS schedules need {', '.join(missing)} in the settings",
                hint="set them under [default.aws] in jupyter_flow.toml (job_queue may come "
                "from [default.batch] queue; scheduler_role_arn: an IAM role EventBridge "
                "Scheduler assumes, allowed batch:SubmitJob)",
            )
        if "://" not in (self.aws.store_url or schedule.root):
            raise ConfigError(
                f"the store {schedule.root} is a local folder, which Batch jobs cannot read",
                hint="use an s3:// root (--root or JUPYTER_FLOW_ROOT) for AWS schedules",
            )

    def pin_settings(self, schedule: Schedule) -> Schedule:
        """The Batch executor settings a local ``--on batch`` run would use
        (``[default.batch]``, ``JUPYTER_FLOW_BATCH_*``), for the driver and its steps."""
        settings_pin.check_known(
            self.settings, "aws", {*AwsOptions.__dataclass_fields__, "role_arn"}
        )
        options = settings_pin.batch_options(
            self.settings, self.aws.job_queue, self.aws.region, os.environ
        )
        return settings_pin.pin(schedule, self.settings, "batch", options)

    def render(self, schedule: Schedule) -> tuple[dict[str, Any], ...]:
        """The driver's job definition (unless ``job_definition`` names one), then the
        EventBridge schedule."""
        definition = driver_definition(schedule, self.aws)
        return (*([definition] if definition else []), render(schedule, self.aws))

    def summary(self, schedule: Schedule) -> str:
        return (
            super().summary(schedule)
            + f" (EventBridge schedule {self.aws.schedule_group}/{object_name(schedule)};"
            " overlapping fires are not prevented)"
        )

    def _client(self, service: str) -> Any:
        """EventBridge Scheduler at ``[default.aws]``'s region/endpoint; Batch where the
        executor (and the driver's definition) has it: ``[default.batch]``, its env."""
        from ..sdk import aws

        if service != "batch":
            return aws.client(
                service,
                "scheduling on AWS",
                region=self.aws.region,
                endpoint_url=self.aws.endpoint_url,
                endpoint_setting="endpoint_url in [default.aws]",
            )
        steps = settings_pin.batch_options(
            self.settings, self.aws.job_queue, self.aws.region, os.environ
        )
        return aws.client(
            "batch",
            "scheduling on AWS",
            region=steps["region"],
            endpoint_url=steps["endpoint_url"],
            endpoint_setting="endpoint_url in [default.batch] (JUPYTER_FLOW_BATCH_ENDPOINT_URL)",
        )

    def _call(self, what: str, method: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(**kwargs)
        except ClientError as err:
            raise ConfigError(
                f"{what}: AWS answered {err.response['Error'].get('Code')}: "
                f"{err.response['Error'].get('Message')}",
                hint="check the region, the schedule group and the role's permissions",
            ) from None
        except BotoCoreError as err:
            raise ConfigError(f"{what}: {err}") from None

    def apply(self, schedule: Schedule) -> Applied:
        upload_package(schedule.root, schedule.flow.source_path)
        settings_pin.upload(schedule.root, schedule)
        self._ensure_driver_definition(schedule)
        client = self._client("scheduler")
        request = render(schedule, self.aws)
        exists = self._exists(client, schedule)
        method = client.update_schedule if exists else client.create_schedule
        self._call(f"applying schedule {schedule.name!r}", method, **request)
        return self.describe(schedule)

    def _ensure_driver_definition(self, schedule: Schedule) -> None:
        """Register the rendered driver definition where step definitions go (the pinned
        Batch region/endpoint); reused when one of that name is ACTIVE."""
        definition = driver_definition(schedule, self.aws)
        steps = pinned(schedule)
        if definition is None or steps is None:
            return
        from ..runtime.executors.batch_client import BatchClient, TransientError
        from ..runtime.executors.batch_job import BatchOptions

        client = BatchClient(BatchOptions.from_settings(steps, {}))
        try:
            client.ensure_definition(definition)
        except TransientError as err:
            raise ConfigError(
                f"registering the driver job definition of schedule {schedule.name!r}: {err}",
                hint="nothing was scheduled; try again",
            ) from None
        finally:
            client.close()

    def _exists(self, client: Any, schedule: Schedule) -> bool:
        try:
            client.get_schedule(Name=object_name(schedule), GroupName=self.aws.schedule_group)
        except client.exceptions.ResourceNotFoundException:
            return False
        return True

    def remove(self, schedule: Schedule) -> None:
        client = self._client("scheduler")
        if self._exists(client, schedule):
            self._call(
                f"deleting schedule {schedule.name!r}",
                client.delete_schedule,
                Name=object_name(schedule),
                GroupName=self.aws.schedule_group,
            )

    def list_names(self) -> list[str]:
        client = self._client("scheduler")
        found = self._call(
            "listing schedules",
            client.list_schedules,
            GroupName=self.aws.schedule_group,
            NamePrefix="jf-",
        )
        return sorted(s["Name"].removeprefix("jf-") for s in found.get("Schedules", []))

    def refresh(self, store: ScheduleStore, schedule: Schedule) -> None:
        """History from the runs this schedule started (tagged with its name) in the store."""
        refresh_from_runs(store, schedule, self.aws.store_url)

    def run_now(self, schedule: Schedule) -> str:
        request = submit_job_input(schedule, self.aws)
        batch = self._client("batch")
        answer = self._call(
            f"starting schedule {schedule.name!r}",
            batch.submit_job,
            jobName=request["JobName"],
            jobQueue=request["JobQueue"],
            jobDefinition=request["JobDefinition"],
            containerOverrides={
                "command": request["ContainerOverrides"]["Command"],
                "environment": [
                    {"name": e["Name"], "value": e["Value"]}
                    for e in request["ContainerOverrides"]["Environment"]
                ],
            },
            tags=request["Tags"],
        )
        return str(answer["jobId"])

    def describe_remote(self, schedule: Schedule) -> dict[str, Any]:
        """The schedule as EventBridge has it (for tests and ``show --json``)."""
        client = self._client("scheduler")
        found = self._call(
            "reading schedule",
            client.get_schedule,
            Name=object_name(schedule),
            GroupName=self.aws.schedule_group,
        )
        found["Target"]["Input"] = json.loads(found["Target"].get("Input") or "{}")
        return dict(found)
