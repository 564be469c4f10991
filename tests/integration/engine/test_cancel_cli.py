"""``jupyter flow cancel RUN`` / ``python flow.py cancel RUN`` stops a run started in another
terminal (with its live view or ``--quiet``), says what it did, and refuses a finished or
unknown run with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_flow.client import list_runs

SLEEPY = """
import time
from jupyter_flow import Flow

flow = Flow("Sleepy")


@flow.step(outputs="x")
def start():
    return 1


@flow.step(outputs="y")
def nap(x):
    print("napping", flush=True)
    time.sleep(120)
    return x


if __name__ == "__main__":
    flow.main()
"""


@pytest.fixture
def sleepy(write_flow, root):
    path = write_flow(SLEEPY, name="sleepy_flow.py")
    env = {**os.environ, "JUPYTER_FLOW_ROOT": root}

    def start(*extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(path), "run", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )

    return path, start


def _running_id(root: str, timeout: float = 60) -> str:
    """The run's id once its sleeping task has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list_runs("Sleepy", root=root)
        if runs and list(Path(root).glob(f"runs/Sleepy/{runs[0].id}/nap/0/attempt-1.json")):
            return runs[0].id
        time.sleep(0.1)
    raise AssertionError("the run did not start")


def _stop(driver: subprocess.Popen[str]) -> str:
    try:
        return driver.communicate(timeout=60)[0]
    finally:
        if driver.poll() is None:
            driver.kill()


def test_cancel_stops_a_terminal_run_and_refuses_it_afterwards(sleepy, root, cli):
    _, start = sleepy
    driver = start()
    run_id = _running_id(root)
    started = time.monotonic()
    result = cli("cancel", run_id)
    said = _stop(driver)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20  # not the step's 120 s
    assert f"cancelled Sleepy/{run_id}" in result.stdout
    assert f"continue it with: resume {run_id}" in result.stdout
    assert driver.returncode == 130 and "cancelled" in said
    (run,) = list_runs("Sleepy", root=root)
    assert run.status == "cancelled"
    assert [t.step for t in run._engine.records.tasks("Sleepy", run_id)][-1] == "start"

    again = cli("cancel", f"Sleepy/{run_id}")
    assert again.returncode == 1
    assert f"Sleepy/{run_id} was already cancelled at" in again.stderr
    assert "nothing to cancel" in again.stderr and "Traceback" not in again.stderr


def test_cancel_from_the_flow_file_stops_a_quiet_run(sleepy, root):
    path, start = sleepy
    driver = start("--quiet")
    run_id = _running_id(root)
    env = {**os.environ, "JUPYTER_FLOW_ROOT": root}
    result = subprocess.run(
        [sys.executable, str(path), "cancel", run_id],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    _stop(driver)
    assert result.returncode == 0, result.stderr
    assert f"cancelled Sleepy/{run_id}" in result.stdout
    assert list_runs("Sleepy", root=root)[0].status == "cancelled"


def test_cancel_refuses_an_unknown_or_finished_run(write_flow, root, cli):
    unknown = cli("cancel", "20990101-000000-deadbeef")
    assert unknown.returncode == 2
    assert "there is no run 20990101-000000-deadbeef" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("Quick")

        @flow.step(outputs="x")
        def start():
            return 1

        if __name__ == "__main__":
            flow.main()
        """
    )
    assert cli("run", str(path)).returncode == 0
    (run,) = list_runs("Quick", root=root)
    done = cli("cancel", str(path), run.id)
    assert done.returncode == 1
    assert f"Quick/{run.id} already finished at" in done.stderr
    assert "nothing to cancel" in done.stderr
