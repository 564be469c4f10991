import pickle
import threading
import zlib

import numpy as np
import pandas as pd
import pytest

from jupyter_flow.errors import ArtifactError, StepLocation
from jupyter_flow.store import artifacts, open_store, serialize
from jupyter_flow.store.blobs import LocalBlobs


def test_numpy_round_trip_is_zero_copy_and_writable(tmp_path):
    store = LocalBlobs(tmp_path)
    arr = np.arange(1_000_000, dtype=np.float64)
    art = artifacts.save(store, "arr", arr)
    assert art.key is not None and art.inline is None
    loaded = artifacts.load(store, art)
    np.testing.assert_array_equal(loaded, arr)
    # backed by the mapped file, not a copy of a pickle stream
    assert not loaded.flags.owndata
    loaded[0] = -1  # copy-on-write: writable, and the stored blob is unchanged
    assert artifacts.load(store, art)[0] == 0


def test_identical_values_are_stored_once(tmp_path):
    store = LocalBlobs(tmp_path)
    a = artifacts.save(store, "a", np.ones(200_000))
    b = artifacts.save(store, "b", np.ones(200_000))
    assert a.key == b.key
    assert len([p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]) == 1


def test_dataframe_round_trip(tmp_path):
    store = LocalBlobs(tmp_path)
    df = pd.DataFrame({"a": np.arange(100_000), "b": np.random.default_rng(0).random(100_000)})
    loaded = artifacts.load(store, artifacts.save(store, "df", df))
    pd.testing.assert_frame_equal(loaded, df)


def test_small_values_are_inline(tmp_path):
    store = LocalBlobs(tmp_path)
    art = artifacts.save(store, "x", {"lr": 0.1})
    assert art.inline is not None and art.key is None
    assert artifacts.load(store, art) == {"lr": 0.1}
    assert not list((tmp_path / "blobs").rglob("??/*"))


def test_streams_are_stored_uncompressed_and_older_compressed_blobs_still_load():
    text = [f"row {i} of a string column" for i in range(50_000)]
    enc = serialize.encode(text)
    assert enc.size >= len(pickle.dumps(text, protocol=5))  # zlib cost more than it saved
    assert serialize.decode(enc.to_bytes()) == text

    # a blob an earlier version wrote: flag 1, the pickle stream zlib-compressed
    stream = pickle.dumps(text, protocol=5)
    packed = zlib.compress(stream, 1)
    head = serialize._HEAD.pack(serialize.MAGIC, serialize._FLAG_ZLIB, 0, len(packed))
    old = head + bytes(serialize._align(len(head)) - len(head)) + packed
    assert serialize.decode(old) == text

    noise = np.random.default_rng(0).random(100_000)
    enc = serialize.encode(noise)
    assert enc.size >= noise.nbytes  # out-of-band
    np.testing.assert_array_equal(serialize.decode(enc.to_bytes()), noise)


@pytest.mark.parametrize(
    ("value", "hint"),
    [(threading.Lock(), "lock"), ((i for i in range(3)), "generator"), ("file", "open files")],
)
def test_unpicklable_outputs_name_step_output_and_type(tmp_path, value, hint):
    store = LocalBlobs(tmp_path)
    if value == "file":
        value = open(tmp_path / "f.txt", "w")  # noqa: SIM115
        request_close = value
    else:
        request_close = None
    with pytest.raises(ArtifactError) as err:
        artifacts.save(store, "conn", value, location=StepLocation("train"))
    text = str(err.value)
    assert "step 'train'" in text and "'conn'" in text and type(value).__name__ in text
    assert "hint:" in text and hint in text
    if request_close is not None:
        request_close.close()


def test_documents_are_atomic_and_listed(tmp_path):
    store = open_store(str(tmp_path))
    store.put("runs/F/1/run.json", b"{}")
    store.put("runs/F/1/a/0/task.json", b"{}")
    assert store.list("runs/F") == ["runs/F/1/a/0/task.json", "runs/F/1/run.json"]
    assert store.get("runs/F/2/run.json") is None
    assert not list(tmp_path.rglob("*.tmp"))


def test_missing_blob_is_a_clear_error(tmp_path):
    from jupyter_flow.errors import StoreError

    store = LocalBlobs(tmp_path)
    with pytest.raises(StoreError, match="missing"):
        store.open_blob("ab" * 32)
