"""Retries, timeouts, catch, dying workers and user errors."""

from __future__ import annotations

import pytest

from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.loader import load_flow

FLAKY = """
import os
from pathlib import Path
from jupyter_flow import Flow

HERE = Path(__file__).parent
flow = Flow("Flaky")


@flow.step(outputs="value", retries={retries})
def flaky():
    marker = HERE / "attempted"
    first = not marker.exists()
    marker.touch()
    if first:
        {failure}
    return 42


@flow.step(outputs="doubled")
def after(value):
    return value * 2
"""


def flaky(write_flow, failure: str, retries: int):
    return load_flow(write_flow(FLAKY.format(failure=failure, retries=retries)))


def test_a_failed_attempt_is_retried(write_flow, root):
    flow = flaky(write_flow, 'raise RuntimeError("first time fails")', retries=2)
    run = flow.run(root=root)
    assert run.data.doubled == 84
    attempts = run["flaky"].attempts
    assert [a.status for a in attempts] == ["failed", "done"]
    assert "first time fails" in attempts[0].error.traceback


@pytest.mark.parametrize(
    ("failure", "words"),
    [("os.kill(os.getpid(), 9)", "SIGKILL"), ("__import__('ctypes').string_at(0)", "SIGSEGV")],
)
def test_a_dead_worker_is_replaced_and_the_task_retried(write_flow, root, failure, words):
    flow = flaky(write_flow, failure, retries=1)
    run = flow.run(root=root)
    assert run.data.doubled == 84
    first = run["flaky"].attempts[0]
    assert first.status == "failed" and words in first.error.message


def test_os_exit_without_retries_fails_the_run_in_plain_words(write_flow, root):
    flow = flaky(write_flow, "os._exit(3)", retries=0)
    with pytest.raises(RunFailed) as err:
        flow.run(root=root)
    assert "'flaky'" in str(err.value)
    assert "exited with code 3" in str(err.value)


def test_a_step_that_always_fails_shows_the_users_traceback(write_flow, root, cli):
    source = """
    from jupyter_flow import Flow
    flow = Flow("Broken")

    def helper(x):
        return x / 0

    @flow.step(outputs="y", retries=1)
    def compute():
        return helper(1)

    if __name__ == "__main__":
        flow.main()
    """
    path = write_flow(source)
    result = cli("run", str(path))
    assert result.returncode == 1
    assert "step 'compute' failed (" in result.stderr  # where, then the exception
    assert "ZeroDivisionError" in result.stderr
    assert "in helper" in result.stderr and "return x / 0" in result.stderr
    assert "jupyter_flow/runtime" not in result.stderr  # no engine frames
    assert "resume" in result.stderr
    shown = cli("show", str(path))
    assert "failed" in shown.stdout and "ZeroDivisionError" in shown.stdout


def test_timeout_kills_a_stuck_task(write_flow, root):
    source = """
    import time
    from jupyter_flow import Flow
    flow = Flow("Stuck")

    @flow.step(timeout=1)
    def stuck():
        time.sleep(60)
    """
    with pytest.raises(RunFailed, match="longer than its timeout of 1s"):
        load_flow(write_flow(source)).run(root=root)


def test_catch_records_the_error_and_the_flow_continues(write_flow, root):
    source = """
    from jupyter_flow import Flow
    flow = Flow("Caught")

    @flow.step(outputs="model", catch=True)
    def train():
        raise MemoryError("too big")

    @flow.step(outputs="report")
    def report(model):
        return "no model" if model is None else "ok"
    """
    run = load_flow(write_flow(source)).run(root=root)
    assert run.status == "done"
    assert run.data.report == "no model"
    task = run["train"].task
    assert task.status == "caught"
    assert task.exception is not None and "too big" in task.exception.message


def test_unpicklable_output_names_the_step_output_and_type(write_flow, root):
    source = """
    import threading
    from jupyter_flow import Flow
    flow = Flow("Locky")

    @flow.step(outputs="guard")
    def make():
        return threading.Lock()
    """
    with pytest.raises(RunFailed) as err:
        load_flow(write_flow(source)).run(root=root)
    text = str(err.value)
    assert "'guard'" in text and "lock" in text.lower() and "'make'" in text


def test_wrong_number_of_returned_values_is_explained(write_flow, root):
    source = """
    from jupyter_flow import Flow
    flow = Flow("Count")

    @flow.step(outputs=("a", "b"))
    def make():
        return 1
    """
    with pytest.raises(RunFailed, match=r"declares outputs \('a', 'b'\) but returned int"):
        load_flow(write_flow(source)).run(root=root)
