"""A join over 200 foreach branches on the fake AWS Batch, which refuses what Batch refuses:
``containerOverrides`` over 8192 characters and a SubmitJob over 30 KiB (the task spec of a
join, in the overrides' environment before it moved to the store, passed both from ~40 and
~130 branches)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from tests.fakes.backends import batch_settings
from tests.fakes.batch_api import FakeBatchAPI

WIDE = """
    from jupyter_flow import Flow

    flow = Flow("Wide", parameters={"n": 200})

    @flow.step(outputs=("xs",))
    def start(n):
        return list(range(n))

    @flow.step(foreach="x in xs", outputs=("y",), cpu=0.25, memory="128M")
    def square(x):
        return x * x

    @flow.step(outputs=("total",))
    def join(y):
        return sum(y), len(y)
"""


def test_a_join_over_200_branches_runs_on_batch(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    before = batch.calls["submitjob"]
    result = run_flow(load_flow(write_flow(WIDE)), settings=batch_settings(batch, root))
    assert result.data.total == (sum(i * i for i in range(200)), 200)
    assert batch.calls["submitjob"] - before == 202  # start, 200 branches, the join


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (8200, "Container Overrides length must be at most 8192"),
        (31 * 1024, "Job size must be less than 30 KiB, got 32 KiB"),
    ],
)
def test_the_fake_refuses_what_batch_refuses(batch: FakeBatchAPI, size: int, message: str) -> None:
    client = boto3.client("batch", endpoint_url=batch.url, region_name="us-east-1")
    definition = client.register_job_definition(
        jobDefinitionName="limits",
        type="container",
        containerProperties={"image": "python:3.11-slim", "command": ["true"]},
    )["jobDefinitionArn"]
    with pytest.raises(ClientError) as caught:
        client.submit_job(
            jobName="big",
            jobQueue="q",
            jobDefinition=definition,
            containerOverrides={"environment": [{"name": "BIG", "value": "x" * size}]},
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "ClientException" and error["Message"] == message
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
