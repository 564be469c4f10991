"""Every S3 read is verified against the blob's key, on a real SeaweedFS server.

A damaged object in the bucket is never loaded: it raises ``CorruptBlob`` and is set aside,
so the blob counts as missing and ``resume`` recomputes the task that made it. A damaged
copy in the local download cache is fetched again, transparently. A good blob is hashed
once per process, while it downloads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jupyter_flow.client import Run, latest_run
from jupyter_flow.errors import CorruptBlob, StoreError
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.store import artifacts, hashing
from jupyter_flow.store import checked as checked_module
from jupyter_flow.store import s3 as s3_module
from jupyter_flow.store.blobs import blob_path
from jupyter_flow.store.s3 import S3Blobs, S3Options
from tests.conftest import REPO

MB = 1 << 20
SIZE = 10 * MB  # three download ranges, two upload parts (8 MB parts)


def flip(data: bytes) -> bytes:
    damaged = bytearray(data)
    for at in (len(data) // 3, len(data) - 7):
        damaged[at] ^= 0x5A
    return bytes(damaged)


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "flipped": flip,
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
}


@pytest.fixture
def url(s3_env: Any) -> str:
    return str(s3_env.fresh_url())


@pytest.fixture
def open_store(s3_env: Any, url: str, tmp_path: Path) -> Iterator[Callable[[str], S3Blobs]]:
    """Stores on ``url``, each with its own download cache under ``tmp_path``."""
    opened: list[S3Blobs] = []

    def make(cache: str = "cache") -> S3Blobs:
        options = S3Options.load(
            env={**s3_env.env, "JUPYTER_FLOW_BLOB_CACHE": str(tmp_path / cache)},
            configured={"part_size_mb": 8},
        )
        opened.append(S3Blobs(url, options))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def raw(s3_env: Any) -> Any:
    """A plain boto3 client, to damage objects behind the store's back."""
    return s3_env.client()


def object_key(store: S3Blobs, key: str) -> str:
    return f"{store.prefix}/{blob_path(key)}"


def cache_file(store: S3Blobs, key: str) -> Path:
    return store.options.blob_cache() / hashing.hex_part(key)[:2] / key


