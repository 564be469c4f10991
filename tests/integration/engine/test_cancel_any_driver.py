"""``cancel RUN`` is honoured by the runner itself: a driver with no view at all (a
script's ``run_flow`` in a thread, as a kernel or a service drives one, where no SIGINT
can reach it) stops, records the run cancelled and keeps its finished tasks."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from jupyter_flow.client import list_runs
from jupyter_flow.errors import RunCancelled
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.cancel_request import request_cancel
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.observer import RunObserver
from jupyter_flow.store import open_store

WAITER = """
import os, time
from jupyter_flow import Flow

flow = Flow("Waiter")


@flow.step(outputs="x")
def start():
    return 1


@flow.step(outputs="y")
def wait(x):
    deadline = time.time() + 60
    while not os.path.exists({go!r}) and time.time() < deadline:
        time.sleep(0.05)
    return x
"""


def test_a_run_with_no_view_stops_on_request(write_flow, root, tmp_path: Path) -> None:
    go = tmp_path / "go"
    flow = load_flow(write_flow(WAITER.format(go=str(go)), name="waiter_flow.py"))
    outcome: dict[str, Any] = {}

    def drive() -> None:
        try:
            outcome["run"] = run_flow(flow, root=root, observer=RunObserver(), max_workers=2)
        except BaseException as err:  # what the driver's caller sees
            outcome["error"] = err

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    try:
        deadline = time.monotonic() + 60
        while not list(Path(root).glob("runs/Waiter/*/wait/0/attempt-1.json")):
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        (run,) = list_runs("Waiter", root=root)
        asked = time.monotonic()
        store = open_store(root)
        request_cancel(store, "Waiter", run.id)
        store.close()
        driver.join(timeout=30)
        assert not driver.is_alive(), "the driver did not honour the request"
        assert time.monotonic() - asked < 15
    finally:
        go.touch()  # release the task, whatever happened
        driver.join(timeout=30)
    assert isinstance(outcome.get("error"), RunCancelled), outcome
    assert f"resume {run.id}" in outcome["error"].format()
    (after,) = list_runs("Waiter", root=root)
    assert after.status == "cancelled"
    assert [t.step for t in after._engine.records.tasks("Waiter", run.id)][-1] == "start"
