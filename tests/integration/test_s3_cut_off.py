"""A download whose connection drops halfway through a part still yields the right value.

A TCP proxy in front of SeaweedFS closes one connection after it has forwarded part of a
response body; the store must retry that byte range, not return a short or torn blob.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from jupyter_flow.store import artifacts
from jupyter_flow.store.s3 import S3Blobs, S3Options

MB = 1 << 20


class CuttingProxy:
    """Forwards 127.0.0.1:port to an upstream; once armed, cuts the first connection that
    carries more than ``after`` bytes back to the client."""

    def __init__(self, upstream: tuple[str, int], after: int) -> None:
        self.upstream, self.after = upstream, after
        self.armed = threading.Event()
        self.cuts = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                server = socket.create_connection(self.upstream)
                threading.Thread(
                    target=self._pump, args=(client, server, False), daemon=True
                ).start()
                threading.Thread(
                    target=self._pump, args=(server, client, True), daemon=True
                ).start()

    def _pump(self, src: socket.socket, dst: socket.socket, downstream: bool) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while data := src.recv(256 * 1024):
                dst.sendall(data)
                sent += len(data)
                if downstream and sent > self.after and self._take_cut():
                    break
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _take_cut(self) -> bool:
        with self._lock:
            if self.armed.is_set() and self.cuts == 0:
                self.cuts = 1
                return True
        return False


@pytest.fixture
def proxy(s3_env) -> Iterator[CuttingProxy]:
    host, port = s3_env.endpoint.removeprefix("http://").split(":")
    proxy = CuttingProxy((host, int(port)), after=2 * MB)
    yield proxy
    proxy.close()


def test_a_part_cut_off_midway_is_fetched_again(s3_env, proxy, tmp_path):
    env = {
        **s3_env.env,
        "JUPYTER_FLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{proxy.port}",
        "JUPYTER_FLOW_BLOB_CACHE": str(tmp_path / "cache"),
    }
    store = S3Blobs(s3_env.fresh_url(), S3Options.load(env=env, configured={"part_size_mb": 8}))
    value = np.random.default_rng(1).random(5 * MB)  # 40 MiB: two ranged GETs
    art = artifacts.save(store, "value", value)

    proxy.armed.set()
    loaded = artifacts.load(store, art)

    assert proxy.cuts == 1
    np.testing.assert_array_equal(loaded, value)
    store.close()


def test_an_upload_that_fails_midway_is_aborted_and_leaves_nothing(s3_env, tmp_path):
    env = {**s3_env.env, "JUPYTER_FLOW_BLOB_CACHE": str(tmp_path / "cache")}
    store = S3Blobs(s3_env.fresh_url(), S3Options.load(env=env, configured={"part_size_mb": 5}))
    sent = []

    def fail_the_third_part(params, **_):
        sent.append(params["PartNumber"])
        if params["PartNumber"] == 3:
            raise ConnectionAbortedError("the network went away")

    store._client.meta.events.register("before-parameter-build.s3.UploadPart", fail_the_third_part)
    value = np.random.default_rng(2).random(3 * MB)  # 24 MiB: five parts

    with pytest.raises(ConnectionAbortedError):
        artifacts.save(store, "value", value)

    assert 3 in sent
    client = s3_env.client()
    pending = client.list_multipart_uploads(Bucket=s3_env.bucket, Prefix=store.prefix)
    assert pending.get("Uploads", []) == []  # aborted: no parts left behind to pay for
    assert store.list("blobs") == []
    store.close()
