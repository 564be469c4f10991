"""The EventBridge driver's job definition carries the pinned Batch settings the steps get
(log group, Fargate storage and execution role), is never retried by Batch, and a driver
size Fargate cannot run is refused naming [default.aws]."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jupyter_flow.config import Settings
from jupyter_flow.errors import ConfigError
from jupyter_flow.schedule import aws_render
from jupyter_flow.schedule.aws import AwsTarget
from jupyter_flow.schedule.model import Schedule


def botocore_errors(operation: str, params: dict) -> str:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("batch")
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    return report.generate_report() if report.has_errors() else ""


FARGATE = {
    "queue": "flows",
    "image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/flows:2",
    "region": "eu-central-1",
    "platform": "FARGATE",
    "execution_role_arn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "ephemeral_storage": 60,
    "log_group": "/flows/nightly",
}


def _pinned(schedule: Schedule, batch: dict) -> Schedule:
    """Pinned by the AWS target itself, as ``schedule create`` does."""
    return AwsTarget(Settings(extra={"batch": batch})).pin_settings(replace(schedule, target="aws"))


def test_the_driver_definition_has_the_steps_batch_settings(golden_schedule: Schedule) -> None:
    schedule = _pinned(golden_schedule, FARGATE)
    opts = aws_render.AwsOptions(scheduler_role_arn="arn:aws:iam::1:role/s", job_queue="flows")
    definition = aws_render.driver_definition(schedule, opts)
    assert definition is not None
    assert not botocore_errors("RegisterJobDefinition", definition)
    container = definition["containerProperties"]
    assert container["command"] == list(aws_render.DRIVER_PLACEHOLDER)
    assert container["executionRoleArn"] == FARGATE["execution_role_arn"]
    assert container["ephemeralStorage"] == {"sizeInGiB": 60}
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/flows/nightly"
    assert definition["retryStrategy"] == {"attempts": 1}  # a second driver = a second run
    submit = aws_render.submit_job_input(schedule, opts)
    assert submit["JobDefinition"] == definition["jobDefinitionName"]


def test_a_driver_size_fargate_cannot_run_is_refused(golden_schedule: Schedule) -> None:
    schedule = _pinned(golden_schedule, FARGATE)
    opts = aws_render.AwsOptions(job_queue="flows", driver_cpu=1.0, driver_memory=1024)
    with pytest.raises(ConfigError) as caught:
        aws_render.driver_definition(schedule, opts)
    text = str(caught.value)
    assert "the scheduled driver job ([default.aws] driver_cpu, driver_memory)" in text
    assert "nearest Fargate size is cpu=1, memory='2Gi'" in text


def test_fargate_without_an_execution_role_cannot_be_scheduled(
    golden_schedule: Schedule,
) -> None:
    batch = {k: v for k, v in FARGATE.items() if k != "execution_role_arn"}
    with pytest.raises(ConfigError, match=r"needs \[default.batch\] execution_role_arn"):
        _pinned(golden_schedule, batch)
