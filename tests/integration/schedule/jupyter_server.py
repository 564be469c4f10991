"""A real Jupyter server in a child process for the scheduler tests: 127.0.0.1, a free port,
a random token, its own runtime folder; stopped by PID (SIGTERM, as a user's Ctrl-C)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class JupyterServer:
    def __init__(self, root_dir: Path, log: Path, env: dict[str, str]) -> None:
        self.root_dir = root_dir
        self.log = log
        self.env = env
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, *args: str) -> JupyterServer:
        runtime = self.log.parent / f"runtime-{self.port}"
        runtime.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}", *args,
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.root_dir,
                env={**self.env, "JUPYTER_RUNTIME_DIR": str(runtime)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-3000:]}")
            try:
                self.get("api/status")
                return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"the server did not answer in 60 s: {self.log.read_text()[-3000:]}")

    def get(self, route: str, **query: str) -> Any:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        request = urllib.request.Request(
            f"{self.url}{route}{'?' + qs if qs else ''}",
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Stop it by its PID; SIGKILL if SIGTERM does not end it in 30 s."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.kill(proc.pid, sig)
            try:
                return proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=30)
