"""The ``kubernetes`` SDK: loading a cluster's configuration and calling its API, for the
Kubernetes executor and the CronJob/Argo schedule targets alike.

``load`` reads the kubeconfig (a file list, ``KUBECONFIG``, a context and its namespace)
or the pod's service account (``in_cluster``, or no kubeconfig inside a pod), so one
setting means one cluster wherever it is read. ``Api`` makes calls raw
(``_preload_content=False``): 429, 5xx and dropped connections are retried with backoff,
401/403 become errors that say what to grant, other refusals carry their status.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingExtraError

IN_CLUSTER_NS = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
MAX_WAIT = 10.0  # seconds: the longest Retry-After we honour


def sdk(purpose: str) -> Any:
    """The ``kubernetes`` package, or an error saying which extra to install."""
    try:
        import kubernetes
    except ImportError:
        raise MissingExtraError("kubernetes", "kubernetes", purpose) from None
    return kubernetes


@dataclass(frozen=True)
class Cluster:
    """A loaded configuration: the SDK's ApiClient, and the namespace it implies (the
    kubeconfig context's, or the pod's service account's; None when neither says)."""

    api_client: Any
    namespace: str | None
    host: str


def load(
    purpose: str,
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    in_cluster: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> Cluster:
    """The cluster named by these settings. ``in_cluster`` None: in-cluster only when no
    kubeconfig file exists and ``KUBERNETES_SERVICE_HOST`` is set (a pod); a kubeconfig that
    exists but cannot be read, or a context it lacks, is an error, never a fallback."""
    k8s = sdk(purpose)
    import yaml  # the SDK's own dependency: how it reads kubeconfig files

    env = os.environ if env is None else env
    config_file = kubeconfig or env.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    has_file = any(Path(p).expanduser().is_file() for p in config_file.split(os.pathsep) if p)
    if in_cluster is None:
        in_cluster = not has_file and bool(env.get("KUBERNETES_SERVICE_HOST"))
    if in_cluster:
        return _in_cluster(k8s)
    if not has_file:
        raise ConfigError(
            f"no Kubernetes cluster configured: no kubeconfig found at {config_file}",
            hint="set KUBECONFIG or kubeconfig = '...' in [default.kubernetes] "
            "(or run the driver inside the cluster)",
        )
    try:
        contexts, current = k8s.config.list_kube_config_contexts(config_file=config_file)
        chosen = current
        if context:
            chosen = next((c for c in contexts if c["name"] == context), None)
        if context and chosen is None:
            names = ", ".join(c["name"] for c in contexts)
            raise ConfigError(
                f"kubeconfig context {context!r} does not exist",
                hint=f"contexts in {config_file}: {names} (context in [default.kubernetes] "
                "or JUPYTER_FLOW_K8S_CONTEXT)",
            )
        api = k8s.config.new_client_from_config(
            config_file=config_file, context=context, persist_config=False
        )
    except (k8s.config.ConfigException, yaml.YAMLError, OSError, ValueError, TypeError) as err:
        raise ConfigError(f"cannot load the kubeconfig {config_file}: {err}") from None
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return Cluster(api, namespace, str(api.configuration.host))


def _in_cluster(k8s: Any) -> Cluster:
    cfg = k8s.client.Configuration()
    try:
        k8s.config.load_incluster_config(client_configuration=cfg)
    except k8s.config.ConfigException as err:
        raise ConfigError(
            f"cannot load the in-cluster Kubernetes config: {err}",
            hint="in_cluster = true works inside a pod only; remove it to use a kubeconfig",
        ) from None
    namespace = IN_CLUSTER_NS.read_text().strip() if IN_CLUSTER_NS.is_file() else None
    return Cluster(k8s.client.ApiClient(cfg), namespace or None, str(cfg.host))


class TransientError(Exception):
    """The API could not be reached or kept failing (429/5xx) after our retries."""


class ApiError(ConfigError):
    """The API refused a request; ``status`` is its HTTP status."""

    def __init__(self, status: int, headline: str, *, hint: str | None = None) -> None:
        self.status = status
        super().__init__(headline, hint=hint)


class NotFound(ApiError):
    """A 404: the object is not (or no longer) there."""


class Api:
    """Calls over one cluster with retries; ``rbac_hint`` says what a 403 needs granted and
    ``hint`` what to check when a request is rejected (the caller's settings)."""

    def __init__(self, cluster: Cluster, *, retries: int, rbac_hint: str, hint: str) -> None:
        self.cluster = cluster
        self.retries = retries
        self.rbac_hint = rbac_hint
        self.hint = hint
        self.calls = 0  # requests sent, retries included (approximate under threads)
        self._exc = sdk("Kubernetes").client.exceptions.ApiException

    def call(
        self, what: str, namespace: str, func: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Any:
        """``func(*args, **kwargs)`` unparsed; returns the urllib3 response of a 2xx.
        ``namespace`` names where, in a 403's words (the SDK's own may be in ``kwargs``)."""
        delay = 0.1
        for attempt in range(self.retries + 1):
            self.calls += 1
            try:
                resp = func(*args, _preload_content=False, **kwargs)
            except self._exc as err:  # raised for some statuses even when not preloading
                status, body, retry_after = err.status, err.body or "", None
            except Exception as err:  # urllib3: connection refused/reset, timeouts
                if not _is_connection_error(err):
                    raise
                status, body, retry_after = None, str(err), None
            else:
                if 200 <= resp.status < 300:
                    return resp
                status, body = resp.status, resp.data.decode(errors="replace")
                retry_after = resp.headers.get("Retry-After")
                resp.release_conn()
            if status is not None and status != 429 and status < 500:
                raise self.error(int(status), what, namespace, body)
            if attempt == self.retries:
                raise TransientError(
                    f"{what} at {self.cluster.host} failed after {attempt + 1} tries: "
                    f"{status or body}"
                )
            wait = float(retry_after) if retry_after and retry_after.isdigit() else delay
            time.sleep(min(wait, MAX_WAIT))
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def json(
        self, what: str, namespace: str, func: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Any:
        resp = self.call(what, namespace, func, *args, **kwargs)
        try:
            return json.loads(resp.data)
        finally:
            resp.release_conn()

    def error(self, status: int, what: str, namespace: str, body: str) -> ApiError:
        host, said = self.cluster.host, _message(body)
        if status == 401:
            return ApiError(
                401,
                f"the Kubernetes API at {host} did not accept our credentials (401 Unauthorized)",
                hint="check the kubeconfig user/token (or JUPYTER_FLOW_K8S_CONTEXT) and log in "
                "again",
            )
        if status == 403:
            return ApiError(
                403,
                f"Kubernetes refused to let us {what} in namespace {namespace!r} "
                f"(403 Forbidden): {said}",
                hint=f"the kubeconfig user or pod service account lacks RBAC permissions; "
                f"{self.rbac_hint}",
            )
        if status == 404:
            return NotFound(404, f"{what}: not found ({said})")
        return ApiError(
            status, f"Kubernetes rejected the request to {what} ({status}): {said}", hint=self.hint
        )


def _is_connection_error(err: Exception) -> bool:
    import urllib3

    return isinstance(err, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError))


def _message(body: str) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        return str(json.loads(body).get("message") or body)
    return body
