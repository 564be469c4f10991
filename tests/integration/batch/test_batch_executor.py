"""AWS Batch end to end against the fake endpoint: failures in plain words, logs from
CloudWatch, definitions reused, cancel terminates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_flow.errors import RunCancelled, RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.observer import RunObserver
from tests.fakes.backends import batch_settings
from tests.fakes.batch_api import FakeBatchAPI


def one_step(write_flow: Callable[..., Path], options: str = "", body: str = "return 1") -> Path:
    return write_flow(f"""
        import time
        from jupyter_flow import Flow

        flow = Flow("One")

        @flow.step(outputs=("x",){options})
        def work():
            {body}
    """)


def run(path: Path, batch: FakeBatchAPI, root: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return run_flow(load_flow(path), settings=batch_settings(batch, root), **kwargs)  # type: ignore[arg-type]


def test_out_of_memory_names_the_limit(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    batch.faults["work"] = "oom"
    with pytest.raises(RunFailed) as caught:
        run(one_step(write_flow, ', memory="2G"'), batch, root)
    text = str(caught.value)
    assert "out of memory" in text and "2Gi" in text and "OutOfMemoryError" in text


def test_an_image_that_cannot_be_pulled_is_named(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/does-not-exist:2"
    with pytest.raises(RunFailed, match="could not be pulled: CannotPullContainerError") as caught:
        run(one_step(write_flow, f", image={image!r}"), batch, root)
    assert image in str(caught.value)


def test_a_lost_instance_is_reported_and_retried(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    batch.faults["work"] = "host-terminated"
    with pytest.raises(RunFailed, match=r"instance running the task went away") as caught:
        run(one_step(write_flow, ", retries=1", body="time.sleep(30)"), batch, root)
    assert "Host EC2" in str(caught.value)


def test_a_spot_reclaim_is_retried_by_batch_not_by_the_steps_retries(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    batch.faults["work"] = "host-terminated-once"
    before = set(batch.jobs)
    result = run(one_step(write_flow, body="time.sleep(1); return 5"), batch, root)
    assert result.data.x == 5  # no retries=: Batch started it again on another host
    (job,) = [j for i, j in batch.jobs.items() if i not in before]
    assert [a["statusReason"] for a in job.doc["attempts"]] == [
        "Host EC2 (instance i-0fake) terminated.",
        "Essential container in task exited",
    ]
    assert len(result["work"].attempts) == 1  # one attempt of the step, as on local


def test_the_steps_own_failure_is_not_retried_by_batch(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    before = set(batch.jobs)
    with pytest.raises(RunFailed, match="no"):
        run(one_step(write_flow, body="raise ValueError('no')"), batch, root)
    (job,) = [j for i, j in batch.jobs.items() if i not in before]
    assert job.doc["status"] == "FAILED" and len(job.doc["attempts"]) == 1


def test_definitions_are_registered_once_per_image_and_resources(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        from jupyter_flow import Flow

        flow = Flow("Defs", parameters={"xs": [1, 2, 3]})

        @flow.step(foreach="x in xs", outputs=("y",), cpu=2, memory="1G")
        def double(x):
            return 2 * x

        @flow.step(outputs=("z",), cpu=2, memory="1G")
        def total(y):
            return sum(y)

        @flow.step(outputs=("w",), gpu=1)
        def on_gpu(z):
            return z + 1
    """)
    before = batch.calls["registerjobdefinition"]
    assert run(path, batch, root).data.w == 13
    assert run(path, batch, root).data.w == 13
    assert batch.calls["registerjobdefinition"] - before == 2  # one per distinct resources
    gpu_defs = [
        d
        for revs in batch.definitions.values()
        for d in revs
        if {"type": "GPU", "value": "1"} in d["containerProperties"]["resourceRequirements"]
    ]
    assert len(gpu_defs) == 1


def test_logs_come_from_cloudwatch(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    result = run(one_step(write_flow, body="print('to the console'); return 1"), batch, root)
    assert "to the console" in result["work"].task.stdout
    streams = [events for (group, _), events in batch.streams.items() if group == "/aws/batch/job"]
    assert streams, "the job wrote no CloudWatch stream"


def test_a_container_that_dies_shows_its_cloudwatch_log(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        import os
        from jupyter_flow import Flow

        flow = Flow("Dies")

        @flow.step()
        def dies():
            os.write(1, b"")
            os._exit(7)
    """)
    with pytest.raises(RunFailed, match="code 7"):
        run(path, batch, root)


class _Interrupt(RunObserver):
    def __init__(self, batch: FakeBatchAPI) -> None:
        self.batch = batch

    def poll(self) -> None:
        if any(j.doc["status"] == "RUNNING" for j in list(self.batch.jobs.values())):
            raise KeyboardInterrupt


def test_cancel_terminates_the_runs_jobs(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path]
) -> None:
    with pytest.raises(RunCancelled):
        run(one_step(write_flow, body="time.sleep(60)"), batch, root, observer=_Interrupt(batch))
    cancelled = [
        j.doc for j in batch.jobs.values() if j.doc["statusReason"] == "jupyter-flow: cancelled"
    ]
    assert cancelled and all(doc["status"] == "FAILED" for doc in cancelled)
    assert all(j.proc is None or j.proc.poll() is not None for j in batch.jobs.values())
