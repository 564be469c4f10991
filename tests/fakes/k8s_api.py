"""(Not tests.) A fake Kubernetes API server: batch/v1 Jobs, core/v1 Pods, pod logs, watches.

Stdlib HTTP/1.1 on 127.0.0.1 (port 0) in a thread; the cluster state and its kubelet live in
``k8s_cluster.py``. It answers what the official ``kubernetes`` client sends, with complete
objects (the client deserializes them into its models), ``?watch=true`` as chunked JSON lines
(410 Gone for compacted versions), ``follow=true`` log streams, label selectors, deletion
with propagation. Test hooks: ``fail_next`` (429/5xx/403 answers), ``cluster.faults``
(OOMKilled, eviction), ``drop_watches``, ``cluster.compact``; ``calls`` counts requests.
Request bodies over the apiserver's 3 MiB answer 413 (``limits.py``).
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .k8s_cluster import Cluster
from .k8s_rbac import Rbac
from .limits import kube_body_refusal

TOKEN = "fake-token"
_ROUTES = [
    ("jobs", re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?$")),
    ("pods", re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?$")),
    ("log", re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$")),
    ("secrets", re.compile(r"^/api/v1/namespaces/([^/]+)/secrets(?:/([^/]+))?$")),
]
_LIST_KIND = {"jobs": ("batch/v1", "JobList"), "pods": ("v1", "PodList")}


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # header and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing ------------------------------------------------------------------------
    def _send(
        self,
        code: int,
        body: Any,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _start_stream(self, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _body(self) -> Any:
        return json.loads(self._raw or b"{}")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._raw = self.rfile.read(length) if length else b""  # always consumed: keep-alive
        too_large = kube_body_refusal(length)  # the apiserver's request body limit
        if too_large is not None:
            self._send(413, too_large)
            return
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        srv = self.server
        route = next(((kind, m) for kind, rx in _ROUTES if (m := rx.match(url.path))), None)
        with srv.counter_lock:
            srv.calls[
                (
                    method,
                    route[0] if route else url.path,
                    "watch" if query.get("watch") == "true" else "",
                )
            ] += 1
        auth = self.headers.get("Authorization")
        if auth != f"Bearer {TOKEN}" and not srv.rbac.knows(auth):
            self._send(401, status(401, "Unauthorized", "Unauthorized"))
            return
        if route is not None:  # RBAC of service-account tokens (k8s_rbac.py)
            ns_name = route[1].group(1), route[1].group(2)
            forbidden = srv.rbac.check(auth, method, route[0], *ns_name, query)
            if forbidden is not None:
                self._send(403, status(403, "Forbidden", forbidden))
                return
        injected = srv.take_failure(method, url.path)
        if injected is not None:
            code, message = injected
            reason = {429: "TooManyRequests", 403: "Forbidden"}.get(code, "InternalError")
            self._send(
                code,
                status(code, reason, message),
                headers={"Retry-After": "0"} if code == 429 else None,
            )
            return
        if route is None:
            self._send(
                404,
                status(
                    404, "NotFound", f"the server could not find the requested resource {url.path}"
                ),
            )
            return
        kind, match = route
        namespace, name = match.group(1), match.group(2)
        handler = getattr(self, f"_{method.lower()}_{kind}", None)
        if handler is None:
            self._send(405, status(405, "MethodNotAllowed", f"{method} is not supported on {kind}"))
            return
        handler(namespace, name, query)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- jobs and pods ---------------------------------------------------------------------
    def _post_jobs(self, namespace: str, name: str | None, query: dict[str, str]) -> None:
        result = self.server.cluster.create_job(namespace, self._body())
        if isinstance(result, str):
            self._send(409, status(409, "AlreadyExists", result))
        else:
            self._send(201, result)

    def _get_jobs(self, namespace: str, name: str | None, query: dict[str, str]) -> None:
        self._get("jobs", namespace, name, query)

    def _get_pods(self, namespace: str, name: str | None, query: dict[str, str]) -> None:
        self._get("pods", namespace, name, query)

    def _get(self, kind: str, namespace: str, name: str | None, query: dict[str, str]) -> None:
        cluster = self.server.cluster
        if name is not None:
            with cluster.lock:
                found = [
                    o for o in cluster.listing(kind, namespace, "") if o["metadata"]["name"] == name
                ]
            if found:
                self._send(200, found[0])
            else:
                self._send(404, status(404, "NotFound", f'{kind} "{name}" not found'))
            return
        if query.get("watch") == "true":
            self._watch(kind, namespace, query)
            return
        with cluster.lock:
            items = cluster.listing(kind, namespace, query.get("labelSelector", ""))
            rv = cluster.last_rv
        api, list_kind = _LIST_KIND[kind]
        self._send(
            200,
            {
                "apiVersion": api,
                "kind": list_kind,
                "metadata": {"resourceVersion": str(rv)},
                "items": items,
            },
        )

    def _watch(self, kind: str, namespace: str, query: dict[str, str]) -> None:
        cluster, srv = self.server.cluster, self.server
        selector = query.get("labelSelector", "")
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 1800)
        generation = srv.watch_generation
        self._start_stream("application/json")
        with cluster.lock:
            rv_text = query.get("resourceVersion") or "0"
            if rv_text == "0":
                lines = [
                    json.dumps({"type": "ADDED", "object": o}).encode() + b"\n"
                    for o in cluster.listing(kind, namespace, selector)
                ]
                rv = cluster.last_rv
            else:
                rv = int(rv_text)
                found = cluster.events_after(rv, kind, namespace, selector)
                if found is None:
                    gone = status(
                        410, "Expired", f"too old resource version: {rv} ({cluster.oldest_rv})"
                    )
                    lines = [json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n"]
                    rv = -1
                else:
                    lines, rv = found, cluster.last_rv
        try:
            for line in lines:
                self._chunk(line)
            while (
                rv >= 0
                and time.monotonic() < deadline
                and not srv.stopping
                and srv.watch_generation == generation
            ):
                with cluster.lock:
                    if cluster.last_rv <= rv:
                        cluster.lock.wait(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
                    found = cluster.events_after(rv, kind, namespace, selector)
                    if found is None:  # compacted under an open watch: 410, as etcd does
                        gone = status(410, "Expired", f"too old resource version: {rv}")
                        found, rv = (
                            [json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n"],
                            -1,
                        )
                    else:
                        rv = cluster.last_rv
                for line in found:
                    self._chunk(line)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _delete_jobs(self, namespace: str, name: str | None, query: dict[str, str]) -> None:
        cluster = self.server.cluster
        propagation = query.get("propagationPolicy")
        with contextlib.suppress(ValueError):
            propagation = self._body().get("propagationPolicy", propagation)
        if name is None:
            count = cluster.delete_jobs(namespace, query.get("labelSelector", ""), propagation)
            self._send(
                200,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"kind": "jobs", "group": "batch"},
                    "message": f"deleted {count}",
                },
            )
            return
        job = cluster.delete_job(namespace, name, propagation)
        if job is None:
            self._send(404, status(404, "NotFound", f'jobs.batch "{name}" not found'))
        else:
            self._send(200, job)

    # -- logs and secrets ----------------------------------------------------------------
    def _get_log(self, namespace: str, name: str, query: dict[str, str]) -> None:
        cluster = self.server.cluster
        with cluster.lock:
            pod = cluster.pods.get((namespace, name))
            waiting = (
                pod is not None and pod.proc is None and pod.obj["status"]["phase"] == "Pending"
            )
        if pod is None:
            self._send(404, status(404, "NotFound", f'pods "{name}" not found'))
            return
        if waiting:
            msg = f'container "task" in pod "{name}" is waiting to start: ContainerCreating'
            self._send(400, status(400, "BadRequest", msg))
            return
        if query.get("follow") != "true":
            data = pod.log.read_bytes()
            tail = int(query.get("tailLines") or 0)
            if tail:
                data = b"".join(data.splitlines(keepends=True)[-tail:])
            self._send(200, data, "text/plain")
            return
        self._start_stream("text/plain")
        offset = 0
        try:
            while not self.server.stopping:
                with cluster.lock:
                    ended = pod.proc is None or pod.proc.poll() is not None
                data = pod.log.read_bytes()[offset:]
                if data:
                    self._chunk(data)
                    offset += len(data)
                elif ended:
                    break
                else:
                    time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _post_secrets(self, namespace: str, name: str | None, query: dict[str, str]) -> None:
        body = self._body()
        body.setdefault("metadata", {})["namespace"] = namespace
        body["metadata"].setdefault("resourceVersion", "1")
        body.setdefault("type", "Opaque")
        with self.server.cluster.lock:
            self.server.cluster.secrets[(namespace, body["metadata"]["name"])] = body
        self._send(201, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    cluster: Cluster
    calls: Counter[tuple[str, str, str]]
    counter_lock: threading.Lock
    failures: list[tuple[str, re.Pattern[str], int, str]]
    rbac: Rbac
    stopping: bool = False
    watch_generation: int = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (closed watches, stopped tests) are not errors here

    def take_failure(self, method: str, path: str) -> tuple[int, str] | None:
        with self.counter_lock:
            for i, (m, rx, code, message) in enumerate(self.failures):
                if m == method and rx.search(path):
                    del self.failures[i]
                    return code, message
        return None


class FakeKubeAPI:
    """The server, its cluster and a kubeconfig pointing at it. Use as a context manager."""

    def __init__(
        self, workdir: str | Path | None = None, *, slots: int = 4, tick: float = 0.02
    ) -> None:
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="fake-k8s-")
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.cluster = Cluster(self.workdir, slots=slots)
        self.tick = tick
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.cluster = self.cluster
        self._httpd.calls = Counter()
        self._httpd.counter_lock = threading.Lock()
        self._httpd.failures = []
        self.rbac = self._httpd.rbac = Rbac()  # service-account tokens: only what Roles grant
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.kubeconfig = self.workdir / "kubeconfig"
        self._threads: list[threading.Thread] = []

    def start(self) -> FakeKubeAPI:
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "fake",
                    "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                    "users": [{"name": "tester", "user": {"token": TOKEN}}],
                    "contexts": [
                        {
                            "name": "fake",
                            "context": {
                                "cluster": "fake",
                                "user": "tester",
                                "namespace": "default",
                            },
                        }
                    ],
                }
            )
        )
        serve = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="fake-k8s-http",
            daemon=True,
        )
        kubelet = threading.Thread(target=self._kubelet, name="fake-k8s-kubelet", daemon=True)
        self._threads = [serve, kubelet]
        for thread in self._threads:
            thread.start()
        return self

    def _kubelet(self) -> None:
        while not self._httpd.stopping:
            self.cluster.tick()
            time.sleep(self.tick)

    # -- hooks -------------------------------------------------------------------------------
    @property
    def calls(self) -> Counter[tuple[str, str, str]]:
        return self._httpd.calls

    def fail_next(
        self, method: str, path_pattern: str, code: int, times: int = 1, message: str = "injected"
    ) -> None:
        """Answer the next ``times`` matching requests with ``code`` (429, 500, 403...)."""
        with self._httpd.counter_lock:
            self._httpd.failures.extend([(method, re.compile(path_pattern), code, message)] * times)

    def drop_watches(self) -> None:
        """End every open watch stream, as a load balancer dropping idle connections does."""
        self._httpd.watch_generation += 1

    def stop(self) -> None:
        self._httpd.stopping = True
        self.cluster.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> FakeKubeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
