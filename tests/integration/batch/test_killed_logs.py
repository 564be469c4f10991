"""The last words of a Batch job killed for memory (SIGKILL: no upload) reach the store:
the driver copies them from the job's CloudWatch log, says so, and copies no secret's
value (the task masked it before the container printed it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jupyter_flow.client import latest_run
from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from tests.fakes.backends import batch_settings
from tests.fakes.batch_api import FakeBatchAPI
from tests.integration.kube.test_killed_logs import FLOW, TOKEN, TRIGGER, stored_blobs

if TYPE_CHECKING:
    from tests.integration.conftest import S3Server

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:killed-token"


def test_the_last_words_of_an_oom_killed_job_reach_the_store_masked(
    batch: FakeBatchAPI, s3_env: S3Server, write_flow: Callable[..., Path], cli
) -> None:
    batch.secrets[ARN] = TOKEN
    batch.faults["work"] = f"oom-after:{TRIGGER}"
    plain = {k: v for k, v in s3_env.env.items() if not k.startswith("AWS_")}
    plain["JUPYTER_FLOW_LOG_UPLOAD_EVERY"] = "120"  # only the upload as the secret is read
    root = s3_env.fresh_url()
    settings = batch_settings(batch, root, env=plain, secrets={"JF_KILLED_TOKEN": ARN})
    path = write_flow(FLOW)
    with pytest.raises(RunFailed) as caught:
        run_flow(load_flow(path), settings=settings)
    message = str(caught.value)
    assert "out of memory" in message and "copied from the job's CloudWatch log" in message

    run_id = latest_run("Killed", root=root).id
    shown = cli("logs", str(path), run_id, "work", env={"JUPYTER_FLOW_ROOT": root})
    assert shown.returncode == 0, shown.stderr
    stdout = [line.split("] ", 1)[1] for line in shown.stdout.splitlines() if " stdout] " in line]
    assert stdout == [
        "early line, uploaded",
        "last words before the kill",
        "logging in with ********",
        TRIGGER,
    ]
    assert "Its last 3 lines of output" in shown.stdout
    assert all(TOKEN.encode() not in body for body in stored_blobs(s3_env, root).values())
