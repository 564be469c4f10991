"""The AWS target against moto's EventBridge Scheduler (CRUD only: moto never fires)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from jupyter_flow.errors import ConfigError
from jupyter_flow.schedule import api

AWS_TOML = """
[default.aws]
scheduler_role_arn = "arn:aws:iam::123456789012:role/flows-scheduler"
region = "eu-central-1"
store_url = "s3://acme-flows/prod"

job_definition = "jupyter-flow-driver:1"

[default.batch]
queue = "flows"
"""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def _get(name: str) -> dict:
    client = boto3.client("scheduler", region_name="eu-central-1")
    return client.get_schedule(Name=name, GroupName="default")


def test_aws_schedule_lifecycle(project, aws, root: str) -> None:
    path = project(AWS_TOML)
    api.create_schedule(
        path, "15 6 * * 1-5", target="aws", timezone="America/New_York", root=root,
        params={"items": "[4, 5]"},
    )  # fmt: skip
    found = _get("jf-fan-flow")
    assert found["ScheduleExpression"] == "cron(15 6 ? * 2-6 *)"
    assert found["ScheduleExpressionTimezone"] == "America/New_York"
    assert found["State"] == "ENABLED"
    assert found["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:batch:submitJob"
    assert found["Target"]["RoleArn"] == "arn:aws:iam::123456789012:role/flows-scheduler"
    submit = json.loads(found["Target"]["Input"])
    assert (submit["JobQueue"], submit["JobDefinition"]) == ("flows", "jupyter-flow-driver:1")
    assert "--param 'items=[4, 5]'" in submit["ContainerOverrides"]["Command"][2]

    api.pause_schedule("fan-flow", root)
    assert _get("jf-fan-flow")["State"] == "DISABLED"
    api.resume_schedule("fan-flow", root)
    assert _get("jf-fan-flow")["State"] == "ENABLED"
    assert api.target_for("aws", root).list_names() == ["fan-flow"]

    api.delete_schedule("fan-flow", root)
    client = boto3.client("scheduler", region_name="eu-central-1")
    assert client.list_schedules()["Schedules"] == []
    assert api.list_schedules(root) == []


def test_aws_rejects_what_eventbridge_cannot_express(project, aws, root: str) -> None:
    path = project(AWS_TOML)
    with pytest.raises(ConfigError, match="both day-of-month and day-of-week"):
        api.create_schedule(path, "0 3 1 * 1", target="aws", root=root)
    client = boto3.client("scheduler", region_name="eu-central-1")
    assert client.list_schedules()["Schedules"] == []
    assert api.list_schedules(root) == []
