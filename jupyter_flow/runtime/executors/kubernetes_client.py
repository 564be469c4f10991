"""The only module that imports the ``kubernetes`` SDK: config loading and the API calls.

Calls go out raw (``_preload_content=False``) and come back as the frozen views of
``kubernetes_status``; the manifest we send is already plain JSON. 429 and 5xx answers and
dropped connections are retried with backoff; 401/403 become errors that say what to fix.
Watches are our own loop over the chunked stream, so 410 Gone is ours to handle (relist).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ...errors import ConfigError, MissingExtraError
from .kubernetes_job import KubernetesOptions
from .kubernetes_status import JobView, PodView, job_view, pod_view

RBAC_HINT = (
    "grant it a Role in that namespace with: jobs (apiGroup batch): create, get, list, watch, "
    "delete, deletecollection; pods: get, list, watch; pods/log: get"
)
_IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
_IN_CLUSTER_NS = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class WatchGone(Exception):
    """The watched resourceVersion is too old (410 Gone): list again."""


class TransientError(Exception):
    """The API could not be reached or kept failing (429/5xx) after our retries."""


def _sdk() -> Any:
    try:
        import kubernetes
    except ImportError:
        raise MissingExtraError("kubernetes", "kubernetes", "running steps on Kubernetes") from None
    return kubernetes


class KubeClient:
    """Jobs, pods and logs of one namespace, through the official client."""

    def __init__(self, options: KubernetesOptions, env: Mapping[str, str] | None = None) -> None:
        k8s = _sdk()
        self._k8s = k8s
        self.options = options
        env = os.environ if env is None else env
        self.api_client, context_ns = _load_config(k8s, options, env)
        self.namespace = options.namespace or context_ns or "default"
        self.batch = k8s.client.BatchV1Api(self.api_client)
        self.core = k8s.client.CoreV1Api(self.api_client)
        self.host = self.api_client.configuration.host
        self.calls = 0
        self._responses: set[Any] = set()
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------
    def _call(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One API call with retries; returns the urllib3 response of a 2xx answer."""
        exc = self._k8s.client.exceptions.ApiException
        delay = 0.1
        for attempt in range(self.options.request_retries + 1):
            self.calls += 1
            try:
                resp = func(*args, _preload_content=False, **kwargs)
            except exc as err:  # raised by the SDK for some statuses even when not preloading
                status, body, retry_after = err.status, err.body or "", None
            except Exception as err:  # urllib3: connection refused/reset, timeouts
                status, body, retry_after = None, str(err), None
                if not _is_connection_error(err):
                    raise
            else:
                if 200 <= resp.status < 300:
                    return resp
                status, body = resp.status, resp.data.decode(errors="replace")
                retry_after = resp.headers.get("Retry-After")
                resp.release_conn()
            if status in (401, 403):
                raise _auth_error(status, what, self.namespace, self.host, body)
            if status is not None and status != 429 and status < 500:
                raise _api_error(status, what, body)
            if attempt == self.options.request_retries:
                raise TransientError(f"{what} failed after {attempt + 1} tries: {status or body}")
            wait = float(retry_after) if retry_after and retry_after.isdigit() else delay
            time.sleep(min(wait, 10.0))
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def _json(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        resp = self._call(what, func, *args, **kwargs)
        try:
            return json.loads(resp.data)
        finally:
            resp.release_conn()

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


class NotFound(ConfigError):
    """A 404 from the API (a Job that is already gone)."""


def _lines(resp: Any) -> Iterator[str]:
    buffer = b""
    for chunk in resp.stream(amt=None, decode_content=False):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode(errors="replace")
    if buffer:
        yield buffer.decode(errors="replace")


def _is_connection_error(err: Exception) -> bool:
    import urllib3

    return isinstance(err, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError))


def _message(body: str) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        return str(json.loads(body).get("message") or body)
    return body


def _auth_error(status: int, what: str, namespace: str, host: str, body: str) -> ConfigError:
    if status == 401:
        return ConfigError(
            f"the Kubernetes API at {host} did not accept our credentials (401 Unauthorized)",
            hint="check the kubeconfig user/token (or JUPYTER_FLOW_K8S_CONTEXT) and log in again",
        )
    return ConfigError(
        f"Kubernetes refused to let us {what} in namespace {namespace!r} (403 Forbidden): "
        f"{_message(body)}",
        hint=f"the kubeconfig user or pod service account lacks RBAC permissions; {RBAC_HINT}",
    )


def _api_error(status: int, what: str, body: str) -> ConfigError:
    if status == 404:
        return NotFound(f"{what}: not found ({_message(body)})")
    return ConfigError(
        f"Kubernetes rejected the request to {what} ({status}): {_message(body)}",
        hint="check the [default.kubernetes] options (namespace, image, node_selector, ...)",
    )


def _load_config(
    k8s: Any, options: KubernetesOptions, env: Mapping[str, str]
) -> tuple[Any, str | None]:
    """An ApiClient from the kubeconfig (file, ``KUBECONFIG``, context) or in-cluster config."""
    config_file = (
        options.kubeconfig or env.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    )
    has_file = any(Path(p).expanduser().is_file() for p in config_file.split(os.pathsep) if p)
    in_cluster = options.in_cluster
    if in_cluster is None:
        in_cluster = not has_file and bool(env.get("KUBERNETES_SERVICE_HOST"))
    if in_cluster:
        cfg = k8s.client.Configuration()
        try:
            k8s.config.load_incluster_config(client_configuration=cfg)
        except k8s.config.ConfigException as err:
            raise ConfigError(f"cannot load the in-cluster Kubernetes config: {err}") from None
        namespace = _IN_CLUSTER_NS.read_text().strip() if _IN_CLUSTER_NS.is_file() else None
        return k8s.client.ApiClient(cfg), namespace
    if not has_file:
        raise ConfigError(
            f"no kubeconfig found at {config_file}",
            hint="set KUBECONFIG or kubeconfig = '...' in [default.kubernetes] "
            "(or run the driver inside the cluster)",
        )
    try:
        contexts, current = k8s.config.list_kube_config_contexts(config_file=config_file)
        chosen = current
        if options.context:
            chosen = next((c for c in contexts if c["name"] == options.context), None)
        if options.context and chosen is None:
            names = ", ".join(c["name"] for c in contexts)
            raise ConfigError(
                f"kubeconfig context {options.context!r} does not exist",
                hint=f"contexts in {config_file}: {names}",
            )
        api = k8s.config.new_client_from_config(
            config_file=config_file, context=options.context, persist_config=False
        )
    except k8s.config.ConfigException as err:
        raise ConfigError(f"cannot load the kubeconfig {config_file}: {err}") from None
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return api, namespace
