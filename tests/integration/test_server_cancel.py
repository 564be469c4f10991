"""Stopping a run from JupyterLab: ``POST runs/FLOW/ID/cancel`` against the real engine.

A run this server started is stopped as Ctrl-C would stop it (its tasks end, the run is
``cancelled``, finished steps are kept); a finished run, a run started elsewhere and an
unknown run are refused with a message; the endpoint is guarded like starting a run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_flow.server import launcher as launcher_module
from jupyter_flow.server.base import LAUNCHER_KEY
from jupyter_flow.server.launcher import Launch, Launcher
from jupyter_flow.store import open_store
from jupyter_flow.store.records import Records
from tests.integration.server_auth import login_cookie

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NB = "demo/slow.ipynb"
FLOW = "SlowFlow"
CELLS = [
    ("delay = 30", ["parameters"]),
    ("%%step load\nnumbers = [1, 2, 3]", []),
    ("%%step wait\nimport time\ntime.sleep(delay)\ntotal = sum(numbers)", []),
]
ACTIVE = ("starting", "running")


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


@pytest.fixture
def notebook(jp_root_dir, monkeypatch) -> Path:
    monkeypatch.delenv("JUPYTER_FLOW_ROOT", raising=False)
    nb = nbformat.v4.new_notebook()
    for source, tags in CELLS:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    path = jp_root_dir / NB
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


@pytest.fixture
def launcher(jp_serverapp, monkeypatch) -> Iterator[Launcher]:
    """The server's launcher; whatever a test started through it is killed afterwards."""
    launcher: Launcher = jp_serverapp.web_app.settings[LAUNCHER_KEY]
    started: list[Launch] = []
    start = launcher.start

    def recording_start(*args: Any, **kwargs: Any) -> Launch:
        launch = start(*args, **kwargs)
        started.append(launch)
        return launch

    monkeypatch.setattr(launcher, "start", recording_start)
    yield launcher
    for launch in started:
        assert launch.process is not None
        if launch.running:
            _kill_group(launch.process.pid)
        launch.wait(30)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def data(response: Any) -> Any:
    return json.loads(response.body)


def post(jp_fetch, route: str, body: Any = None, **kwargs: Any) -> Any:
    return jp_fetch("jupyter-flow", route, method="POST", body=json.dumps(body or {}), **kwargs)


def cancel(jp_fetch, run_id: str, flow: str = FLOW, **kwargs: Any) -> Any:
    return post(jp_fetch, f"runs/{flow}/{run_id}/cancel", params={"path": NB}, **kwargs)


