"""Plain-HTTP downloads are spliced from the socket into the cache file (``s3_body.py``):
every byte arrives that way and is right, and this bypass of ``http.client`` does not cost
a connection per ranged GET (each goes back to the pool and is reused)."""

from __future__ import annotations

import os
import shutil

import pytest
import urllib3.connection

from jupyter_flow.store import s3_body
from jupyter_flow.store.s3 import S3Blobs, S3Options

MB = 1 << 20


@pytest.mark.skipif(not hasattr(os, "splice"), reason="os.splice is Linux-only")
def test_spliced_downloads_are_right_and_reuse_their_connections(s3_env, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    env = {**s3_env.env, "JUPYTER_FLOW_BLOB_CACHE": str(cache)}
    store = S3Blobs(s3_env.fresh_url(), S3Options.load(env=env))
    data = os.urandom(40 * MB + 12345)  # eight ranges, the last one not page-aligned
    key = store.put_blob([data])

    spliced: list[int] = []
    splice = s3_body._splice_body
    monkeypatch.setattr(
        s3_body, "_splice_body", lambda *a: spliced.append(splice(*a)) or spliced[-1]
    )
    connects: list[object] = []
    connect = urllib3.connection.HTTPConnection.connect
    monkeypatch.setattr(
        urllib3.connection.HTTPConnection,
        "connect",
        lambda self: connects.append(self) or connect(self),
    )
    for _ in range(3):
        shutil.rmtree(cache, ignore_errors=True)  # a cold cache: really download
        blob = store.open_blob(key)
        assert blob[:] == data
        blob.close()

    assert sum(spliced) == 3 * len(data)  # every byte came through the splice path
    assert len(connects) <= store.options.concurrency  # not one connection per GET (24)
    store.close()