def damage_object(raw: Any, store: S3Blobs, key: str, how: Callable[[bytes], bytes]) -> bytes:
    name = object_key(store, key)
    good: bytes = raw.get_object(Bucket=store.bucket, Key=name)["Body"].read()
    raw.put_object(Bucket=store.bucket, Key=name, Body=how(good))
    return good


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_object_raises_corrupt_blob_and_is_set_aside(open_store, raw, damage):
    writer, reader = open_store("writer-cache"), open_store("reader-cache")
    value = np.random.default_rng(3).random(SIZE // 8)
    art = artifacts.save(writer, "weights", value)
    assert art.key is not None
    good = damage_object(raw, writer, art.key, DAMAGE[damage])

    with pytest.raises(CorruptBlob) as caught:
        artifacts.load(reader, art)
    err = caught.value
    assert isinstance(err, StoreError)
    assert err.key == art.key
    assert art.key in str(err) and reader.url in str(err)
    assert "resume the run" in (err.hint or "")
    aside = f"{reader.prefix}/blobs-corrupt/{art.key}"
    assert err.set_aside == f"s3://{reader.bucket}/{aside}"
    assert err.set_aside in (err.hint or "")
    # the damaged bytes are kept for a post-mortem, out of the blob namespace
    kept = raw.get_object(Bucket=reader.bucket, Key=aside)["Body"].read()
    assert kept == DAMAGE[damage](good)
    # so the blob now counts as missing (resume recomputes the task that made it) ...
    assert reader.missing_blobs([art.key]) == {art.key}
    assert writer.missing_blobs([art.key]) == {art.key}
    # ... and no damaged copy is left in the cache to be trusted later
    assert not cache_file(reader, art.key).exists()
    # saving the value again (what the recomputed task does) makes it readable again
    assert artifacts.save(writer, "weights", value).key == art.key
    assert np.array_equal(artifacts.load(reader, art), value)


def test_a_small_damaged_object_is_refused_too(open_store, raw):
    store = open_store()
    key = store.put_blob([b"x" * 5000])
    damage_object(raw, store, key, flip)
    with pytest.raises(CorruptBlob):
        store.open_blob(key)
    assert store.missing_blobs([key]) == {key}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_cache_copy_is_fetched_again(open_store, damage):
    store = open_store()
    value = np.random.default_rng(4).random(SIZE // 8)
    art = artifacts.save(store, "weights", value)
    assert art.key is not None
    other = open_store("other-cache")
    artifacts.load(other, art)  # a good copy, as a download leaves it
    good_bytes = cache_file(other, art.key).read_bytes()
    # this process never checked this cache file: the copy a previous run left, damaged
    path = cache_file(store, art.key)
    path.parent.mkdir(parents=True)
    path.write_bytes(DAMAGE[damage](good_bytes))

    assert np.array_equal(artifacts.load(store, art), value)
    assert path.read_bytes() == good_bytes  # the cache copy is repaired
    assert store.missing_blobs([art.key]) == set()  # and the good object stays where it is


def test_a_cache_copy_replaced_after_its_check_is_checked_again(open_store):
    store = open_store()
    data = np.random.default_rng(5).bytes(SIZE)
    key = store.put_blob([data])
    first = store.open_blob(key)  # downloaded and checked; kept open, as a loaded value is
    path = cache_file(store, key)
    damaged = path.with_name("damaged")
    damaged.write_bytes(flip(data))
    os.replace(damaged, path)  # another file (same size) under the checked name

    assert bytes(store.open_blob(key)) == data
    assert path.read_bytes() == data
    assert bytes(first) == data


class Hashes:
    """Counts every hash of a blob the S3 store starts (a download's or a cache check's)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.downloads = 0
        self.checks = 0
        counter = self

        class CountingHasher(hashing.KeyHasher):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                counter.downloads += 1
                super().__init__(*args, **kwargs)

        def counting_matches(key: str, data: Any) -> bool:
            self.checks += 1
            return hashing.matches(key, data)

        monkeypatch.setattr(s3_module, "KeyHasher", CountingHasher)
        monkeypatch.setattr(checked_module, "matches", counting_matches)

    @property
    def total(self) -> int:
        return self.downloads + self.checks


def test_a_good_blob_is_hashed_once_per_process(open_store, monkeypatch):
    store = open_store()
    data = np.random.default_rng(6).bytes(SIZE)
    key = store.put_blob([data])
    hashes = Hashes(monkeypatch)

    # downloaded: hashed while it arrives, then trusted for the rest of the process
    for _ in range(3):
        assert bytes(store.open_blob(key)) == data
    assert (hashes.downloads, hashes.checks) == (1, 0)
    # another store object in the same process trusts the same checked file
    again = S3Blobs(store.url, store.options)
    assert bytes(again.open_blob(key)) == data
    again.close()
    assert hashes.total == 1

    # a cache file this process did not write or check (left by an earlier run) is hashed
    # once, on its first read
    other = open_store("earlier-run-cache")
    path = cache_file(other, key)
    path.parent.mkdir(parents=True)
    shutil.copyfile(cache_file(store, key), path)
    for _ in range(3):
        assert bytes(other.open_blob(key)) == data
    assert (hashes.downloads, hashes.checks) == (1, 1)


@pytest.mark.parametrize("chunks", [[b""], [], [b"", memoryview(b"")]])
def test_an_empty_blob_round_trips(open_store, chunks):
    store = open_store()
    key = store.put_blob(chunks)
    assert hashing.matches(key, b"")
    for reader in (store, open_store("cold-cache")):
        for _ in range(2):
            assert bytes(reader.open_blob(key)) == b""
    assert store.missing_blobs([key]) == set()


def test_an_empty_value_round_trips_as_an_artifact(open_store):
    store = open_store()
    value = np.zeros(0)
    art = artifacts.save(store, "nothing", value)
    loaded = artifacts.load(open_store("cold-cache"), art)
    assert loaded.shape == (0,)


def test_a_truncated_object_is_replaced_when_the_value_is_saved_again(open_store, raw):
    """Dedup trusts an existing object only if its size is right."""
    store = open_store()
    data = np.random.default_rng(7).bytes(SIZE)
    key = store.put_blob([data])
    damage_object(raw, store, key, DAMAGE["truncated"])

    assert store.put_blob([data[: SIZE // 2], data[SIZE // 2 :]]) == key
    head = raw.head_object(Bucket=store.bucket, Key=object_key(store, key))
    assert int(head["ContentLength"]) == SIZE
    assert bytes(open_store("cold-cache").open_blob(key)) == data


def test_blake3_keys_are_verified_too(open_store, raw):
    """Blobs named by BLAKE3 (as local stores name them) are read and checked as such."""
    pytest.importorskip("blake3")
    store = open_store()
    data = np.random.default_rng(8).bytes(SIZE)
    hasher = hashing.KeyHasher("blake3")
    hasher.update(data)
    key = hasher.key()
    raw.put_object(Bucket=store.bucket, Key=object_key(store, key), Body=data)
    assert bytes(store.open_blob(key)) == data
    # cached under its digest's shard, as the store shards it, not all under "b3"
    assert cache_file(store, key).parent.name == key[3:5]

    damage_object(raw, store, key, flip)
    with pytest.raises(CorruptBlob):
        open_store("cold-cache").open_blob(key)


def test_text_that_is_not_a_key_is_refused_before_any_request(open_store):
    store = open_store()
    with pytest.raises(StoreError, match="is not a blob key"):
        store.open_blob("../../etc/passwd")


def test_threads_reading_one_blob_at_once_all_get_it(open_store):
    store = open_store()
    data = np.random.default_rng(9).bytes(SIZE)
    key = store.put_blob([data])
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda _: bytes(store.open_blob(key)), range(12)))
    assert got == [data] * 12
    assert cache_file(store, key).read_bytes() == data


RUN_FLOW = """
import numpy as np
from jupyter_flow import Flow

flow = Flow("DamagedS3")


@flow.step(outputs="weights")
def fit():
    return np.arange(500_000, dtype="float64")  # 4 MB, a blob of its own


@flow.step(outputs="total")
def score(weights):
    return float(weights.sum())


if __name__ == "__main__":
    flow.main()
"""


def test_a_run_whose_value_is_damaged_in_the_bucket_is_refused_then_recomputed_by_resume(
    s3_env, raw, write_flow, tmp_path, monkeypatch
):
    root = s3_env.fresh_url()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the client's run index
    path = write_flow(RUN_FLOW)
    first = load_flow(path).run(root=root)
    key = first["fit"].task.record.artifact("weights").key
    assert key is not None
    bucket, _, prefix = root[len("s3://") :].partition("/")
    name = f"{prefix}/{blob_path(key)}"
    good = raw.get_object(Bucket=bucket, Key=name)["Body"].read()
    raw.put_object(Bucket=bucket, Key=name, Body=flip(good))
    # read on another machine: a cold cache
    shutil.rmtree(os.environ["JUPYTER_FLOW_BLOB_CACHE"], ignore_errors=True)

    with pytest.raises(CorruptBlob) as caught:
        _ = Run(first.pathspec, root=root).data.weights
    assert f"artifact 'weights' of task {first.pathspec}/fit/0 is corrupt" in str(caught.value)
    assert caught.value.set_aside == f"{root}/blobs-corrupt/{key}"

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    }
    done = subprocess.run(
        [sys.executable, str(path), "resume", first.id, "--from", "score", "--root", root],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    latest = latest_run("DamagedS3", root=root)
    assert latest.id != first.id and latest.status == "done"
    assert latest.data.total == float(sum(range(500_000)))
    assert latest["fit"].task.record.origin_run is None  # computed again, not reused
    assert raw.get_object(Bucket=bucket, Key=name)["Body"].read() == good
