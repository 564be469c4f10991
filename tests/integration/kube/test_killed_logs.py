"""The last words of a task the kernel's OOM killer ended (SIGKILL: nothing flushed, no
upload) reach the store: the driver copies them from the pod's log before the Job goes,
says so, and never copies a secret's value the task had masked."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jupyter_flow.client import latest_run
from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from tests.fakes.backends import kube_settings
from tests.fakes.k8s_api import FakeKubeAPI

if TYPE_CHECKING:
    from tests.integration.conftest import S3Server

TOKEN = "hf-t0ken-never-stored-42"
TRIGGER = "ALLOCATING-EVERYTHING"
FLOW = f"""
from jupyter_flow import Flow, Secret

flow = Flow("Killed", parameters={{"token": Secret("JF_KILLED_TOKEN")}})


@flow.prelude
def setup():
    print("early line, uploaded", flush=True)  # in the store: uploaded as the task reads
    # its secret, before the step runs (the periodic upload is far off in this test)


@flow.step(outputs=("x",))
def work(token):
    import time

    print("last words before the kill", flush=True)
    print("logging in with", token, flush=True)
    print("{TRIGGER}", flush=True)  # after the others: the same pipe, in order
    time.sleep(60)  # OOM-killed here: nothing of this step's output was uploaded
    return 1
"""


def test_the_last_words_of_an_oom_killed_pod_reach_the_store_masked(
    kube: FakeKubeAPI, s3_env: S3Server, write_flow: Callable[..., Path], cli
) -> None:
    creds = {k: v for k, v in s3_env.env.items() if k.startswith("AWS_")}
    data = {**creds, "JF_KILLED_TOKEN": TOKEN}
    name = f"killed-{time.time_ns()}"
    kube.cluster.secrets[("default", name)] = {
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    }
    plain = {k: v for k, v in s3_env.env.items() if not k.startswith("AWS_")}
    plain["JUPYTER_FLOW_LOG_UPLOAD_EVERY"] = "120"
    kube.cluster.faults["work"] = f"oom-after:{TRIGGER}"
    root = s3_env.fresh_url()
    settings = kube_settings(kube, root, secrets=[name], env=plain)
    path = write_flow(FLOW)
    with pytest.raises(RunFailed) as caught:
        run_flow(load_flow(path), settings=settings)
    message = str(caught.value)
    assert "OOMKilled" in message and "copied from the pod's log" in message

    run_id = latest_run("Killed", root=root).id
    shown = cli("logs", str(path), run_id, "work", env={"JUPYTER_FLOW_ROOT": root})
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    stdout_lines = [line for line in out.splitlines() if " stdout] " in line]
    assert [line.split("] ", 1)[1] for line in stdout_lines] == [
        "early line, uploaded",
        "last words before the kill",
        "logging in with ********",
        TRIGGER,
    ]
    assert "Its last 3 lines of output" in out  # the attempt's error, shown with its log
    assert all(TOKEN.encode() not in body for body in stored_blobs(s3_env, root).values())


def stored_blobs(s3: S3Server, root: str) -> dict[str, bytes]:
    """Every object under the store root ``root``, by key."""
    bucket, _, prefix = root[len("s3://") :].partition("/")
    client = s3.client()
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    assert found, f"nothing stored under {root}"
    return found


def test_a_pod_told_to_stop_uploads_its_log_itself(
    kube: FakeKubeAPI, s3_env: S3Server, write_flow: Callable[..., Path]
) -> None:
    """SIGTERM (a deleted pod, a drained node) unwinds the task, which uploads its log:
    nothing is missing, so nothing is copied from the pod's log."""
    name = f"creds-{time.time_ns()}"
    creds = {k: v for k, v in s3_env.env.items() if k.startswith("AWS_")}
    kube.cluster.secrets[("default", name)] = {
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in creds.items()}
    }
    plain = {k: v for k, v in s3_env.env.items() if not k.startswith("AWS_")}
    plain["JUPYTER_FLOW_LOG_UPLOAD_EVERY"] = "120"  # no periodic upload before the end
    kube.cluster.faults["work"] = f"term-after:{TRIGGER}"
    root = s3_env.fresh_url()
    path = write_flow(f"""
        import time
        from jupyter_flow import Flow

        flow = Flow("Stopped")

        @flow.step(outputs=("x",))
        def work():
            print("words before SIGTERM", flush=True)
            print("{TRIGGER}", flush=True)
            time.sleep(60)
            return 1
    """)
    settings = kube_settings(kube, root, secrets=[name], env=plain)
    with pytest.raises(RunFailed) as caught:
        run_flow(load_flow(path), settings=settings)
    assert "exited with code 143" in str(caught.value)
    assert "copied from" not in str(caught.value)
    logs = latest_run("Stopped", root=root).logs("work").splitlines()
    stdout = [line.split("] ", 1)[1] for line in logs if " stdout] " in line]
    assert stdout == ["words before SIGTERM", TRIGGER]
