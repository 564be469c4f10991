"""Which notebook this kernel belongs to *now*: asked of the Jupyter server that runs it.

``JPY_SESSION_NAME`` is set once, when the kernel starts: after Launcher -> Untitled.ipynb
-> rename, it still names Untitled.ipynb. The server knows the session's current path, so
the kernel looks itself up there: its kernel id (from its connection file) in
``GET /api/sessions`` of each server listed in the Jupyter runtime folder.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

TIMEOUT = 2.0  # seconds per server: a server that does not answer is skipped
_KERNEL_FILE = re.compile(r"kernel-(?P<id>[0-9a-fA-F-]{36})\.json$")


def kernel_id() -> str | None:
    """This kernel's id, from the name of its connection file (None outside a kernel)."""
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:  # not in a kernel, or an ipykernel without an app
        return None
    found = _KERNEL_FILE.search(name)
    return found["id"] if found else None


def current_notebook(kernel: str | None = None, runtime_dir: str | None = None) -> str | None:
    """The absolute path of this kernel's notebook as the server now knows it, or None."""
    kernel = kernel or kernel_id()
    if not kernel:
        return None
    for server in _servers(runtime_dir):
        for session in _sessions(server):
            if (session.get("kernel") or {}).get("id") == kernel and session.get("path"):
                return str(Path(server.get("root_dir") or ".") / session["path"])
    return None


def _servers(runtime_dir: str | None) -> list[dict[str, Any]]:
    if runtime_dir is None:
        try:
            from jupyter_core.paths import jupyter_runtime_dir
        except ImportError:
            return []
        runtime_dir = jupyter_runtime_dir()
    servers = []
    for file in sorted(Path(runtime_dir).glob("jpserver-*.json")):
        try:
            info = json.loads(file.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and info.get("url") and _running(info.get("pid")):
            servers.append(info)
    return servers


def _running(pid: object) -> bool:
    """A server file whose process is gone is stale (a server killed with -9 leaves it)."""
    from ..client import _alive

    return not isinstance(pid, int) or _alive(pid)


def _sessions(server: dict[str, Any]) -> list[dict[str, Any]]:
    url = str(server["url"]).rstrip("/") + "/api/sessions"
    request = urllib.request.Request(url)
    if server.get("token"):
        request.add_header("Authorization", f"token {server['token']}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            data = json.loads(answer.read())
    except (OSError, ValueError):
        return []
    return [s for s in data if isinstance(s, dict)] if isinstance(data, list) else []
