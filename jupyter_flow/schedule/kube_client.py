"""Applying manifests with the official ``kubernetes`` client (shared by the CronJob and
Argo targets). The only schedule module besides the targets that imports the SDK.

Objects are created in order and, if one fails, the ones this call created are deleted
again, so a failed apply leaves nothing half-created.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import ConfigError, MissingExtraError

# kind -> (API class, method suffix); anything else is a custom object (Argo's kinds).
TYPED = {
    "ServiceAccount": ("CoreV1Api", "service_account"),
    "Role": ("RbacAuthorizationV1Api", "role"),
    "RoleBinding": ("RbacAuthorizationV1Api", "role_binding"),
    "CronJob": ("BatchV1Api", "cron_job"),
    "Job": ("BatchV1Api", "job"),
}


def _sdk() -> Any:
    try:
        import kubernetes
    except ModuleNotFoundError:
        raise MissingExtraError("kubernetes", "kubernetes", "scheduling on Kubernetes") from None
    return kubernetes


def api_client(options: Mapping[str, Any]) -> Any:
    """A client for the configured cluster: ``kubeconfig``/``context`` settings, else
    ``KUBECONFIG`` / ``~/.kube/config``, else the in-cluster service account."""
    k8s = _sdk()
    configuration = k8s.client.Configuration()
    try:
        k8s.config.load_kube_config(
            # read KUBECONFIG now: the SDK reads it once, when it is imported
            config_file=options.get("kubeconfig") or os.environ.get("KUBECONFIG"),
            context=options.get("context"),
            client_configuration=configuration,
        )
    except (k8s.config.ConfigException, FileNotFoundError, TypeError) as err:
        try:
            k8s.config.load_incluster_config(client_configuration=configuration)
        except k8s.config.ConfigException:
            raise ConfigError(
                f"no Kubernetes cluster configured: {err}",
                hint="set KUBECONFIG, or kubeconfig/context under [default.kubernetes]",
            ) from None
    return k8s.client.ApiClient(configuration)


class Objects:
    """create/replace/read/delete for the kinds we apply, over one ApiClient."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.k8s = _sdk()

    def _typed(self, kind: str, verb: str) -> Callable[..., Any]:
        api_name, suffix = TYPED[kind]
        api = getattr(self.k8s.client, api_name)(self.client)
        return getattr(api, f"{verb}_namespaced_{suffix}")

    def call(self, verb: str, doc: Mapping[str, Any], body: Any = None, **extra: Any) -> Any:
        """``verb`` (create|read|replace|patch|delete) on the object ``doc`` names."""
        meta = doc["metadata"]
        kind = doc["kind"]
        args: dict[str, Any] = {"namespace": meta["namespace"], **extra}
        if verb != "create":
            args["name"] = meta["name"]
        if verb in ("create", "replace"):
            args["body"] = doc
        elif verb == "patch":
            args["body"] = body
        if kind in TYPED:
            return self._typed(kind, verb)(**args)
        group, _, version = doc["apiVersion"].partition("/")
        custom = self.k8s.client.CustomObjectsApi(self.client)
        method = getattr(custom, f"{verb}_namespaced_custom_object")
        return method(group=group, version=version, plural=kind.lower() + "s", **args)

    def status_of(self, err: Exception) -> int | None:
        if isinstance(err, self.k8s.client.exceptions.ApiException):
            return int(err.status or 0)
        return None

    def upsert(self, doc: Mapping[str, Any]) -> bool:
        """Create, or replace what exists; True when it was created."""
        try:
            self.call("create", doc)
            return True
        except Exception as err:
            if self.status_of(err) != 409:
                raise
        current = self.call("read", doc)
        version = _resource_version(current)
        body = {**doc, "metadata": {**doc["metadata"], "resourceVersion": version}}
        self.call("replace", body)
        return False

    def delete(self, doc: Mapping[str, Any]) -> None:
        try:
            self.call("delete", doc, propagation_policy="Background")
        except Exception as err:
            if self.status_of(err) != 404:
                raise


def _resource_version(obj: Any) -> str | None:
    if isinstance(obj, dict):
        return obj.get("metadata", {}).get("resourceVersion")
    return getattr(getattr(obj, "metadata", None), "resource_version", None)


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
        raise _as_error(objects, err, what) from None


def delete_all(objects: Objects, docs: Iterable[Mapping[str, Any]], what: str) -> None:
    try:
        for doc in reversed(list(docs)):
            objects.delete(doc)
    except Exception as err:
        raise _as_error(objects, err, what) from None


def _as_error(objects: Objects, err: Exception, what: str) -> Exception:
    status = objects.status_of(err)
    if status is None:
        if isinstance(err, OSError) or "MaxRetryError" in type(err).__name__:
            return ConfigError(f"{what}: cannot reach the Kubernetes API: {err}")
        return err
    reason = getattr(err, "reason", "") or ""
    body = getattr(err, "body", "") or ""
    hint = "check the namespace and your permissions (kubectl auth can-i)"
    return ConfigError(
        f"{what}: the Kubernetes API answered {status} {reason}: {body}"[:600], hint=hint
    )
