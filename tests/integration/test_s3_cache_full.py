"""A download into a local blob cache too small for it (a real tmpfs, in a private mount
namespace) fails with words, naming the cache and what to do: writing through the memory
map past the free space would kill the process with SIGBUS and no message. Another writer
filling the disk while a download runs does not break it: its room is reserved first."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from jupyter_flow.store import artifacts, open_store

from .engine.mounts import in_mount_namespace

if TYPE_CHECKING:
    from .conftest import S3Server

SCRIPT = """
import json, sys
from jupyter_flow.errors import StoreFull
from jupyter_flow.store import artifacts, open_store
from jupyter_flow.store.records import Artifact, from_json
store = open_store(sys.argv[1])
try:
    artifacts.load(store, from_json(Artifact, json.loads(open(sys.argv[2]).read())))
    print(json.dumps({"loaded": True}))
except StoreFull as err:
    print(json.dumps({"error": err.format()}))
"""


# Another writer fills the cache's disk the moment the download starts (deterministic: the
# ranges are fetched only once the filler has taken every free byte it could).
FILLER = """
import json, os, sys
from jupyter_flow.errors import StoreFull
from jupyter_flow.store import artifacts, open_store, s3
from jupyter_flow.store.records import Artifact, from_json
if sys.argv[3] == "no-fallocate":  # a filesystem that cannot preallocate (some NFS)
    def refuse(fd, offset, size):
        raise OSError(95, "Operation not supported")
    os.posix_fallocate = refuse
fetch, taken = s3.S3Blobs._download_ranges, []
def fill_then_fetch(self, *args):
    with open(os.path.join(os.environ["JUPYTER_FLOW_BLOB_CACHE"], "other-writer"), "wb", 0) as f:
        try:
            while True:
                f.write(bytes(1 << 20))
        except OSError:
            taken.append(f.tell())
    return fetch(self, *args)
s3.S3Blobs._download_ranges = fill_then_fetch
store = open_store(sys.argv[1])
art = from_json(Artifact, json.loads(open(sys.argv[2]).read()))
try:
    value = artifacts.load(store, art)
    print(json.dumps({"right": value == open(sys.argv[4], "rb").read(), "taken": taken}))
except StoreFull as err:
    print(json.dumps({"error": err.format(), "taken": taken}))
"""


def load_on_a_tmpfs(
    s3_env: S3Server, tmp_path: Path, script: str, data: bytes, mib: int, *args: str
) -> tuple[Path, dict[str, Any]]:
    """Save ``data`` as an artifact, then run ``script`` (store URL, artifact JSON, ``args``)
    with the blob cache on a fresh tmpfs of ``mib`` MiB; returns the cache and its JSON."""
    import json
    from dataclasses import asdict

    root = s3_env.fresh_url()
    art = artifacts.save(open_store(root), "big", data)
    cache = tmp_path / "cache"
    cache.mkdir()
    (tmp_path / "load.py").write_text(script)
    (tmp_path / "artifact.json").write_text(json.dumps(asdict(art)))
    env = {**os.environ, "JUPYTER_FLOW_BLOB_CACHE": str(cache)}
    shell = (
        f"mount -t tmpfs -o size={mib}m tmpfs {cache} && {sys.executable} "
        f"{tmp_path / 'load.py'} {root} {tmp_path / 'artifact.json'} {' '.join(args)}"
    )
    return cache, in_mount_namespace(shell, env)


@pytest.mark.parametrize("disk", ["fallocate", "no-fallocate"])
def test_a_disk_filled_by_another_writer_during_a_download(
    s3_env: S3Server, tmp_path: Path, disk: str
) -> None:
    data = os.urandom(20 << 20)
    (tmp_path / "value.bin").write_bytes(data)
    cache, out = load_on_a_tmpfs(
        s3_env, tmp_path, FILLER, data, 32, disk, str(tmp_path / "value.bin")
    )

    if disk == "fallocate":  # the blob's 20 MB were the download's before the filler began
        assert out.get("right") is True, out
        assert out["taken"][0] <= 12 << 20, out
    else:  # nothing reserved: the download runs out of room, and says so
        error = str(out.get("error"))
        assert f"the local blob cache at {cache} is full" in error, out
        assert "a blob of 21 MB does not fit in the 0 MB free" in error, out


def test_a_blob_larger_than_the_caches_free_space_is_refused_in_words(
    s3_env: S3Server, tmp_path: Path
) -> None:
    cache, out = load_on_a_tmpfs(s3_env, tmp_path, SCRIPT, os.urandom(20 << 20), 8)

    error = str(out.get("error"))
    assert f"the local blob cache at {cache} is full" in error, out
    assert "does not fit in the 8 MB free" in error
    assert "JUPYTER_FLOW_BLOB_CACHE" in error
