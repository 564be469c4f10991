"""One behaviour everywhere: the same flows give the same results and the same failures on
the local executor, on Kubernetes (the fake API server) and on AWS Batch (the fake endpoint).

Each test is what a user would notice: artifacts and their order, a retried flaky step,
their own traceback, a timeout named as such, their prints in the logs, Ctrl-C stopping
the remote tasks, resume reusing finished work.
"""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jupyter_flow.client import Run
from jupyter_flow.config import Settings
from jupyter_flow.errors import RunCancelled, RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.observer import RunObserver
from tests.fakes.backends import AWS_TEST_ENV, batch_settings, kube_settings, local_settings
from tests.fakes.batch_api import FakeBatchAPI
from tests.fakes.k8s_api import FakeKubeAPI

if TYPE_CHECKING:
    from tests.integration.conftest import S3Server

BACKENDS = ["local", "kubernetes", "batch"]


@pytest.fixture(scope="module")
def kube_api() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI() as api:
        yield api


@pytest.fixture(scope="module")
def batch_api() -> Iterator[FakeBatchAPI]:
    with FakeBatchAPI() as api:
        yield api


@pytest.fixture(params=BACKENDS)
def settings(
    request: pytest.FixtureRequest, root: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    if request.param == "kubernetes":
        return kube_settings(request.getfixturevalue("kube_api"), root)
    if request.param == "batch":
        for key, value in AWS_TEST_ENV.items():
            monkeypatch.setenv(key, value)
        return batch_settings(request.getfixturevalue("batch_api"), root)
    return local_settings(root)


def run(path: Path, settings: Settings, **kwargs: object) -> Run:
    return run_flow(load_flow(path), settings=settings, **kwargs)  # type: ignore[arg-type]


FOREACH = """
from jupyter_flow import Flow

flow = Flow("Squares", parameters={"n": 5})

@flow.step(outputs=("items",))
def start(n):
    return [{"i": i, "label": f"item-{i}"} for i in range(n)]

@flow.step(foreach="item in items", outputs=("square",), cpu=0.5, memory="256M")
def square(item):
    print(f"squaring {item['i']}")
    return item["i"] ** 2

@flow.step(outputs=("total", "order"))
def join(square, items):
    return sum(square), [i["label"] for i in items]
"""


def test_foreach_gives_the_same_artifacts_in_item_order(
    settings: Settings, write_flow: Callable[..., Path]
) -> None:
    result = run(write_flow(FOREACH), settings, params={"n": 6})
    assert result.successful
    assert result.data.square == [0, 1, 4, 9, 16, 25]
    assert result.data.total == 55
    assert result.data.order == [f"item-{i}" for i in range(6)]
    assert [t.index for t in result["square"].tasks] == list(range(6))


def test_a_flaky_step_is_retried_and_then_succeeds(
    settings: Settings, write_flow: Callable[..., Path], tmp_path: Path
) -> None:
    marker = tmp_path / "tried-once"
    path = write_flow(f"""
        from pathlib import Path
        from jupyter_flow import Flow

        flow = Flow("Flaky")

        @flow.step(retries=2, outputs=("value",))
        def flaky():
            marker = Path({str(marker)!r})
            if not marker.exists():
                marker.write_text("x")
                raise ConnectionError("the database hiccuped")
            return 42
    """)
    result = run(path, settings)
    assert result.data.value == 42
    attempts = result["flaky"].attempts
    assert [a.status for a in attempts] == ["failed", "done"]
    assert attempts[0].error is not None and "the database hiccuped" in attempts[0].error.message
    assert result["flaky"].task.record.attempt == 2


def test_the_users_exception_fails_the_run_with_their_traceback(
    settings: Settings, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        from jupyter_flow import Flow

        flow = Flow("Broken")

        @flow.step(outputs=("x",))
        def ok():
            return 1

        @flow.step()
        def broken(x):
            values = {"a": x}
            return values["missing"]
    """)
    with pytest.raises(RunFailed) as caught:
        run(path, settings)
    text = str(caught.value)
    assert "step 'broken'" in text and "KeyError: 'missing'" in text
    assert 'return values["missing"]' in text  # their line, not our internals
    assert "jupyter_flow/runtime" not in text


def test_a_step_over_its_timeout_is_stopped_and_called_a_timeout(
    settings: Settings, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        import time
        from jupyter_flow import Flow

        flow = Flow("Slow")

        @flow.step(timeout=1)
        def slow():
            time.sleep(60)
    """)
    started = time.monotonic()
    with pytest.raises(RunFailed, match="timeout of 1s"):
        run(path, settings)
    assert time.monotonic() - started < 30


def test_a_process_that_dies_is_reported_as_such(
    settings: Settings, write_flow: Callable[..., Path]
) -> None:
    path = write_flow("""
        import os
        from jupyter_flow import Flow

        flow = Flow("Dies")

        @flow.step()
        def dies():
            os._exit(3)
    """)
    with pytest.raises(RunFailed, match="code 3"):
        run(path, settings)


def test_prints_are_in_the_logs(settings: Settings, write_flow: Callable[..., Path]) -> None:
    path = write_flow("""
        import sys
        from jupyter_flow import Flow

        flow = Flow("Chatty")

        @flow.step()
        def chatty():
            print("hello from the step")
            print("a warning", file=sys.stderr)
    """)
    result = run(path, settings)
    task = result["chatty"].task
    assert "hello from the step" in task.stdout
    assert "a warning" in task.stderr
    assert "hello from the step" in result.logs()


class _InterruptWhenRunning(RunObserver):
    """Ctrl-C once the step has started beating (as a user would after seeing it run)."""

    def __init__(self, beat: Path) -> None:
        self.beat = beat

    def poll(self) -> None:
        if self.beat.exists():
            raise KeyboardInterrupt


def test_interrupting_the_driver_stops_the_running_tasks(
    settings: Settings, write_flow: Callable[..., Path], tmp_path: Path
) -> None:
    beat = tmp_path / "beat"
    path = write_flow(f"""
        import time
        from pathlib import Path
        from jupyter_flow import Flow

        flow = Flow("Spinner")

        @flow.step()
        def spin():
            for _ in range(1200):
                Path({str(beat)!r}).write_text(str(time.time()))
                time.sleep(0.05)
    """)
    with pytest.raises(RunCancelled):
        run(path, settings, observer=_InterruptWhenRunning(beat))
    time.sleep(0.5)  # let a kill land
    last = beat.read_text()
    time.sleep(0.6)
    assert beat.read_text() == last, "the task kept running after the run was cancelled"


def test_resume_reuses_finished_tasks_and_recomputes_the_failed_step(
    settings: Settings, write_flow: Callable[..., Path], tmp_path: Path
) -> None:
    fixed = tmp_path / "fixed"
    path = write_flow(f"""
        from pathlib import Path
        from jupyter_flow import Flow

        flow = Flow("Resumable", parameters={{"ks": [1, 2, 3]}})

        @flow.step(outputs=("base",))
        def first():
            return 10

        @flow.step(foreach="k in ks", outputs=("part",))
        def spread(k, base):
            return base + k

        @flow.step(outputs=("answer",))
        def finish(part):
            if not Path({str(fixed)!r}).exists():
                raise RuntimeError("not yet")
            return sum(part)
    """)
    with pytest.raises(RunFailed, match="not yet"):
        run(path, settings)
    fixed.write_text("yes")
    first_run = next(Path(settings.root, "runs", "Resumable").iterdir()).name
    resumed = run(path, settings, resume=first_run)
    assert resumed.data.answer == 36
    assert resumed["first"].task.record.origin_run == first_run
    assert all(t.record.origin_run == first_run for t in resumed["spread"].tasks)
    assert resumed["finish"].task.record.origin_run is None


def test_an_s3_store_gives_the_same_artifacts(
    settings: Settings,
    write_flow: Callable[..., Path],
    s3_env: S3Server,
    request: pytest.FixtureRequest,
) -> None:
    """The code travels as a package in the store; credentials reach pods through a Secret."""
    s3 = s3_env
    backend = dict(settings.backend_options(settings.executor))
    if settings.executor == "kubernetes":
        kube: FakeKubeAPI = request.getfixturevalue("kube_api")
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config

        api = k8s_config.new_client_from_config(
            config_file=str(kube.kubeconfig), persist_config=False
        )
        creds = {k: v for k, v in s3.env.items() if k.startswith("AWS_")}
        data = {k: base64.b64encode(v.encode()).decode() for k, v in creds.items()}
        name = f"s3-{time.time_ns()}"
        k8s.CoreV1Api(api).create_namespaced_secret(
            "default", {"metadata": {"name": name}, "data": data}
        )
        backend["secrets"] = [name]
    if settings.executor != "local":
        plain = {k: v for k, v in s3.env.items() if not k.startswith("AWS_")}
        backend["env"] = plain
    extra = {**settings.extra, settings.executor: backend} if settings.executor != "local" else {}
    on_s3 = dataclasses.replace(settings, root=s3.fresh_url(), extra=extra)
    result = run(write_flow(FOREACH), on_s3, params={"n": 4})
    assert result.data.square == [0, 1, 4, 9]
    assert result.data.order == [f"item-{i}" for i in range(4)]
    assert "squaring 3" in result["square"].tasks[3].stdout
