"""Every attempt handed to the Batch executor is reported back (done, or a failure naming the
task), whatever its submit thread meets, also when Batch forgets its job or the fake breaks:
an attempt never reported would be waited for forever. Each run is watched: a hang fails the
test instead of blocking it."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.errors import ConfigError, RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.executors import batch as batch_executor
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.observer import RunObserver
from tests.fakes.backends import batch_settings
from tests.fakes.batch_api import FakeBatchAPI

WIDE = """
from jupyter_flow import Flow

flow = Flow("Wide", parameters={"n": 8})

@flow.step(outputs=("items",))
def start(n):
    return list(range(n))

@flow.step(foreach="item in items", outputs=("square",), cpu=0.25, memory="128M")
def square(item):
    return item * item
"""


def _watched(call: Callable[[], Any], seconds: float = 120) -> Any:
    """``call()``'s result or exception; a failure if it has not returned in ``seconds``."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as err:  # handed to the test's thread
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"the run was still waiting after {seconds:g}s: an attempt was never reported")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture
def switching_gc() -> Iterator[None]:
    """A collection releases the GIL (as a finalizer closing a socket does), so another
    thread runs in the middle of whatever allocated: ``ast.parse`` building its tree, say."""

    def yield_gil(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            time.sleep(0)

    gc.callbacks.append(yield_gil)
    try:
        yield
    finally:
        gc.callbacks.remove(yield_gil)


def test_a_foreach_is_submitted_whole_while_the_drivers_threads_interleave(
    batch: FakeBatchAPI, root: str, write_flow: Callable[..., Path], switching_gc: None
) -> None:
    """CPython 3.11 raises ``SystemError: AST constructor recursion depth mismatch`` when two
    threads parse at once; the launcher in each job definition was parsed in the submit
    threads, and the attempt whose thread met it was never submitted nor reported."""
    path = write_flow(WIDE)
    result = _watched(lambda: run_flow(load_flow(path), settings=batch_settings(batch, root)))
    assert result.data.square == [i * i for i in range(8)]


def test_an_unexpected_error_in_a_submit_thread_fails_the_task_by_name(
    batch: FakeBatchAPI,
    root: str,
    write_flow: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = batch_executor.build_submit

    def flaky_build(spec: Any, *args: Any) -> dict[str, Any]:
        if spec.step == "square" and spec.index == 3:
            raise RuntimeError("the signer fell over")
        return real(spec, *args)

    monkeypatch.setattr(batch_executor, "build_submit", flaky_build)
    path = write_flow(WIDE.replace('"Wide"', '"WideBroken"'))
    started = time.monotonic()
    with pytest.raises(RunFailed) as caught:
        _watched(lambda: run_flow(load_flow(path), settings=batch_settings(batch, root)))
    text = str(caught.value)
    assert "square" in text and "/square/3/" in text, text
    assert "could not be submitted to AWS Batch: RuntimeError: the signer fell over" in text
    assert time.monotonic() - started < 60
    ours = [j.doc["tags"] for j in batch.jobs.values()]
    squares = [t["jupyter-flow:task-id"] for t in ours if t["jupyter-flow:flow"] == "WideBroken"]
    assert not any("/square/3/" in task for task in squares)  # never submitted, yet reported


class _ForgetRunningJobs(RunObserver):
    """Batch deletes the flow's jobs once they run (as an expired or purged job vanishes)."""

    def __init__(self, api: FakeBatchAPI, flow: str) -> None:
        self.api, self.flow = api, flow

    def poll(self) -> None:
        with self.api.lock:
            for job_id, job in list(self.api.jobs.items()):
                tags = job.doc["tags"]
                if tags.get("jupyter-flow:flow") == self.flow and job.doc["status"] == "RUNNING":
                    self.api._kill(job)
                    del self.api.jobs[job_id]


SLEEPER = """
import time
from jupyter_flow import Flow

flow = Flow("Forgotten")

@flow.step()
def sleeps():
    time.sleep(120)
"""


def test_a_job_batch_no_longer_knows_fails_its_task_by_name(
    batch: FakeBatchAPI,
    root: str,
    write_flow: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch_executor, "MISSING_GRACE", 1.0)
    path = write_flow(SLEEPER)
    observer = _ForgetRunningJobs(batch, "Forgotten")
    settings = batch_settings(batch, root)
    started = time.monotonic()
    with pytest.raises(RunFailed) as caught:
        _watched(lambda: run_flow(load_flow(path), settings=settings, observer=observer), 60)
    text = str(caught.value)
    assert "AWS Batch no longer knows the job" in text and "/sleeps/0/1" in text, text
    assert time.monotonic() - started < 45


def test_a_fake_whose_scheduler_died_fails_the_run_and_its_teardown(
    root: str, write_flow: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fake must not hide its own bug behind jobs that never move."""
    from tests.fakes.backends import AWS_TEST_ENV

    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    api = FakeBatchAPI().start()

    def broken(*args: Any) -> bool:
        raise KeyError("a bug in the fake")

    monkeypatch.setattr(api, "_advance", broken)
    path = write_flow(WIDE)
    try:
        with pytest.raises(ConfigError, match="scheduler died") as caught:
            _watched(lambda: run_flow(load_flow(path), settings=batch_settings(api, root)), 60)
        assert "KeyError: 'a bug in the fake'" in str(caught.value)
    finally:
        with pytest.raises(RuntimeError, match="scheduler died"):
            api.stop()
