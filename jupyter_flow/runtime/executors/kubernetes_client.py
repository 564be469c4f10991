"""The Kubernetes executor's API calls: Jobs, pods, logs and watches of one namespace.

The cluster is loaded and called through ``sdk.kube`` (the one home of the ``kubernetes``
SDK, shared with the schedule targets): calls go out raw and come back as the frozen views
of ``kubernetes_status``; 429/5xx answers and dropped connections are retried with backoff;
401/403 become errors that say what to grant. Watches are our own loop over the chunked
stream, so 410 Gone is ours to handle (relist).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ...sdk import kube
from ...sdk.kube import NotFound, TransientError
from .kubernetes_job import KubernetesOptions
from .kubernetes_status import JobView, PodView, job_view, pod_view

__all__ = ["RBAC_HINT", "KubeClient", "NotFound", "TransientError", "WatchGone"]

RBAC_HINT = (
    "grant it a Role in that namespace with: jobs (apiGroup batch): create, get, list, watch, "
    "delete, deletecollection; pods: get, list, watch; pods/log: get"
)
OPTIONS_HINT = "check the [default.kubernetes] options (namespace, image, node_selector, ...)"


class WatchGone(Exception):
    """The watched resourceVersion is too old (410 Gone): list again."""


class KubeClient:
    """Jobs, pods and logs of one namespace, through the official client."""

    def __init__(self, options: KubernetesOptions, env: Mapping[str, str] | None = None) -> None:
        self.options = options
        cluster = kube.load(
            "running steps on Kubernetes",
            kubeconfig=options.kubeconfig,
            context=options.context,
            in_cluster=options.in_cluster,
            env=os.environ if env is None else env,
        )
        self.api_client = cluster.api_client
        self.namespace = options.namespace or cluster.namespace or "default"
        self.host = cluster.host
        self.api = kube.Api(
            cluster, retries=options.request_retries, rbac_hint=RBAC_HINT, hint=OPTIONS_HINT
        )
        k8s = kube.sdk("running steps on Kubernetes")
        self.batch = k8s.client.BatchV1Api(self.api_client)
        self.core = k8s.client.CoreV1Api(self.api_client)
        self._responses: set[Any] = set()
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        """Requests sent, retries included (for tests and benches)."""
        return self.api.calls

    # -- plumbing -------------------------------------------------------------------------
    def _call(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One API call in our namespace, with retries; the urllib3 response of a 2xx."""
        return self.api.call(what, self.namespace, func, *args, **kwargs)

    def _json(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.api.json(what, self.namespace, func, *args, **kwargs)

    # -- jobs -----------------------------------------------------------------------------
    def create_job(self, manifest: Mapping[str, Any]) -> None:
        self._json("create Jobs", self.batch.create_namespaced_job, self.namespace, manifest)

    def delete_job(self, name: str) -> None:
        with contextlib.suppress(NotFound):
            self._json(
                "delete Jobs",
                self.batch.delete_namespaced_job,
                name,
                self.namespace,
                propagation_policy="Background",
            )

    def delete_jobs(self, selector: str) -> None:
        self._json(
            "delete Jobs",
            self.batch.delete_collection_namespaced_job,
            self.namespace,
            label_selector=selector,
            propagation_policy="Background",
        )

    def list_jobs(self, selector: str) -> tuple[list[JobView], str]:
        raw = self._json(
            "list Jobs", self.batch.list_namespaced_job, self.namespace, label_selector=selector
        )
        return [job_view(i) for i in raw["items"]], raw["metadata"]["resourceVersion"]

    def list_pods(self, selector: str) -> tuple[list[PodView], str]:
        raw = self._json(
            "list pods", self.core.list_namespaced_pod, self.namespace, label_selector=selector
        )
        return [pod_view(i) for i in raw["items"]], raw["metadata"]["resourceVersion"]

    # -- watches --------------------------------------------------------------------------
    def watch(
        self, kind: str, selector: str, resource_version: str, timeout: int
    ) -> Iterator[tuple[JobView | PodView, str]]:
        """(view, resourceVersion) per event until the server ends the stream."""
        func = self.batch.list_namespaced_job if kind == "jobs" else self.core.list_namespaced_pod
        view = job_view if kind == "jobs" else pod_view
        resp = self._call(
            f"watch {kind}",
            func,
            self.namespace,
            label_selector=selector,
            watch=True,
            resource_version=resource_version,
            timeout_seconds=timeout,
            allow_watch_bookmarks=True,
            _request_timeout=(10, timeout + 30),
        )
        with self._lock:
            self._responses.add(resp)
        try:
            for line in _lines(resp):
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    if obj.get("code") == 410:
                        raise WatchGone(obj.get("message", "410 Gone"))
                    raise TransientError(f"watch {kind}: {obj.get('message')}")
                rv = (obj.get("metadata") or {}).get("resourceVersion", resource_version)
                if event.get("type") == "BOOKMARK":
                    yield None, rv  # type: ignore[misc]
                    continue
                yield view(obj, deleted=event.get("type") == "DELETED"), rv
        finally:
            with self._lock:
                self._responses.discard(resp)
            resp.release_conn()

    # -- logs -----------------------------------------------------------------------------
    def pod_log(self, pod: str, tail_lines: int | None = None) -> str:
        kwargs = {"tail_lines": tail_lines} if tail_lines else {}
        resp = self._call(
            "read pods/log", self.core.read_namespaced_pod_log, pod, self.namespace, **kwargs
        )
        try:
            return str(resp.data.decode(errors="replace"))
        finally:
            resp.release_conn()

    def follow_log(self, pod: str) -> Iterator[str]:
        resp = self._call(
            "read pods/log",
            self.core.read_namespaced_pod_log,
            pod,
            self.namespace,
            follow=True,
            _request_timeout=(10, 3600),
        )
        with self._lock:
            self._responses.add(resp)
        try:
            yield from _lines(resp)
        finally:
            with self._lock:
                self._responses.discard(resp)
            resp.release_conn()

    def close(self) -> None:
        """Unblock open watches and log streams, then close the connection pool."""
        with self._lock:
            responses = list(self._responses)
        for resp in responses:
            with contextlib.suppress(Exception):
                resp.shutdown()
        with contextlib.suppress(Exception):
            self.api_client.close()


def _lines(resp: Any) -> Iterator[str]:
    buffer = b""
    for chunk in resp.stream(amt=None, decode_content=False):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode(errors="replace")
    if buffer:
        yield buffer.decode(errors="replace")
