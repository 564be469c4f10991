"""History of remote schedules, read from the runs they started: only this schedule's runs,
kept up to date as runs finish, and never duplicated by refreshing again."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.schedule import api
from jupyter_flow.schedule.model import FlowShape, Schedule
from jupyter_flow.schedule.store import ScheduleStore
from jupyter_flow.store import open_store
from jupyter_flow.store.records import Records

TINY = """
from jupyter_flow import Flow
flow = Flow("TinyFlow", parameters={"n": 1})

@flow.step(outputs="m")
def double(n):
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return 2 * n
"""


@pytest.fixture
def tiny(write_flow) -> Path:
    return write_flow(TINY)


def _schedule(root: str, path: Path, target: str, name: str = "nightly") -> Schedule:
    """A remote schedule over ``root`` as ``create`` would store it (nothing applied)."""
    shape = FlowShape.of(load_flow(path), str(path), "ab" * 32)
    schedule = Schedule(name=name, flow=shape, target=target, cron="0 3 * * *", root=root)
    ScheduleStore(root).put(schedule)
    return schedule


def _run(path: Path, root: str, schedule: str = "", n: int = 1) -> str:
    return run_flow(load_flow(path), {"n": n}, root=root, max_workers=1, schedule=schedule).id


@pytest.mark.parametrize("target", ["kubernetes", "argo", "aws"])
def test_history_lists_the_runs_this_schedule_started_and_no_others(tiny, root, target):
    _schedule(root, tiny, target)
    first = _run(tiny, root, schedule="nightly")
    _run(tiny, root)  # by hand, same flow
    _run(tiny, root, schedule="weekly")  # another schedule of the same flow
    second = _run(tiny, root, schedule="nightly")

    history = api.schedule_history("nightly", root=root)

    assert [(e.run_id, e.status, e.trigger) for e in history] == [
        (first, "done", "cron"),
        (second, "done", "cron"),
    ]
    record = Records(open_store(root)).read_run("TinyFlow", first)
    assert record is not None
    assert history[0].fire_time == record.created
    assert history[0].finished == record.finished


def test_a_failed_run_shows_failed_with_the_error(tiny, root):
    _schedule(root, tiny, "kubernetes")
    with pytest.raises(RunFailed):
        _run(tiny, root, schedule="nightly", n=-1)

    [entry] = api.schedule_history("nightly", root=root)

    assert entry.status == "failed"
    assert "n must be >= 0, got -1" in entry.reason


def test_a_running_entry_is_updated_when_its_run_finishes(tiny, root):
    _schedule(root, tiny, "argo")
    run_id = _run(tiny, root, schedule="nightly")
    records = Records(open_store(root))
    done = records.read_run("TinyFlow", run_id)
    assert done is not None
    # the same run as seen while a pod still drives it (beating from another host)
    records.write_run(replace(done, status="running", finished=None))
    records.heartbeat("TinyFlow", run_id, "pod-in-the-cluster", 1)

    [running] = api.schedule_history("nightly", root=root)
    assert (running.run_id, running.status, running.finished) == (run_id, "running", None)

    records.write_run(done)
    [finished] = api.schedule_history("nightly", root=root)
    assert (finished.id, finished.status, finished.finished) == (running.id, "done", done.finished)


def test_a_run_whose_driver_stopped_beating_is_lost(tiny, root):
    _schedule(root, tiny, "aws")
    run_id = _run(tiny, root, schedule="nightly")
    records = Records(open_store(root))
    done = records.read_run("TinyFlow", run_id)
    assert done is not None
    records.write_run(replace(done, status="running", finished=None))
    # the pod's last beat, an hour ago: the driver died without finishing the record
    beat = {"time": time.time() - 3600, "host": "pod-in-the-cluster", "pid": 1}
    records.store.put(f"runs/TinyFlow/{run_id}/heartbeat.json", json.dumps(beat).encode())

    [entry] = api.schedule_history("nightly", root=root)

    assert entry.status == "lost"


def test_refreshing_again_does_not_duplicate_entries(tiny, root):
    _schedule(root, tiny, "kubernetes")
    _run(tiny, root, schedule="nightly")
    once = api.schedule_history("nightly", root=root)

    again = api.schedule_history("nightly", root=root)
    _run(tiny, root, schedule="nightly")
    third = api.schedule_history("nightly", root=root)

    assert again == once
    assert len(third) == 2 and third[0] == once[0]


def test_old_run_records_without_a_schedule_still_load(tiny, root):
    run_id = _run(tiny, root)
    path = Path(root) / f"runs/TinyFlow/{run_id}/run.json"
    path.write_text(path.read_text().replace(',"schedule":""', ""))
    assert '"schedule"' not in path.read_text()

    record = Records(open_store(root)).read_run("TinyFlow", run_id)

    assert record is not None and record.schedule == "" and record.status == "done"
