"""The AWS target against moto's EventBridge Scheduler (CRUD only: moto never fires)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from jupyter_flow.errors import ConfigError
from jupyter_flow.schedule import api
from jupyter_flow.store.blobs import LocalBlobs

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


def test_without_job_definition_the_driver_definition_is_rendered_and_registered(
    project, aws, root: str
) -> None:
    toml = AWS_TOML.replace('job_definition = "jupyter-flow-driver:1"\n', "").replace(
        'queue = "flows"',
        'queue = "flows"\nimage = "acme/flows:2"\n'
        'job_role_arn = "arn:aws:iam::123456789012:role/flows-steps"',
    )
    path = project(toml)
    schedule = api.create_schedule(path, "0 3 * * *", target="aws", root=root)
    batch = boto3.client("batch", region_name="eu-central-1")
    found = batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]
    assert len(found) == 1
    container = found[0]["containerProperties"]
    assert container["image"] == "acme/flows:2"
    assert container["jobRoleArn"] == "arn:aws:iam::123456789012:role/flows-steps"
    submit = json.loads(_get("jf-fan-flow")["Target"]["Input"])
    assert submit["JobDefinition"] == found[0]["jobDefinitionName"]
    assert f"--settings {schedule.settings_key}" in submit["ContainerOverrides"]["Command"][2]
    # the pinned settings are in the store, where the driver reads them
    assert not LocalBlobs(root).missing_blobs([schedule.settings_key])
    # a pause re-renders from the stored schedule: the same definition, the same settings
    api.pause_schedule("fan-flow", root)
    again = json.loads(_get("jf-fan-flow")["Target"]["Input"])
    assert again["JobDefinition"] == submit["JobDefinition"]
    assert api.get_schedule("fan-flow", root).settings == schedule.settings
