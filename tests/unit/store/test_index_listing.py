"""The run index is a cache of the records: rebuilt when missing, stale or corrupt, and
listing reads only the rows it returns."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from jupyter_flow import client
from jupyter_flow.config import Settings
from jupyter_flow.store.blobs import LocalBlobs
from jupyter_flow.store.engine import Engine
from jupyter_flow.store.index import RunIndex
from jupyter_flow.store.records import Records, RunRecord


def _write_runs(root: Path, n: int, flow: str = "F", start: float = 1000.0) -> list[str]:
    records = Records(LocalBlobs(root))
    ids = []
    for i in range(n):
        run_id = f"20260101-000000-{i:08x}"
        records.write_run(RunRecord(flow, run_id, "done", created=start + i, finished=start + i))
        ids.append(run_id)
    return ids


def _open(root: Path) -> Engine:
    client._engines.clear()
    return Engine.open(Settings.load(root=str(root)))


@pytest.fixture(autouse=True)
def _fresh_engines():
    client._engines.clear()
    yield
    client._engines.clear()


def test_a_missing_index_is_rebuilt_from_the_records(tmp_path):
    ids = _write_runs(tmp_path, 5)
    engine = _open(tmp_path)
    assert [r.run_id for r in engine.index.query("F")] == ids[::-1]
    assert (tmp_path / "index.sqlite").exists()


def test_a_corrupt_index_is_set_aside_and_rebuilt(tmp_path):
    ids = _write_runs(tmp_path, 3)
    (tmp_path / "index.sqlite").write_bytes(b"this is not a database" * 100)
    engine = _open(tmp_path)
    assert [r.run_id for r in engine.index.query("F")] == ids[::-1]
    assert list(tmp_path.glob("index.sqlite.corrupt-*"))


def test_an_index_of_another_schema_version_is_rebuilt(tmp_path):
    ids = _write_runs(tmp_path, 2)
    con = sqlite3.connect(tmp_path / "index.sqlite")
    con.execute("CREATE TABLE runs (flow TEXT, run_id TEXT, status TEXT, created REAL)")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    assert [r.run_id for r in _open(tmp_path).index.query("F")] == ids[::-1]


def test_a_run_written_behind_the_index_is_found_on_the_next_open(tmp_path):
    first = _write_runs(tmp_path, 2)
    _open(tmp_path)
    time.sleep(0.01)  # a distinct directory mtime
    other = Records(LocalBlobs(tmp_path))  # another process, not updating the index
    other.write_run(RunRecord("F", "20270101-000000-aaaaaaaa", "failed", created=5000.0))
    found = [r.run_id for r in _open(tmp_path).index.query("F")]
    assert found == ["20270101-000000-aaaaaaaa", *first[::-1]]


def test_an_unwritable_index_location_falls_back_to_memory(tmp_path):
    ids = _write_runs(tmp_path, 3)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the index folder should be")
    index = RunIndex(blocker / "index.sqlite", runs_dir=tmp_path / "runs")
    assert index.read_only
    index.sync(Records(LocalBlobs(tmp_path)))
    assert [r.run_id for r in index.query("F", limit=2)] == ids[::-1][:2]


def test_list_runs_reads_only_the_records_it_returns(tmp_path, monkeypatch):
    ids = _write_runs(tmp_path, 300)
    _open(tmp_path)
    reads: list[str] = []
    real = Records.read_run

    def counting(self, flow, run_id):
        reads.append(run_id)
        return real(self, flow, run_id)

    monkeypatch.setattr(Records, "read_run", counting)
    runs = client.list_runs("F", root=str(tmp_path), limit=5)
    assert [r.id for r in runs] == ids[::-1][:5]
    assert len(reads) == 5
    assert client.latest_run("F", root=str(tmp_path)).id == ids[-1]


def test_status_filters_in_sql_and_lost_is_derived_for_running_rows_only(tmp_path):
    _write_runs(tmp_path, 20)
    records = Records(LocalBlobs(tmp_path))
    old = RunRecord("F", "20250101-000000-00000001", "running", created=time.time() - 3600)
    records.write_run(old)  # no heartbeat for an hour: lost
    live = RunRecord("F", "20250101-000000-00000002", "running", created=time.time())
    records.write_run(live)
    records.write_run(RunRecord("F", "20250101-000000-00000003", "failed", created=1.0))
    root = str(tmp_path)
    assert [r.id for r in client.list_runs("F", status="lost", root=root)] == [old.run_id]
    assert [r.id for r in client.list_runs("F", status="running", root=root)] == [live.run_id]
    assert [r.id for r in client.list_runs("F", status="failed", root=root)] == [
        "20250101-000000-00000003"
    ]
    assert len(client.list_runs("F", status="done", root=root, limit=7)) == 7


def test_an_index_write_that_fails_drops_the_index_so_it_is_rebuilt(tmp_path, monkeypatch):
    ids = _write_runs(tmp_path, 2)
    index = _open(tmp_path).index  # opened (lazily, on first use) before the disk fills

    class Full(sqlite3.Connection):
        def execute(self, *args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")

    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real(*a, factory=Full, **k))
    index.upsert(RunRecord("F", ids[0], "failed", created=1000.0))
    monkeypatch.undo()
    assert not (tmp_path / "index.sqlite").exists()
    assert [r.run_id for r in _open(tmp_path).index.query("F")] == ids[::-1]


def test_a_run_indexed_while_running_shows_its_end(tmp_path):
    """A local run does not write the index: its end is found by re-reading the runs the
    index last saw running, though the flow's directory did not change."""
    records = Records(LocalBlobs(tmp_path))
    running = RunRecord("F", "20260101-000000-00000001", "running", created=1000.0)
    records.write_run(running)
    assert [r.status for r in _open(tmp_path).index.query("F")] == ["running"]
    records.write_run(RunRecord("F", running.run_id, "done", created=1000.0, finished=1001.0))
    assert [r.status for r in _open(tmp_path).index.query("F")] == ["done"]
