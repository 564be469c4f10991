"""A non-default CloudWatch log group, end to end against the fake Batch: the job definition
tells awslogs where to write, the driver reads the same group and stream, and the log of a
container that died before the task could record it is what ``jupyter flow logs`` shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_flow.cli import main
from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from tests.fakes.backends import batch_settings
from tests.fakes.batch_api import FakeBatchAPI

MARK = "said-only-to-cloudwatch"


def test_logs_of_a_custom_group_are_read_back_by_jupyter_flow_logs(
    batch: FakeBatchAPI,
    root: str,
    write_flow: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_flow(f"""
        import os
        import time
        from jupyter_flow import Flow

        flow = Flow("TeamLogs")

        @flow.step()
        def dies():
            os.write(1, b"{MARK}\\n")
            time.sleep(0.5)  # the tee copies it to the container's stdout
            os._exit(7)  # before the task can record anything
    """)
    settings = batch_settings(batch, root, log_group="/flows/team-a", log_stream_prefix="team-a")
    with pytest.raises(RunFailed, match="code 7"):
        run_flow(load_flow(path), settings=settings)

    streams = {key: events for key, events in batch.streams.items() if key[0] == "/flows/team-a"}
    assert streams, "the job did not log into the group of its definition"
    (_, stream), events = next(iter(streams.items()))
    assert stream.startswith("team-a/default/")
    assert MARK in [e["message"] for e in events]

    with pytest.raises(SystemExit) as done:
        main(["logs", str(path), "--root", root])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    # the error's log tail can only have come from CloudWatch: the task never recorded it
    assert f"[dies/0#1 error] {MARK}" in shown
