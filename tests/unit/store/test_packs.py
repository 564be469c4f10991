"""Packing an ended run's records: a failure half-way loses nothing and reads the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_flow.errors import StoreFull
from jupyter_flow.store.blobs import LocalBlobs
from jupyter_flow.store.packs import decode, encode
from jupyter_flow.store.records import AttemptRecord, Records, RunRecord, TaskRecord


def _run(records: Records, n: int = 4) -> RunRecord:
    run = RunRecord("F", "r", "running", created=1.0)
    records.write_run(run)
    for i in range(n):
        records.write_attempt(AttemptRecord("F", "r", "s", i, 1, "done", 1.0, 2.0))
        records.write_task(TaskRecord("F", "r", "s", i, "done", 1, 1.0, 2.0))
    return run


def test_a_crash_between_pack_and_delete_leaves_both_reading_the_same(tmp_path: Path, monkeypatch):
    store = LocalBlobs(tmp_path)
    records = Records(store)
    run = _run(records)
    before = records.tasks("F", "r")

    def killed(paths):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(store, "delete_many", killed)
    with pytest.warns(UserWarning, match="stay unpacked"):
        records.set_run_status(run, "done")
    assert (tmp_path / "runs/F/r/records.jsonl").is_file()
    assert (tmp_path / "runs/F/r/s/0/task.json").is_file()
    assert Records(store).tasks("F", "r") == before
    monkeypatch.undo()
    assert records.pack_run("F", "r") == 8  # the next packing finishes the job
    assert Records(store).tasks("F", "r") == before


def test_a_full_disk_keeps_the_records_loose(tmp_path: Path, monkeypatch):
    store = LocalBlobs(tmp_path)
    records = Records(store)
    run = _run(records)
    real_put = store.put

    def full(path: str, data: bytes) -> None:
        if path.endswith("records.jsonl"):
            raise StoreFull("the store is full")
        real_put(path, data)

    monkeypatch.setattr(store, "put", full)
    with pytest.warns(UserWarning, match="stay unpacked"):
        ended = records.set_run_status(run, "done")
    assert ended.status == "done" and records.read_run("F", "r").status == "done"
    assert len(Records(store).tasks("F", "r")) == 4
    assert not (tmp_path / "runs/F/r/records.jsonl").exists()


def test_a_pack_costs_well_under_a_kilobyte_per_trivial_task() -> None:
    tasks = [
        TaskRecord("SweepFlow", "20261203-0", "fit", i, "done", 1, 1.0, 2.0) for i in range(100)
    ]
    attempts = [
        AttemptRecord("SweepFlow", "20261203-0", "fit", i, 1, "done", 1.0, 2.0) for i in range(100)
    ]
    data = encode(tasks, attempts)
    assert len(data) / 100 < 1024
    pack = decode(data)
    assert list(pack.tasks.values()) == tasks and not pack.damaged


def test_a_damaged_line_is_named_and_the_rest_reads() -> None:
    tasks = [TaskRecord("F", "r", "s", i, "done", 1, 1.0, 2.0) for i in range(3)]
    lines = encode(tasks, []).split(b"\n")
    lines[1] = lines[1][:10]
    pack = decode(b"\n".join(lines))
    assert sorted(pack.tasks) == [("s", 0), ("s", 2)]
    assert pack.damaged and pack.damaged[0].startswith("line 2:")


def test_packing_keeps_each_record_as_written_and_skips_a_damaged_one(tmp_path: Path) -> None:
    store = LocalBlobs(tmp_path)
    records = Records(store)
    run = _run(records, n=3)
    before = records.tasks("F", "r")
    (tmp_path / "runs/F/r/s/1/attempt-1.json").write_bytes(b'{"flow": "F", "run_id"\n')
    with pytest.warns(UserWarning, match=r"attempt-1\.json"):
        records.set_run_status(run, "done")
    assert [p.name for p in (tmp_path / "runs/F/r").rglob("*.json")] == ["run.json"]
    fresh = Records(store)
    assert fresh.tasks("F", "r") == before
    assert [(a.step, a.index) for a in fresh.attempts("F", "r")] == [("s", 0), ("s", 2)]


def test_a_record_packed_again_reads_as_its_latest_version(tmp_path: Path) -> None:
    store = LocalBlobs(tmp_path)
    records = Records(store)
    run = _run(records, n=2)
    records.set_run_status(run, "done")
    redone = TaskRecord("F", "r", "s", 1, "caught", 2, 3.0, 4.0)
    records.write_task(redone)  # e.g. a run that ended twice
    assert records.pack_run("F", "r") == 1
    assert Records(store).read_task("F", "r", "s", 1) == redone
    assert Records(store).read_task("F", "r", "s", 0) is not None
