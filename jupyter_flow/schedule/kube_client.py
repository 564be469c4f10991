"""Applying manifests (shared by the CronJob and Argo targets), through ``sdk.kube``: the
cluster is loaded and called exactly as the Kubernetes executor does (``kubeconfig``,
``context``, ``in_cluster``, the ``JUPYTER_FLOW_K8S_*`` overrides; 429/5xx retried).

Objects are created in order and, if one fails, the ones this call created are deleted
again, so a failed apply leaves nothing half-created.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import ConfigError
from ..sdk import kube

PURPOSE = "scheduling on Kubernetes"
CONNECTION = ("kubeconfig", "context", "in_cluster", "request_retries")
# kind -> (API class, method suffix); anything else is a custom object (Argo's kinds).
TYPED = {
    "ServiceAccount": ("CoreV1Api", "service_account"),
    "Role": ("RbacAuthorizationV1Api", "role"),
    "RoleBinding": ("RbacAuthorizationV1Api", "role_binding"),
    "CronJob": ("BatchV1Api", "cron_job"),
    "Job": ("BatchV1Api", "job"),
}
RBAC_HINT = (
    "to create a schedule, grant it in that namespace: serviceaccounts, roles and rolebindings "
    "(apiGroup rbac.authorization.k8s.io), cronjobs and jobs (batch), or workflowtemplates, "
    "cronworkflows and workflows (argoproj.io): create, get, update, patch, delete "
    "(kubectl auth can-i create cronjobs -n NAMESPACE)"
)
HINT = "check the schedule's namespace and the rendered objects (schedule create --dry-run)"


class Connected:
    """A loaded cluster and the retrying caller over it."""

    def __init__(self, cluster: kube.Cluster, retries: int) -> None:
        self.cluster = cluster
        self.api = kube.Api(cluster, retries=retries, rbac_hint=RBAC_HINT, hint=HINT)


def api_client(options: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Connected:
    """The cluster the target's ``options`` name, read as the executor reads
    ``[default.kubernetes]``: the same keys, the same environment overrides, the same
    in-cluster rule (``sdk.kube.load``)."""
    from ..runtime.executors.kubernetes_job import KubernetesOptions

    env = os.environ if env is None else env
    raw = {key: options[key] for key in CONNECTION if key in options}
    settings = KubernetesOptions.from_settings(raw, env)
    cluster = kube.load(
        PURPOSE,
        kubeconfig=settings.kubeconfig,
        context=settings.context,
        in_cluster=settings.in_cluster,
        env=env,
    )
    return Connected(cluster, settings.request_retries)


def executor_namespace(options: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """Where the Kubernetes executor runs Jobs with ``options``, which set no namespace:
    ``JUPYTER_FLOW_K8S_NAMESPACE``, else the kubeconfig context's (or the pod's), else
    ``default``. Reading the kubeconfig sends no request; one that cannot be read leaves
    ``default``, and applying then says what is wrong with it."""
    if env.get("JUPYTER_FLOW_K8S_NAMESPACE"):
        return env["JUPYTER_FLOW_K8S_NAMESPACE"]
    try:
        return api_client(options, env).cluster.namespace or "default"
    except ConfigError:
        return "default"


class Objects:
    """create/replace/read/patch/delete for the kinds we apply, over one cluster."""

    def __init__(self, connected: Connected) -> None:
        self.api = connected.api
        self.client = connected.cluster.api_client  # the SDK's ApiClient
        self.k8s = kube.sdk(PURPOSE)

    def _typed(self, kind: str, verb: str) -> Callable[..., Any]:
        api_name, suffix = TYPED[kind]
        api = getattr(self.k8s.client, api_name)(self.client)
        return getattr(api, f"{verb}_namespaced_{suffix}")

    def call(self, verb: str, doc: Mapping[str, Any], body: Any = None, **extra: Any) -> Any:
        """``verb`` (create|read|replace|patch|delete) on the object ``doc`` names; the
        answer as JSON. Raises ``kube.ApiError`` (with its status) when the API refuses."""
        meta = doc["metadata"]
        kind = doc["kind"]
        namespace = meta["namespace"]
        args: dict[str, Any] = {"namespace": namespace, **extra}
        if verb != "create":
            args["name"] = meta["name"]
        if verb in ("create", "replace"):
            args["body"] = doc
        elif verb == "patch":
            args["body"] = body
        plural = kind.lower() + "s"
        if kind in TYPED:
            method = self._typed(kind, verb)
        else:
            group, _, version = doc["apiVersion"].partition("/")
            args.update(group=group, version=version, plural=plural)
            custom = self.k8s.client.CustomObjectsApi(self.client)
            method = getattr(custom, f"{verb}_namespaced_custom_object")
        return self._json(f"{verb} {plural}", namespace, method, **args)

    def list(self, api_version: str, kind: str, namespace: str, selector: str) -> list[Any]:
        """The objects of ``kind`` in ``namespace`` whose labels match ``selector``, as
        JSON, retried like every other call."""
        plural = kind.lower() + "s"
        args: dict[str, Any] = {"namespace": namespace, "label_selector": selector}
        if kind in TYPED:
            method = self._typed(kind, "list")
        else:
            group, _, version = api_version.partition("/")
            args.update(group=group, version=version, plural=plural)
            method = self.k8s.client.CustomObjectsApi(self.client).list_namespaced_custom_object
        return list(self._json(f"list {plural}", namespace, method, **args).get("items", []))

    def _json(self, what: str, where: str, method: Callable[..., Any], /, **args: Any) -> Any:
        try:
            return self.api.json(what, where, method, **args)
        except kube.TransientError as err:
            raise ConfigError(
                f"cannot reach the Kubernetes API: {err}",
                hint="check the cluster is up and reachable from here (kubectl cluster-info)",
            ) from None

    def upsert(self, doc: Mapping[str, Any]) -> bool:
        """Create, or replace what exists; True when it was created."""
        try:
            self.call("create", doc)
            return True
        except kube.ApiError as err:
            if err.status != 409:
                raise
        current = self.call("read", doc)
        version = current.get("metadata", {}).get("resourceVersion")
        body = {**doc, "metadata": {**doc["metadata"], "resourceVersion": version}}
        self.call("replace", body)
        return False

    def delete(self, doc: Mapping[str, Any]) -> None:
        try:
            self.call("delete", doc, propagation_policy="Background")
        except kube.NotFound:
            pass


def apply_all(objects: Objects, docs: Iterable[Mapping[str, Any]], what: str) -> None:
    created: list[Mapping[str, Any]] = []
    try:
        for doc in docs:
            if objects.upsert(doc):
                created.append(doc)
    except Exception as err:
        for doc in reversed(created):
            try:
                objects.delete(doc)
            except Exception:  # best effort: report the original failure
                pass
        raise _as_error(err, what) from None


def delete_all(objects: Objects, docs: Iterable[Mapping[str, Any]], what: str) -> None:
    try:
        for doc in reversed(list(docs)):
            objects.delete(doc)
    except Exception as err:
        raise _as_error(err, what) from None


def _as_error(err: Exception, what: str) -> Exception:
    """The API's refusal, headed by what the user asked for (``applying schedule 'x'``)."""
    if isinstance(err, ConfigError):
        return ConfigError(f"{what}: {err.headline}"[:600], hint=err.hint)
    return err
