"""LocalBlobs never returns bytes that do not match their key: flipped, truncated and empty
blobs raise ``CorruptBlob`` and are set aside (so they count as missing), dedup replaces a
damaged copy of the same size, and a good blob is hashed once per process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_flow.errors import CorruptBlob
from jupyter_flow.store import checked as checked_module
from jupyter_flow.store.blobs import LocalBlobs, blob_path

BIG = os.urandom(3 << 20)
SMALL = b"a small value " * 20


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


DAMAGE = {
    "flipped": lambda p: _flip(p, len(p.read_bytes()) // 2),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:-1]),
    "empty": lambda p: p.write_bytes(b""),
}


@pytest.mark.parametrize("value", [BIG, SMALL], ids=["big", "small"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_blob_is_refused_and_set_aside(tmp_path, value, damage):
    store = LocalBlobs(tmp_path)
    key = store.put_blob([value])
    DAMAGE[damage](tmp_path / blob_path(key))

    with pytest.raises(CorruptBlob, match="is corrupt") as caught:
        store.open_blob(key)
    assert caught.value.key == key
    aside = Path(caught.value.set_aside or "")
    assert aside.parent == tmp_path / "blobs" / "corrupt" and aside.is_file()
    assert store.missing_blobs([key]) == {key}  # so resume recomputes the task that made it

    assert store.put_blob([value]) == key  # the task that made it writes it again
    assert bytes(store.open_blob(key)) == value


def test_a_blob_damaged_after_it_was_checked_is_caught_on_the_next_read(tmp_path):
    store = LocalBlobs(tmp_path)
    key = store.put_blob([BIG])
    assert bytes(store.open_blob(key)) == BIG
    path = tmp_path / blob_path(key)
    _flip(path, 10)  # a new file version: new mtime (and write_bytes keeps the size)
    os.utime(path, ns=(1, 1))
    with pytest.raises(CorruptBlob):
        store.open_blob(key)


def test_dedup_replaces_a_damaged_blob_of_the_same_size(tmp_path):
    store = LocalBlobs(tmp_path)
    key = store.put_blob([SMALL])
    _flip(tmp_path / blob_path(key), 3)
    assert store.put_blob([SMALL]) == key
    assert bytes(store.open_blob(key)) == SMALL


def test_a_good_blob_is_hashed_once_per_process_and_file(tmp_path, monkeypatch):
    store = LocalBlobs(tmp_path)
    key = store.put_blob([BIG])
    calls = []
    real = checked_module.matches
    monkeypatch.setattr(checked_module, "matches", lambda k, d: calls.append(k) or real(k, d))
    for _ in range(3):
        assert bytes(store.open_blob(key)) == BIG
    assert calls == [key]
    assert bytes(LocalBlobs(tmp_path).open_blob(key)) == BIG  # another reader checks again
    assert calls == [key, key]


def test_an_empty_value_round_trips(tmp_path):
    store = LocalBlobs(tmp_path)
    key = store.put_blob([b""])
    assert bytes(store.open_blob(key)) == b""


def test_text_that_is_not_a_key_is_refused_before_any_path_is_built(tmp_path):
    store = LocalBlobs(tmp_path)
    with pytest.raises(Exception, match="is not a blob key"):
        store.open_blob("../../etc/passwd")
