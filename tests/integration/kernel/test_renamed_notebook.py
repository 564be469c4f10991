"""The kernel knows its notebook after a rename (issue 14, item 2): Launcher ->
Untitled.ipynb -> rename -> ``%flow run`` said "which notebook?", because the kernel's
``JPY_SESSION_NAME`` still named Untitled.ipynb. A real Jupyter server starts the kernel,
the notebook is renamed as JupyterLab does it (contents + session PATCH), and the kernel,
asked over the websocket, names the new file and runs its flow."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest
import websocket

CELLS = ["%load_ext jupyter_flow", "%%step make\nx = 21", "%%step double\ny = x * 2"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, root: Path, runtime: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter_server", "--no-browser",
                "--allow-root",
                f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
            ],
            env={**env, "JUPYTER_RUNTIME_DIR": str(runtime)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.call("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the Jupyter server did not start")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
        return json.loads(raw) if raw else None

    def execute(self, kernel: str, code: str, timeout: float = 120) -> str:
        """Run ``code`` in the kernel over its websocket; its stream and error text."""
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/api/kernels/{kernel}/channels?token={self.token}",
            timeout=timeout,
        )
        msg_id = uuid.uuid4().hex
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        text = []
        try:
            while True:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    text.append(content["text"])
                elif kind == "error":
                    text.append("\n".join(content["traceback"]))
                elif kind == "status" and content["execution_state"] == "idle":
                    return "".join(text)
        finally:
            ws.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "work"
    root.mkdir()
    env = dict(os.environ)
    env["JUPYTER_FLOW_ROOT"] = str(tmp_path / "store")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).resolve().parents[3]), env.get("PYTHONPATH")])
    )
    running = Server(root, tmp_path / "runtime", env)
    yield running, root
    running.stop()


def test_a_renamed_notebook_is_the_one_the_kernel_runs(server):
    srv, root = server
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbformat.write(nb, root / "Untitled.ipynb")
    session = srv.call(
        "POST",
        "/api/sessions",
        {
            "path": "Untitled.ipynb",
            "type": "notebook",
            "name": "Untitled.ipynb",
            "kernel": {"name": "python3"},
        },
    )
    kernel = session["kernel"]["id"]
    # JupyterLab's rename: the file, then the session
    srv.call("PATCH", "/api/contents/Untitled.ipynb", {"path": "analysis.ipynb"})
    srv.call(
        "PATCH",
        f"/api/sessions/{session['id']}",
        {"path": "analysis.ipynb", "name": "analysis.ipynb"},
    )

    out = srv.execute(
        kernel,
        "import os\nfrom jupyter_flow.kernel.session import find_notebook\n"
        "print('env', os.environ.get('JPY_SESSION_NAME'))\nprint('found', find_notebook())",
    )
    assert "Untitled.ipynb" in out.split("found")[0]  # the kernel's stale name
    assert f"found {root / 'analysis.ipynb'}" in out, out

    ran = srv.execute(kernel, "%load_ext jupyter_flow\n%flow run\nprint(_flow_run.data.y)")
    assert "which notebook" not in ran
    assert ran.strip().endswith("42"), ran
    assert (root / "analysis_flow.py").is_file()
