"""A list that a foreach iterates is saved item by item: each task reads its own item only
(a damaged item fails that one task, named), the whole list reads back equal (list or
tuple), and a list whose items share objects is kept whole so identity survives."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

from jupyter_flow.client import Run, latest_run
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.store import artifacts, itemlists, open_store, serialize
from jupyter_flow.store.blobs import blob_path
from jupyter_flow.store.hashing import matches

FLOW = """
import hashlib
import random
from jupyter_flow import Flow

flow = Flow("Items", parameters={"n": 12, "kind": "list"})


@flow.step(outputs=("chunks", "labels"))
def make(n, kind):
    chunks = [random.Random(i).randbytes(100 << 10) for i in range(n)]  # a blob per item
    labels = [f"item-{i}" for i in range(n)]  # tiny: kept inline in the manifest
    return (tuple(chunks) if kind == "tuple" else chunks), labels


@flow.step(foreach="chunk in chunks", outputs="digest")
def each(chunk, labels):
    return hashlib.sha256(chunk).hexdigest()[:8]


@flow.step(foreach="label in labels", outputs="upper")
def shout(label):
    return label.upper()


@flow.step(outputs="summary")
def join(digest, upper, chunks):
    return len(digest), upper[-1], type(chunks).__name__, len(chunks)


if __name__ == "__main__":
    flow.main()
"""

SHARED = """
from jupyter_flow import Flow

flow = Flow("SharedItems")


@flow.step(outputs="rows")
def make():
    common = {"weights": [1, 2, 3]}
    return [common, common, {"weights": []}]


@flow.step(foreach="row in rows", outputs="size")
def each(row):
    return len(row["weights"])
"""


def _chunk(i: int) -> bytes:
    return random.Random(i).randbytes(100 << 10)


def _expected_digest(i: int) -> str:
    return hashlib.sha256(_chunk(i)).hexdigest()[:8]


def test_a_foreach_list_is_saved_item_by_item_and_reads_back_whole(write_flow, root):
    run = load_flow(write_flow(FLOW)).run(root=root, max_workers=2)
    assert run.data.summary == (12, "ITEM-11", "list", 12)
    assert run.data.digest == [_expected_digest(i) for i in range(12)]
    chunks = run["make"].task.record.artifact("chunks")
    assert chunks.items is not None and chunks.key is None and chunks.length == 12
    assert run.data.chunks == [_chunk(i) for i in range(12)]

    tuples = load_flow(write_flow(FLOW)).run(root=root, params={"kind": "tuple", "n": 3})
    assert tuples.data.summary == (3, "ITEM-2", "tuple", 3)
    assert isinstance(tuples.data.chunks, tuple)


def test_each_foreach_task_reads_only_its_own_item(write_flow, root):
    path = write_flow(FLOW)
    first = load_flow(path).run(root=root)
    chunks = first["make"].task.record.artifact("chunks")
    assert chunks.items is not None
    keys = itemlists.blob_keys(open_store(root), chunks.items)
    assert len(keys) == 12  # 100 KiB each: a blob per item
    item5 = artifacts.load_item(open_store(root), chunks, 5)
    (key,) = [k for k in keys if matches(k, serialize.encode(item5).to_bytes())]
    blob = Path(root) / blob_path(key)
    blob.write_bytes(blob.read_bytes()[:-1])  # only item 5 is damaged

    env = {**os.environ, "JUPYTER_FLOW_ROOT": root, "JUPYTER_FLOW_RETRY_BACKOFF": "0"}
    again = subprocess.run(
        [sys.executable, str(path), "resume", first.id, "--from", "each", "--max-workers", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert again.returncode != 0
    failed = latest_run("Items", root=root)
    done = {t.index for t in failed["each"].tasks}
    assert done == set(range(5)), again.stdout  # one at a time: 0-4 found theirs, 5 failed
    assert "each[5] failed" in again.stdout
    assert f"input 'chunk', written by task {first.pathspec}/make/0, is corrupt" in again.stdout

    # the damaged item was set aside: resume recomputes 'make' and finishes
    fixed = subprocess.run(
        [sys.executable, str(path), "resume", failed.id],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    last = latest_run("Items", root=root)
    assert last.data.digest == [_expected_digest(i) for i in range(12)]


def test_items_that_share_objects_are_kept_whole(write_flow, root):
    run = load_flow(write_flow(SHARED)).run(root=root)
    assert run.data.size == [3, 3, 0]
    rows = Run(run.pathspec, root=root).data.rows
    assert rows[0] is rows[1]  # as in the kernel
    assert run["make"].task.record.artifact("rows").items is None
