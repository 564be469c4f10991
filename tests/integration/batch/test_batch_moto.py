"""The requests we send AWS Batch have the shapes the real API accepts (moto checks them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from jupyter_flow.client import latest_run
from jupyter_flow.config import Settings
from jupyter_flow.errors import ConfigError
from jupyter_flow.flow.resources import Resources
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.executors.batch_client import BatchClient
from jupyter_flow.runtime.executors.batch_job import BatchOptions, build_definition, build_submit
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.taskspec import CodeRef, TaskSpec
from tests.fakes.backends import AWS_TEST_ENV

ROLE_POLICY = '{"Version": "2012-10-17", "Statement": []}'


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    with mock_aws(config={"batch": {"use_docker": False}}):
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="batch", AssumeRolePolicyDocument=ROLE_POLICY)["Role"][
            "Arn"
        ]
        batch = boto3.client("batch")
        env = batch.create_compute_environment(
            computeEnvironmentName="jupyter-flow-ce",
            type="UNMANAGED",
            state="ENABLED",
            serviceRole=role,
        )
        batch.create_job_queue(
            jobQueueName="jupyter-flow-queue",
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[
                {"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}
            ],
        )
        yield "jupyter-flow-queue"


def spec(**changes: object) -> TaskSpec:
    base = TaskSpec(
        "Moto",
        "20261125-000000-00000000",
        "train",
        0,
        1,
        "s3://b/p",
        CodeRef("/f.py", "f"),
        (),
        ("model",),
        Resources(cpu=2, memory_mb=4096, gpu=1),
        timeout=30.0,
    )
    return TaskSpec(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_definition_registration_is_idempotent_and_jobs_are_accepted(queue: str) -> None:
    options = BatchOptions.from_settings({"queue": queue, "region": "us-east-1"}, {})
    client = BatchClient(options)
    request = build_definition("python:3.11-slim", spec().resources, options)
    arn = client.ensure_definition(request)
    assert BatchClient(options).ensure_definition(request) == arn  # a second driver reuses it
    revisions = boto3.client("batch").describe_job_definitions(
        jobDefinitionName=request["jobDefinitionName"]
    )
    assert len(revisions["jobDefinitions"]) == 1
    props = revisions["jobDefinitions"][0]["containerProperties"]
    assert {"type": "GPU", "value": "1"} in props["resourceRequirements"]

    job_id = client.submit(build_submit(spec(), arn, options))
    (view,) = client.describe([job_id])
    assert view.job_id == job_id and view.status in {
        "SUBMITTED",
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
    }
    described = boto3.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]
    assert described["jobName"].startswith("jf-Moto-train-0-1-")
    assert described["tags"]["jupyter-flow:task-id"] == spec().task_id
    client.terminate(job_id, "jupyter-flow: cancelled")


def test_describe_is_batched_by_hundreds(queue: str) -> None:
    options = BatchOptions.from_settings({"queue": queue, "region": "us-east-1"}, {})
    client = BatchClient(options)
    arn = client.ensure_definition(build_definition("python:3.11-slim", Resources(), options))
    ids = [
        client.submit(build_submit(spec(index=i, resources=Resources()), arn, options))
        for i in range(150)
    ]
    calls_before = client.calls
    assert {v.job_id for v in client.describe(ids)} == set(ids)
    assert client.calls - calls_before == 2


def test_a_queue_that_does_not_exist_stops_the_run_with_the_reason(
    queue: str, tmp_path: Path
) -> None:
    """Submission happens in threads; a rejection there must still reach the user."""
    module = tmp_path / "tiny.py"
    module.write_text(
        "from jupyter_flow import Flow\n"
        "flow = Flow('Tiny')\n\n"
        "@flow.step(outputs='x')\n"
        "def one():\n"
        "    return 1\n"
    )
    settings = Settings(
        root=str(tmp_path / "store"),
        executor="batch",
        extra={"batch": {"queue": "no-such-queue", "region": "us-east-1", "poll_interval": 0.1}},
    )
    with pytest.raises(ConfigError, match="AWS Batch rejected the request to submit jobs"):
        run_flow(load_flow(module), settings=settings)
    run = latest_run("Tiny", root=str(tmp_path / "store"))
    assert run.status == "failed"
