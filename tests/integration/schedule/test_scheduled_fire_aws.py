"""An EventBridge fire played end to end: the schedule is created against moto's Scheduler
and the fake Batch (which gets the rendered driver job definition), then the SubmitJob
EventBridge would send is sent to the fake Batch, which runs the driver; the driver runs
its steps there with the pinned Batch settings. Jobs inherit no JUPYTER_FLOW_* variables
and the process's AWS secret key is wrong while they run: the store is reachable only
through the pinned settings (the secret from the job definitions, the S3 endpoint env)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from jupyter_flow.client import latest_run
from jupyter_flow.schedule import api
from tests.fakes.batch_api import FakeBatchAPI

from .test_scheduled_fire_kubernetes import STEPS_FLOW

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:flows-s3"
STEP_ROLE = "arn:aws:iam::123456789012:role/flows-steps"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/flows:2"


@pytest.fixture
def batch() -> Iterator[FakeBatchAPI]:
    with FakeBatchAPI(slots=6) as api_server:
        yield api_server


def _toml(moto: str, batch: str, s3: str) -> str:
    return f"""
[default.aws]
scheduler_role_arn = "arn:aws:iam::123456789012:role/flows-scheduler"
region = "us-east-1"
endpoint_url = "{moto}"

[default.batch]
queue = "flows"
region = "us-east-1"
endpoint_url = "{batch}"
image = "{IMAGE}"
job_role_arn = "{STEP_ROLE}"
poll_interval = 0.1
secrets = {{AWS_SECRET_ACCESS_KEY = "{SECRET_ARN}"}}

[default.batch.env]
JUPYTER_FLOW_S3_ENDPOINT_URL = "{s3}"
FLOW_STAGE = "nightly"
FAIL_ITEM = "0"
"""


def _submit_job(input_text: str, code: Path) -> dict:
    """EventBridge's universal target: the Input's SubmitJob members, in camelCase; the
    command made local (our Python, ``/code`` -> ``code``)."""
    request = json.loads(input_text)
    over = request["ContainerOverrides"]
    script = over["Command"][2].replace("/code", str(code))
    script = script.replace("python -", f"{sys.executable} -")
    return {
        "jobName": request["JobName"],
        "jobQueue": request["JobQueue"],
        "jobDefinition": request["JobDefinition"],
        "containerOverrides": {
            "command": [*over["Command"][:2], script],
            "environment": [
                {"name": e["Name"], "value": e["Value"].replace("/code", str(code))}
                for e in over["Environment"]
            ],
        },
        "tags": request["Tags"],
    }


def test_an_eventbridge_fire_runs_the_driver_and_steps_with_the_pinned_settings(
    project, batch: FakeBatchAPI, moto_server, s3_env, tmp_path: Path, monkeypatch
) -> None:
    root = s3_env.fresh_url()
    path = project(_toml(moto_server.endpoint, batch.url, s3_env.endpoint))
    path.write_text(STEPS_FLOW)
    api.create_schedule(path, "0 3 * * *", target="aws", root=root)
    scheduler = boto3.client(
        "scheduler", region_name="us-east-1", endpoint_url=moto_server.endpoint
    )
    found = scheduler.get_schedule(Name="jf-fire-flow", GroupName="default")
    request = _submit_job(found["Target"]["Input"], tmp_path / "code")
    # the driver's definition was rendered from the pinned settings and registered
    driver_def = batch._definition(request["jobDefinition"])
    assert driver_def is not None, request["jobDefinition"]
    assert driver_def["containerProperties"]["image"] == IMAGE
    assert driver_def["containerProperties"]["jobRoleArn"] == STEP_ROLE

    batch.secrets[SECRET_ARN] = s3_env.env["AWS_SECRET_ACCESS_KEY"]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-key")  # what the jobs inherit
    client = boto3.client("batch", region_name="us-east-1", endpoint_url=batch.url)
    job_id = client.submit_job(**request)["jobId"]
    end = time.monotonic() + 240
    while time.monotonic() < end and batch.jobs[job_id].doc["status"] not in (
        "SUCCEEDED",
        "FAILED",
    ):
        time.sleep(0.2)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_env.env["AWS_SECRET_ACCESS_KEY"])
    driver = batch.jobs[job_id]
    log = driver.log.read_text()
    assert driver.doc["status"] == "SUCCEEDED", log
    run = latest_run("FireFlow", root=root)
    assert run.status == "done", log
    assert run.data.stages == [(1, "nightly"), (2, "nightly")]

    steps = [j for j in batch.jobs.values() if j.doc["tags"].get("jupyter-flow:flow") == "FireFlow"]
    assert len(steps) == 3  # two work tasks and the join
    for step in steps:
        props = step.definition["containerProperties"]
        assert (props["image"], props["jobRoleArn"]) == (IMAGE, STEP_ROLE)
        assert props["secrets"] == [{"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": SECRET_ARN}]
        env = {e["name"]: e["value"] for e in step.doc["container"]["environment"]}
        assert env["FLOW_STAGE"] == "nightly"
        assert step.doc["jobQueue"] == "flows"
