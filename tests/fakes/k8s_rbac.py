"""(Not tests.) RBAC for the fake Kubernetes API: a bearer token mapped to a ServiceAccount
may do only what the Roles bound to it grant, as the real API server's RBAC authorizer.

A test hands over the objects the project renders (ServiceAccount, Role, RoleBinding) with
``bind_rendered``; requests carrying that account's token then answer 403 Forbidden, with
the real server's message, for any verb/resource no bound Role grants. The admin token of
the fake's kubeconfig stays unrestricted. Verbs are the API server's: GET of one object is
``get``, of a list ``list``, with ``?watch=true`` ``watch``; DELETE of a collection is
``deletecollection`` (its own verb, which ``delete`` does not imply).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the fake's route kinds -> (API group, resource) as RBAC names them
RESOURCES = {
    "jobs": ("batch", "jobs"),
    "pods": ("", "pods"),
    "log": ("", "pods/log"),
    "secrets": ("", "secrets"),
}


def verb(method: str, name: str | None, query: Mapping[str, str]) -> str:
    """The RBAC verb of one request."""
    if method == "GET":
        if query.get("watch") == "true":
            return "watch"
        return "get" if name else "list"
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


@dataclass
class Rbac:
    """Tokens of service accounts and the rules bound to each account (per namespace)."""

    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (ns, name)
    rules: dict[tuple[str, str], list[Mapping[str, Any]]] = field(default_factory=dict)
    denied: list[str] = field(default_factory=list)  # messages of refused requests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bind_rendered(
        self, objects: Iterable[Mapping[str, Any]], token: str, account: tuple[str, str]
    ) -> None:
        """Make ``token`` the service account ``(namespace, name)``'s and bind the rendered
        Roles to it through the rendered RoleBindings (only those naming it grant)."""
        docs = list(objects)
        roles = {
            (d["metadata"]["namespace"], d["metadata"]["name"]): d.get("rules", [])
            for d in docs
            if d.get("kind") == "Role"
        }
        with self.lock:
            self.accounts[token] = account
            bound = self.rules.setdefault(account, [])
            for binding in (d for d in docs if d.get("kind") == "RoleBinding"):
                ns = binding["metadata"]["namespace"]
                subjects = {
                    (s.get("namespace", ns), s["name"])
                    for s in binding.get("subjects", [])
                    if s.get("kind") == "ServiceAccount"
                }
                ref = binding["roleRef"]
                if account in subjects and ref.get("kind") == "Role":
                    bound.extend({**r, "_namespace": ns} for r in roles.get((ns, ref["name"]), []))

    def reset(self) -> None:
        """No service accounts (between tests sharing one server)."""
        with self.lock:
            self.accounts.clear()
            self.rules.clear()
            self.denied.clear()

    def knows(self, authorization: str | None) -> bool:
        return self._token(authorization) in self.accounts

    def check(
        self,
        authorization: str | None,
        method: str,
        kind: str,
        namespace: str,
        name: str | None,
        query: Mapping[str, str],
    ) -> str | None:
        """None when allowed; else the API server's Forbidden message."""
        token = self._token(authorization)
        if token not in self.accounts:
            return None  # the fake's admin user
        account = self.accounts[token]
        group, resource = RESOURCES.get(kind, ("", kind))
        want = verb(method, name, query)
        for rule in self.rules.get(account, []):
            if (
                rule["_namespace"] == namespace
                and _has(rule.get("apiGroups", []), group)
                and _has(rule.get("resources", []), resource)
                and _has(rule.get("verbs", []), want)
            ):
                return None
        user = f"system:serviceaccount:{account[0]}:{account[1]}"
        base, _, sub = resource.partition("/")
        what = f"{base}.{group}" if group else base
        message = (
            f'{what} is forbidden: User "{user}" cannot {want} resource "{base}"'
            + (f' with subresource "{sub}"' if sub else "")
            + f' in API group "{group}" in the namespace "{namespace}"'
        )
        with self.lock:
            self.denied.append(message)
        return message

    @staticmethod
    def _token(authorization: str | None) -> str:
        return (authorization or "").removeprefix("Bearer ").strip()


def _has(allowed: Iterable[str], value: str) -> bool:
    return "*" in allowed or value in allowed


def kubeconfig_as(path: Path, server: str, token: str, namespace: str) -> Path:
    """A kubeconfig authenticating with ``token`` (what a pod's service account has)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "sa",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [
            {"name": "sa", "context": {"cluster": "fake", "user": "sa", "namespace": namespace}}
        ],
    }
    path.write_text(json.dumps(config))
    return path