async def refused(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as info:
        await call
    assert info.value.response is not None
    text = info.value.response.body.decode()
    assert "Traceback" not in text
    return info.value.code, json.loads(text) if text.startswith("{") else {}


async def summary(jp_fetch, run_id: str) -> dict[str, Any]:
    return data(await jp_fetch("jupyter-flow", "runs", FLOW, run_id, params={"path": NB}))


async def wait_until(jp_fetch, run_id: str, done: Any, timeout: float = 60) -> dict[str, Any]:
    """Poll the run's status as the panel does until ``done(summary)`` (a run started
    elsewhere is unknown until it writes its first record)."""
    state: dict[str, Any] = {}
    for _ in range(int(timeout / 0.1)):
        try:
            state = await summary(jp_fetch, run_id)
        except HTTPClientError as err:
            if err.code != 404:
                raise
        if state and done(state):
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not get there in {timeout} s: {state}")


def waiting_in_the_slow_step(state: dict[str, Any]) -> bool:
    steps = {s["name"]: s["status"] for s in state["steps"]}
    return state["status"] == "running" and steps.get("wait") == "running"


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# ---------------------------------------------------------------- the engine


async def test_stop_a_running_run_cancels_it_and_keeps_finished_steps(jp_fetch, notebook, launcher):
    run = data(await post(jp_fetch, "run", {"path": NB, "backend": "local"}))
    await wait_until(jp_fetch, run["id"], waiting_in_the_slow_step)
    answer = await cancel(jp_fetch, run["id"])
    assert answer.code == 202
    assert data(answer) == {"id": run["id"], "flow": FLOW, "status": "cancelling"}
    state = await wait_until(jp_fetch, run["id"], lambda s: s["status"] not in ACTIVE)
    assert state["status"] == "cancelled", state
    steps = {s["name"]: s for s in state["steps"]}
    assert steps["load"]["status"] == "done"  # kept for resume
    assert steps["wait"]["tasks_done"] == 0
    # the step stopped with the run, not still "running" in a run that ended
    assert steps["wait"]["status"] == "cancelled", steps["wait"]
    assert steps["wait"]["tasks_running"] == 0 and steps["wait"]["tasks_stopped"] == 1
    launch = launcher.get(run["id"])
    assert launch is not None and launch.process is not None
    assert await asyncio.to_thread(launch.wait, 30) == 130  # the CLI's "interrupted"
    assert_gone(launch.process.pid)
    records = Records(open_store(str(notebook.parent / ".jupyter_flow")))
    attempts = records.attempts(FLOW, run["id"])
    assert {a.step for a in attempts} >= {"wait"}
    for attempt in attempts:  # the worker sleeping in "wait" was stopped with the run
        if attempt.pid:
            assert_gone(attempt.pid)
    code, body = await refused(cancel(jp_fetch, run["id"]))
    assert code == 409
    assert "already ended" in body["message"] and "cancelled" in body["message"]


async def test_stop_a_finished_run_is_a_409_saying_how_it_ended(jp_fetch, notebook, launcher):
    body = {"path": NB, "backend": "local", "parameters": {"delay": 0}}
    run = data(await post(jp_fetch, "run", body))
    state = await wait_until(jp_fetch, run["id"], lambda s: s["status"] not in ACTIVE)
    assert state["status"] == "done", state
    launch = launcher.get(run["id"])
    assert launch is not None
    await asyncio.to_thread(launch.wait, 30)
    code, answer = await refused(cancel(jp_fetch, run["id"]))
    assert code == 409
    assert answer["error"] == "Conflict"
    assert "already ended" in answer["message"] and "done" in answer["message"]
    assert (await summary(jp_fetch, run["id"]))["status"] == "done"


async def test_stop_a_run_started_elsewhere_is_a_409_with_a_hint(jp_fetch, notebook):
    exported = data(await post(jp_fetch, "export", {"path": NB}))
    root = data(await jp_fetch("jupyter-flow", "backends", params={"path": NB}))["root"]
    module = notebook.parent / Path(exported["module_path"]).name
    run_id = "elsewhere-1"
    argv = launcher_module.command(module, root=root, run_id=run_id, backend="local", params={})
    proc = subprocess.Popen(
        argv,
        cwd=notebook.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await wait_until(jp_fetch, run_id, waiting_in_the_slow_step)
        code, answer = await refused(cancel(jp_fetch, run_id))
        assert code == 409
        assert "started elsewhere" in answer["hint"]
        assert "Ctrl-C" in answer["hint"] and "%flow cancel" in answer["hint"]
        await asyncio.sleep(0.5)
        assert proc.poll() is None  # not stopped, not signalled
        assert (await summary(jp_fetch, run_id))["status"] == "running"
    finally:
        _kill_group(proc.pid)
        await asyncio.to_thread(proc.wait, 30)


async def test_stop_an_unknown_run_is_a_404(jp_fetch, notebook):
    code, answer = await refused(cancel(jp_fetch, "nope"))
    assert code == 404
    assert "nope" in answer["message"]


# ---------------------------------------------------------------- without the engine


@pytest.fixture
def sleeper(launcher, notebook, monkeypatch) -> Launch:
    """A launched "run" that only sleeps and writes to its log each SIGINT it receives."""

    def command(module, *, root, run_id, backend, params):
        script = (
            "import signal, sys, time\n"
            "signal.signal(signal.SIGINT, lambda *_: print('SIGINT', flush=True))\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n"
        )
        return [sys.executable, "-c", script]

    monkeypatch.setattr(launcher_module, "command", command)
    root = str(notebook.parent / ".jupyter_flow")
    launch = launcher.start(
        notebook, flow=FLOW, root=root, run_id="r-sleep", backend="local", params={}
    )
    for _ in range(300):
        if "ready" in launch.log_tail():
            return launch
        launch.wait(0.05)
    raise AssertionError(f"the sleeper did not start: {launch.log_tail()!r}")


async def test_a_second_stop_does_not_interrupt_the_first(jp_fetch, sleeper):
    for _ in range(2):
        answer = await cancel(jp_fetch, sleeper.run_id)
        assert answer.code == 202
    await asyncio.sleep(0.5)
    assert sleeper.log_tail().count("SIGINT") == 1
    assert sleeper.running


async def test_unauthenticated_stop_is_refused(jp_fetch, sleeper):
    code, _ = await refused(cancel(jp_fetch, sleeper.run_id, headers={"Authorization": ""}))
    assert code == 403
    await asyncio.sleep(0.3)
    assert "SIGINT" not in sleeper.log_tail()


async def test_cookie_session_without_xsrf_token_cannot_stop(jp_fetch, sleeper):
    cookie = await login_cookie(jp_fetch)
    headers = {"Authorization": "", "Cookie": cookie}
    code, _ = await refused(cancel(jp_fetch, sleeper.run_id, headers=headers))
    assert code == 403
    await asyncio.sleep(0.3)
    assert "SIGINT" not in sleeper.log_tail()


async def test_a_user_who_may_not_execute_cannot_stop(read_only_server, jp_fetch, sleeper):
    code, _ = await refused(cancel(jp_fetch, sleeper.run_id))
    assert code == 403
    await asyncio.sleep(0.3)
    assert "SIGINT" not in sleeper.log_tail()
    assert (await summary(jp_fetch, sleeper.run_id))["status"] == "starting"
