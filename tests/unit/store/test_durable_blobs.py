"""LocalBlobs under injected faults: short writes, a full disk, a read-only store, and a
truncated blob already under the right name."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from jupyter_flow.errors import StoreFull
from jupyter_flow.store.blobs import LocalBlobs, blob_path
from jupyter_flow.store.hashing import key_of

BIG = os.urandom(3 << 20)  # above the 1 MiB threshold: the large-blob path
SMALL = b"small value" * 10


def _short_writes(monkeypatch: pytest.MonkeyPatch, most: int = 4097) -> None:
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, memoryview(data)[:most]))


def _full_after(monkeypatch: pytest.MonkeyPatch, limit: int, code: int = errno.ENOSPC) -> None:
    real = os.write
    budget = [limit]

    def write(fd: int, data: memoryview | bytes) -> int:
        if budget[0] <= 0:
            raise OSError(code, os.strerror(code))
        n = real(fd, memoryview(data)[: budget[0]])
        budget[0] -= n
        return n

    monkeypatch.setattr(os, "write", write)


def _leftovers(root: Path) -> list[Path]:
    return [
        p
        for p in (root / "blobs").rglob("*")
        if p.is_file() and (".tmp" in p.name or p.parent.name == "tmp")
    ]


@pytest.mark.parametrize("value", [BIG, SMALL])
def test_short_writes_still_store_every_byte(tmp_path, monkeypatch, value):
    store = LocalBlobs(tmp_path)
    _short_writes(monkeypatch)
    key = store.put_blob([value[:1000], memoryview(value)[1000:]])
    assert key == key_of(value)
    assert bytes(store.open_blob(key)) == value


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "is full (needed 3 MB)"),
        (errno.EDQUOT, "is full"),
        (errno.EROFS, "is read-only"),
        (errno.EACCES, "is not writable"),
    ],
)
def test_a_failed_write_names_the_store_and_leaves_nothing(tmp_path, monkeypatch, code, words):
    store = LocalBlobs(tmp_path)
    _full_after(monkeypatch, 1 << 20, code)
    with pytest.raises(StoreFull) as caught:
        store.put_blob([BIG])
    assert f"the store at {tmp_path} {words}" in str(caught.value)
    assert _leftovers(tmp_path) == []
    assert store.missing_blobs([key_of(BIG)])
    monkeypatch.undo()  # space is back: the same put now succeeds (resumable)
    assert bytes(store.open_blob(store.put_blob([BIG]))) == BIG


def test_a_full_disk_on_a_document_write_is_a_store_error(tmp_path, monkeypatch):
    store = LocalBlobs(tmp_path)
    _full_after(monkeypatch, 10)
    with pytest.raises(StoreFull, match="is full"):
        store.put("runs/x/run.json", b"{}" * 100)
    assert store.get("runs/x/run.json") is None
    assert store.list("runs") == []


@pytest.mark.parametrize("value", [BIG, SMALL])
def test_a_truncated_blob_under_its_name_is_replaced_on_dedup(tmp_path, value):
    store = LocalBlobs(tmp_path)
    key = key_of(value)
    bad = tmp_path / blob_path(key)
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(value[: len(value) // 2])
    assert store.put_blob([value]) == key
    assert bytes(store.open_blob(key)) == value


def test_opening_a_store_removes_only_stale_temp_files(tmp_path):
    LocalBlobs(tmp_path)
    tmp = tmp_path / "blobs" / "tmp"
    stale, fresh = tmp / "stale", tmp / "fresh"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    LocalBlobs(tmp_path)
    assert not stale.exists()
    assert fresh.exists()
