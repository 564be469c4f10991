"""Local schedules fire from a running Jupyter server alone; with a server and a daemon on
one store every fire happens once, and killing the holder (SIGKILL) lets the other take
over; `schedule list` warns when nobody would fire. Real servers and daemons, stopped by
PID; waits poll with generous deadlines (the machine is shared)."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_flow.client import Run
from jupyter_flow.schedule import api
from jupyter_flow.schedule.store import ScheduleStore
from tests.integration.schedule.jupyter_server import JupyterServer
from tests.integration.schedule.test_local_daemon import AFTER_FLOW, Daemon, history, wait_for

pytestmark = pytest.mark.slow

NAME = "after-flow"
NO_SCHEDULER = "no scheduler is running for"


@pytest.fixture
def env(root: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "JUPYTER_FLOW_ROOT": root,  # the server root's settings name this store
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),  # its known stores
        "JUPYTER_FLOW_SCHEDULER_TICK": "0.2",
        "JUPYTER_FLOW_RETRY_BACKOFF": "0",
    }


@pytest.fixture
def server(tmp_path: Path, env: dict[str, str], root: str) -> Iterator[JupyterServer]:
    served = tmp_path / "served"
    served.mkdir()
    jupyter = JupyterServer(served, tmp_path / "server.log", env)
    yield jupyter
    jupyter.stop(signal.SIGKILL)
    for entry in ScheduleStore(root).history(active_only=True):  # runs left behind
        if entry.pid:
            try:
                os.kill(entry.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def daemon(root: str, tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(root, tmp_path / "scheduler.log")
    yield d
    if d.proc is not None:
        d.stop(signal.SIGKILL)


def done(root: str) -> list[str]:
    return [h.run_id or "" for h in history(root, NAME) if h.status == "done"]


def test_the_server_alone_fires_a_local_schedule(
    write_flow, root: str, server: JupyterServer, cli
) -> None:
    api.create_schedule(write_flow(AFTER_FLOW, name="after_flow.py"), "*/2 * * * * *", root=root)
    listed = cli("schedule", "list")
    assert listed.returncode == 0
    assert f"warning: {NO_SCHEDULER} {root}: local schedules will not fire" in listed.stderr
    assert "jupyter flow scheduler" in listed.stderr

    server.start()
    wait_for("a run fired by the server", lambda: bool(done(root)))
    status = api.scheduler_status(root)
    assert (status.alive, status.pid, status.kind) == (True, server.pid, "jupyter-server")
    answer = server.get("jupyter-flow/schedules")
    assert [s["name"] for s in answer["schedules"]] == [NAME]
    assert answer["scheduler"]["alive"] is True
    assert answer["scheduler"]["pid"] == server.pid and answer["scheduler"]["in_server"]
    assert answer["scheduler"]["since"] <= answer["schedules"][0]["recent"][-1]["started"]
    shown = cli("schedule", "history", NAME)
    assert shown.returncode == 0
    run_id = done(root)[0]
    assert run_id in shown.stdout and "done" in shown.stdout and "cron" in shown.stdout
    run = Run(f"AfterFlow/{run_id}", root=root)
    assert run.data.note == "ran after TickFlow"
    assert run.summary()["schedule"] == NAME  # the run says which schedule started it
    assert NO_SCHEDULER not in cli("schedule", "list").stderr

    assert server.stop(signal.SIGTERM) is not None  # a clean stop lets go of the lease
    assert not api.scheduler_status(root).alive
    assert not (Path(root) / "scheduler.pid").exists()
    assert NO_SCHEDULER in cli("schedule", "list").stderr
    assert "local scheduler running in this server" in server.log.read_text()


def test_server_off_leaves_schedules_to_the_daemon(
    write_flow, root: str, server: JupyterServer
) -> None:
    api.create_schedule(write_flow(AFTER_FLOW, name="after_flow.py"), "*/2 * * * * *", root=root)
    server.start("--FlowSchedulerApp.enabled=False")
    answer = server.get("jupyter-flow/schedules")
    assert answer["scheduler"] == {
        "alive": False, "pid": None, "host": None, "since": None, "kind": None,
        "in_server": False,
    }  # fmt: skip
    assert "local scheduler off" in server.log.read_text()
    assert history(root, NAME) == []


def test_servers_and_daemon_fire_each_time_once_and_take_over(
    write_flow, root: str, server: JupyterServer, daemon: Daemon, tmp_path: Path
) -> None:
    api.create_schedule(write_flow(AFTER_FLOW, name="after_flow.py"), "*/2 * * * * *", root=root)
    server.start()
    wait_for("the server to take the lease", lambda: api.scheduler_status(root).alive)
    daemon.start()
    assert daemon.proc is not None
    wait_for("the daemon to stand by", lambda: "standing by" in daemon.log.read_text())
    assert "a Jupyter server" in daemon.log.read_text()
    wait_for("three runs", lambda: len(done(root)) >= 3)
    assert api.scheduler_status(root).pid == server.pid

    server.stop(signal.SIGKILL)  # the holder dies without letting go
    before = len(history(root, NAME))
    wait_for("the daemon to take over", lambda: "took over" in daemon.log.read_text())
    assert api.scheduler_status(root).pid == daemon.proc.pid
    wait_for("fires from the daemon", lambda: len(done(root)) >= 3 + 2)
    assert len(history(root, NAME)) > before

    server.start()  # a server started while the daemon holds the lease stands by
    wait_for("the server to stand by", lambda: "standing by" in server.log.read_text())
    daemon.stop(signal.SIGKILL)
    wait_for("the server to take over", lambda: "took over" in server.log.read_text())
    wait_for("a fire from the server", lambda: api.scheduler_status(root).pid == server.pid)
    # a second Jupyter server on the same store stands by too
    other_root = tmp_path / "served-too"
    other_root.mkdir()
    other = JupyterServer(other_root, tmp_path / "other-server.log", server.env)
    try:
        other.start()
        wait_for("the second server to stand by", lambda: "standing by" in other.log.read_text())
        assert api.scheduler_status(root).pid == server.pid
        count = len(done(root))
        wait_for("more runs", lambda: len(done(root)) >= count + 2)
        api.pause_schedule(NAME, root)
    finally:
        other.stop(signal.SIGKILL)

    entries = history(root, NAME)
    fired = Counter(h.fire_time for h in entries)
    assert [t for t, n in fired.items() if n > 1] == []  # every fire time started once
    run_ids = [h.run_id for h in entries if h.run_id]
    assert len(run_ids) == len(set(run_ids))


def test_a_restarted_server_fires_the_sub_folder_stores_it_fired_before(
    tmp_path: Path, env: dict[str, str]
) -> None:
    served = tmp_path / "served"
    project = served / "proj"
    project.mkdir(parents=True)
    (project / "after_flow.py").write_text(AFTER_FLOW)
    store = str(project / ".jupyter_flow")  # a notebook folder's own default store
    api.create_schedule(project / "after_flow.py", "*/2 * * * * *", root=store)
    env = {k: v for k, v in env.items() if k != "JUPYTER_FLOW_ROOT"}
    jupyter = JupyterServer(served, tmp_path / "server.log", env)
    try:
        jupyter.start()
        assert not api.scheduler_status(store).alive  # not its root's store: not known yet
        answer = jupyter.get("jupyter-flow/schedules", root="proj/.jupyter_flow")
        assert answer["scheduler"]["alive"] is True  # the panel asked: taken up at once
        wait_for("a run in the sub-folder's store", lambda: len(done(store)) >= 1)
        jupyter.stop()
        count = len(done(store))
        jupyter.start()  # nobody asks this time
        wait_for("a run after the restart", lambda: len(done(store)) > count)
        assert api.scheduler_status(store).pid == jupyter.pid
    finally:
        api.pause_schedule(NAME, store)
        jupyter.stop(signal.SIGKILL)
