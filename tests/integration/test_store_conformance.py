"""One behaviour suite for every BlobStore: a local directory and S3 (a real SeaweedFS).

Each backend subclass only says how to open an empty store; every test is inherited, so
the backends cannot drift apart in what the runtime sees.
"""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from jupyter_flow.errors import StoreError
from jupyter_flow.runtime.task import run_task
from jupyter_flow.runtime.taskspec import CodeRef, TaskSpec
from jupyter_flow.store import artifacts
from jupyter_flow.store.blobs import BlobStore, LocalBlobs, blob_path
from jupyter_flow.store.hashing import hex_part, matches
from jupyter_flow.store.records import AttemptRecord, Records, RunRecord, TaskRecord
from jupyter_flow.store.s3 import S3Blobs, S3Options


class StoreConformance:
    """The contract of ``BlobStore``; subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> BlobStore:
        raise NotImplementedError

    def test_big_numpy_round_trip_is_writable_and_leaves_the_blob_unchanged(self, store):
        arr = np.random.default_rng(1).random(50 * (1 << 20) // 8)  # 50 MB: multipart on S3
        art = artifacts.save(store, "arr", arr)
        assert art.key is not None and art.size >= arr.nbytes
        loaded = artifacts.load(store, art)
        np.testing.assert_array_equal(loaded, arr)
        loaded[0] = -1.0  # copy-on-write
        assert artifacts.load(store, art)[0] == arr[0]

    def test_dataframe_like_mixed_value_round_trips(self, store):
        value = {"weights": np.arange(200_000), "names": ["a", "b"] * 1000, "lr": 0.1}
        loaded = artifacts.load(store, artifacts.save(store, "v", value))
        np.testing.assert_array_equal(loaded["weights"], value["weights"])
        assert loaded["names"] == value["names"] and loaded["lr"] == 0.1

    def test_identical_values_are_stored_once(self, store):
        first = artifacts.save(store, "a", np.ones(300_000))
        second = artifacts.save(store, "b", np.ones(300_000))
        assert first.key == second.key
        assert store.list("blobs") == [blob_path(first.key)]

    def test_blob_key_is_a_hash_of_the_bytes(self, store):
        chunks = [memoryview(b"x" * 100_000), memoryview(b"y" * 3)]
        key = store.put_blob(chunks)
        assert matches(key, b"x" * 100_000 + b"yyy") and not matches(key, b"x" * 100_003)
        assert bytes(store.open_blob(key)) == b"x" * 100_000 + b"yyy"

    def test_missing_blobs_one_by_one_and_in_bulk(self, store):
        present = [store.put_blob([f"blob {i}".encode() * 50]) for i in range(3)]
        absent = [f"{i:02x}" * 32 for i in range(100)]
        assert store.missing_blobs(present + absent[:2]) == set(absent[:2])
        assert store.missing_blobs(present + absent) == set(absent)
        assert store.missing_blobs([]) == set()

    def test_missing_blob_is_a_clear_error(self, store):
        with pytest.raises(StoreError, match="missing"):
            store.open_blob("ab" * 32)

    def test_documents_overwrite_whole_and_missing_is_none(self, store):
        store.put("runs/F/1/run.json", b'{"status": "running"}')
        store.put("runs/F/1/run.json", b'{"status": "done"}')
        assert store.get("runs/F/1/run.json") == b'{"status": "done"}'
        assert store.get("runs/F/2/run.json") is None

    def test_readers_never_see_a_torn_document(self, store):
        old, new = b"a" * 200_000, b"b" * 300_000
        store.put("doc.json", old)
        seen: set[bytes] = set()
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                data = store.get("doc.json")
                assert data is not None
                seen.add(data)

        reader = threading.Thread(target=read)
        reader.start()
        for _ in range(10):
            store.put("doc.json", new)
            store.put("doc.json", old)
        stop.set()
        reader.join()
        assert seen <= {old, new} and seen

    def test_list_is_recursive_sorted_and_respects_folder_boundaries(self, store):
        for path in ("runs/F/2/a/0/task.json", "runs/F/1/run.json", "runs/F2/1/run.json"):
            store.put(path, b"{}")
        assert store.list("runs/F") == ["runs/F/1/run.json", "runs/F/2/a/0/task.json"]
        assert store.list("runs/F/") == store.list("runs/F")
        assert store.list("runs/none") == []

    def test_delete_removes_and_tolerates_missing(self, store):
        store.put("runs/F/1/heartbeat.json", b"{}")
        store.delete("runs/F/1/heartbeat.json")
        store.delete("runs/F/1/heartbeat.json")
        assert store.get("runs/F/1/heartbeat.json") is None
        assert store.list("runs/F") == []

    def test_delete_many_removes_every_path_in_batches(self, store):
        paths = [f"runs/F/1/s/{i}/task.json" for i in range(1100)]  # S3: over 1000 a call
        for path in paths:
            store.put(path, b"{}")
        store.put("runs/F/1/s/0/attempt-1.stdout", b"log")
        store.delete_many([*paths, "runs/F/1/never-written.json"])
        assert store.list("runs/F") == ["runs/F/1/s/0/attempt-1.stdout"]

    def test_an_ended_run_is_packed_and_reads_the_same(self, store):
        records = Records(store)
        run = RunRecord("F", "r1", "running", created=1.0)
        records.write_run(run)
        for i in range(3):
            records.write_attempt(AttemptRecord("F", "r1", "s", i, 1, "done", 1.0, 2.0))
            records.write_task(TaskRecord("F", "r1", "s", i, "done", 1, 1.0, 2.0))
        records.write_attempt(AttemptRecord("F", "r1", "t", 0, 1, "failed", 1.0, 2.0))
        before = (records.tasks("F", "r1"), records.attempts("F", "r1", "s"))
        records.set_run_status(run, "failed")
        assert store.list("runs/F/r1") == ["runs/F/r1/records.jsonl", "runs/F/r1/run.json"]
        fresh = Records(store)
        assert (fresh.tasks("F", "r1"), fresh.attempts("F", "r1", "s")) == before
        assert fresh.read_task("F", "r1", "s", 2) == before[0][2]
        assert fresh.read_task("F", "r1", "t", 0) is None  # failed: resume recomputes it
        assert fresh.read_attempt("F", "r1", "t", 0, 1).status == "failed"
        # a record written after packing (a late attempt of a cancelled run) wins
        records.write_attempt(AttemptRecord("F", "r1", "t", 0, 1, "done", 1.0, 3.0))
        assert fresh.read_attempt("F", "r1", "t", 0, 1).finished == 3.0
        assert fresh.attempts("F", "r1", "t")[0].finished == 3.0

    def test_paths_cannot_escape_the_root(self, store):
        with pytest.raises(StoreError, match="invalid store path"):
            store.put("../outside.json", b"{}")

    def test_task_logs_and_records_reach_the_store(self, store, tmp_path, capfd):
        module = tmp_path / "log_flow.py"
        module.write_text(
            textwrap.dedent(
                """
                import os, sys
                from jupyter_flow import Flow

                flow = Flow("LogFlow")

                @flow.step(outputs=("n",))
                def shout():
                    print("hello from the step")
                    os.write(2, b"raw stderr from C\\n")
                    return 41 + 1
                """
            )
        )
        spec = TaskSpec(
            flow="LogFlow",
            run_id="r1",
            step="shout",
            index=0,
            attempt=0,
            store_url=store.url,
            code=CodeRef(str(module), "log_flow"),
            inputs=(),
            outputs=("n",),
        )
        with capfd.disabled():  # print() must reach fd 1, as in a worker or a container
            assert run_task(spec, store).ok
        records = Records(store)
        assert "hello from the step" in records.read_log("LogFlow", "r1", "shout", 0, 0, "stdout")
        assert "raw stderr from C" in records.read_log("LogFlow", "r1", "shout", 0, 0, "stderr")
        task = records.read_task("LogFlow", "r1", "shout", 0)
        assert task is not None and artifacts.load(store, task.artifacts[0]) == 42


class TestLocalBlobs(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> BlobStore:
        return LocalBlobs(tmp_path / "store")


class TestS3Blobs(StoreConformance):
    @pytest.fixture
    def store(self, s3_env, tmp_path: Path) -> BlobStore:
        options = S3Options.load(
            env={**s3_env.env, "JUPYTER_FLOW_BLOB_CACHE": str(tmp_path / "cache")},
            configured={"part_size_mb": 8},
        )
        store = S3Blobs(s3_env.fresh_url(), options)
        yield store
        store.close()

    def test_logs_are_uploaded_because_s3_has_no_local_path(self, store):
        assert store.local_path("runs/F/1/a/0/attempt-0.stdout") is None

    def test_downloads_are_cached_locally(self, store, tmp_path):
        art = artifacts.save(store, "arr", np.arange(1_000_000))
        artifacts.load(store, art)
        assert (tmp_path / "cache" / hex_part(art.key)[:2] / art.key).is_file()
