"""A download into a local blob cache too small for it (a real 8 MiB tmpfs, in a private
mount namespace) fails with words, naming the cache and what to do: writing through the
memory map past the free space would kill the process with SIGBUS and no message."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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


def test_a_blob_larger_than_the_caches_free_space_is_refused_in_words(
    s3_env: S3Server, tmp_path: Path
) -> None:
    import json
    from dataclasses import asdict

    root = s3_env.fresh_url()
    art = artifacts.save(open_store(root), "big", os.urandom(20 << 20))
    cache = tmp_path / "cache"
    cache.mkdir()
    (tmp_path / "load.py").write_text(SCRIPT)
    (tmp_path / "artifact.json").write_text(json.dumps(asdict(art)))
    env = {**os.environ, "JUPYTER_FLOW_BLOB_CACHE": str(cache)}
    shell = (
        f"mount -t tmpfs -o size=8m tmpfs {cache} && "
        f"{sys.executable} {tmp_path / 'load.py'} {root} {tmp_path / 'artifact.json'}"
    )
    out = in_mount_namespace(shell, env)

    assert "error" in out, out
    assert f"the local blob cache at {cache} is full" in out["error"]
    assert "does not fit in the 8 MB free" in out["error"]
    assert "JUPYTER_FLOW_BLOB_CACHE" in out["error"]
