"""How local workers start: forked from the driver, or a new interpreter when forking is unsafe.

Either way a task runs in its own process: one that kills itself is a failed attempt that is
retried, its output is in its log, and the driver lives on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from jupyter_flow.runtime.loader import load_flow

KILLS_ITSELF_ONCE = """
import os
import threading
import time
from pathlib import Path
from jupyter_flow import Flow

HERE = Path(__file__).parent
if os.environ.get("FLOW_STARTS_A_THREAD"):
    threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
flow = Flow("KillsItself")


@flow.step(outputs="value", retries=1)
def first():
    marker = HERE / "attempted"
    again = marker.exists()
    marker.touch()
    print("attempt in", os.getpid(), flush=True)
    if not again:
        os.kill(os.getpid(), 9)
    return 21


@flow.step(outputs="doubled")
def second(value):
    print("second got", value)
    return value * 2
"""


@pytest.mark.parametrize(
    ("start", "thread"), [("", ""), ("spawn", ""), ("", "1")], ids=["fork", "spawn", "threaded"]
)
def test_a_task_that_kills_itself_is_retried_however_workers_start(
    write_flow, root, monkeypatch, start, thread
):
    monkeypatch.setenv("JUPYTER_FLOW_WORKER_START", start)
    monkeypatch.setenv("FLOW_STARTS_A_THREAD", thread)
    monkeypatch.setenv("JUPYTER_FLOW_RETRY_BACKOFF", "0.05")
    run = load_flow(write_flow(KILLS_ITSELF_ONCE)).run(root=root)
    assert run.status == "done" and run.data.doubled == 42
    attempts = run["first"].attempts
    assert [a.status for a in attempts] == ["failed", "done"]
    assert "SIGKILL" in attempts[0].error.message
    assert "second got 21" in run["second"].task.stdout
    assert run["first"].task.stdout.startswith("attempt in")


NOTEBOOK_STACK = {
    "IPython", "nbformat", "traitlets", "croniter", "jsonschema", "zmq", "tornado",
    "jupyter_client", "jupyter_server", "boto3", "botocore", "kubernetes",
}  # fmt: skip

PROBE = """
import json, runpy, sys
sys.argv = [sys.argv[1], "run", "-q"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as stop:
    assert not stop.code, stop.code
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_a_plain_local_run_imports_no_notebook_or_cloud_stack(write_flow, root):
    flow_file = write_flow(KILLS_ITSELF_ONCE)
    (flow_file.parent / "attempted").touch()  # no kill: this is about imports
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROBE), str(flow_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JUPYTER_FLOW_ROOT": root},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "jupyter_flow" in loaded
    assert loaded & NOTEBOOK_STACK == set()
