"""A small generic fake of the Kubernetes API for namespaced objects: create, read, list
(with equality label selectors), replace, merge-patch and delete, for core (``/api/v1``),
grouped (``/apis/GROUP/VERSION``) and custom resources alike.

Stdlib HTTP on 127.0.0.1, an ephemeral port, in a thread. It returns complete objects
(metadata with uid, resourceVersion, creationTimestamp) because the official client
deserializes every response. It records every request so tests can assert what was sent.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?$"
)


def _merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (also good enough for simple strategic merges)."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return patch
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


class FakeKubernetes:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_next: dict[str, int] = {}  # plural -> HTTP status for its next create
        self.fail_list: dict[str, int] = {}  # plural -> HTTP status for its next list
        self.lock = threading.Lock()
        self._version = 0
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def kubeconfig(self, path: Path) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
        path.write_text(json.dumps(config))
        return path

    def kinds(self, plural: str) -> list[dict[str, Any]]:
        return [o for (_, _, p, _), o in sorted(self.objects.items()) if p == plural]

    # -- request handling --------------------------------------------------------------
    def handle(self, method: str, url: str, body: bytes) -> tuple[int, dict[str, Any]]:
        parsed = urlparse(url)
        self.requests.append((method, parsed.path))
        match = _PATH.match(parsed.path)
        if not match:
            return 404, self._status(404, "NotFound", f"no route {parsed.path}")
        group = match["group"] or ""
        version = match["core"] or match["version"]
        api_version = f"{group}/{version}" if group else version
        ns, plural, name = match["ns"], match["plural"], match["name"]
        key = (group, ns, plural, name or "")
        with self.lock:
            if method == "GET" and not name:
                if plural in self.fail_list:
                    code = self.fail_list.pop(plural)
                    return code, self._status(code, "TooManyRequests", "try again (fake)")
                query = parse_qs(parsed.query)
                return 200, self._list(group, ns, plural, api_version, query)
            if method == "POST" and not name:
                return self._create(group, ns, plural, json.loads(body or b"{}"))
            if key not in self.objects:
                return 404, self._status(404, "NotFound", f'{plural} "{name}" not found')
            if method == "GET":
                return 200, self.objects[key]
            if method == "PUT":
                return 200, self._store(key, json.loads(body), self.objects[key])
            if method == "PATCH":
                merged = _merge(self.objects[key], json.loads(body))
                return 200, self._store(key, merged, self.objects[key])
            if method == "DELETE":
                gone = self.objects.pop(key)
                status = self._status(200, "", "deleted")
                status["details"] = {"name": name, "kind": plural, "uid": gone["metadata"]["uid"]}
                return 200, status
        return 405, self._status(405, "MethodNotAllowed", method)

    def _create(self, group: str, ns: str, plural: str, obj: dict[str, Any]) -> tuple[int, Any]:
        if plural in self.fail_next:
            code = self.fail_next.pop(plural)
            return code, self._status(code, "Forbidden", f"{plural} is forbidden (fake)")
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name")
        key = (group, ns, plural, name)
        if key in self.objects:
            return 409, self._status(409, "AlreadyExists", f'{plural} "{name}" already exists')
        return 201, self._store(key, obj, None)

    def _store(self, key: tuple[str, str, str, str], obj: dict[str, Any], old: Any) -> Any:
        self._version += 1
        meta = dict(obj.get("metadata", {}))
        meta["namespace"] = key[1]
        meta["uid"] = old["metadata"]["uid"] if old else str(uuid.uuid4())
        meta["resourceVersion"] = str(self._version)
        meta["generation"] = (old["metadata"].get("generation", 1) + 1) if old else 1
        meta["creationTimestamp"] = (
            old["metadata"]["creationTimestamp"]
            if old
            else datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        stored = {**obj, "metadata": meta}
        self.objects[key] = stored
        return stored

    def _list(
        self, group: str, ns: str, plural: str, api_version: str, query: dict[str, list[str]]
    ) -> dict[str, Any]:
        wanted = dict(
            part.split("=", 1) for sel in query.get("labelSelector", []) for part in sel.split(",")
        )
        items = [
            o
            for (g, n, p, _), o in sorted(self.objects.items())
            if (g, n, p) == (group, ns, plural)
            and all(o["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]
        kind = items[0]["kind"] + "List" if items else "List"
        return {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"resourceVersion": str(self._version)},
            "items": items,
        }

    @staticmethod
    def _status(code: int, reason: str, message: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Success" if code < 300 else "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }


def _handler(fake: FakeKubernetes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            code, payload = fake.handle(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve() -> Iterator[FakeKubernetes]:
    fake = FakeKubernetes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, name="fake-k8s", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
