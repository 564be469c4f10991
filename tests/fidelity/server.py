"""A real JupyterLab server for the Export button's route (``POST /jupyter-flow/export``).

One per test session (per xdist worker): 127.0.0.1, an ephemeral port, a random token; found
through the runtime file the server writes, stopped by its PID.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LabServer:
    url: str
    token: str
    root: Path
    pid: int

    def post(self, route: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST JSON as the Lab frontend does (token-authenticated); status and JSON body."""
        request = urllib.request.Request(
            f"{self.url}jupyter-flow/{route}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            text = err.read().decode(errors="replace")
            try:
                return err.code, json.loads(text)
            except ValueError:
                return err.code, {"message": text}


def start(root: Path, log: Path, env: dict[str, str]) -> tuple[LabServer, subprocess.Popen[bytes]]:
    """Start ``jupyter lab`` serving ``root``; returns once it answers."""
    runtime = root.parent / f"{root.name}-runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    out = log.open("wb")
    process = subprocess.Popen(
        cmd,
        cwd=root,
        env={**env, "JUPYTER_RUNTIME_DIR": str(runtime)},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    info = runtime / f"jpserver-{process.pid}.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited ({process.returncode}): {log.read_text()}")
        if info.exists():
            try:
                data = json.loads(info.read_text())
            except ValueError:
                data = None
            if data:
                server = LabServer(data["url"], token, root, process.pid)
                if _answers(server):
                    return server, process
        time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"jupyter lab did not start in 60 s: {log.read_text()[-2000:]}")


def _answers(server: LabServer) -> bool:
    request = urllib.request.Request(
        f"{server.url}api/status", headers={"Authorization": f"token {server.token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server by its PID (its own session: its kernels and children too)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
