"""The one table of pluggable backends: kind -> {name: "module:Class"}.

Backends are chosen by name from here and imported only when chosen, so an optional SDK
(boto3, kubernetes) is imported only by the backend that needs it. Adding an engine is a
new module plus one line here, never an ``if backend == ...`` elsewhere.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import ConfigError

PLUGINS: dict[str, dict[str, str]] = {
    "executor": {
        "local": "jupyter_flow.runtime.executors.local:LocalExecutor",
        "kubernetes": "jupyter_flow.runtime.executors.kubernetes:KubernetesExecutor",
        "batch": "jupyter_flow.runtime.executors.batch:BatchExecutor",
    },
    "store": {
        "file": "jupyter_flow.store.blobs:LocalBlobs",
        "s3": "jupyter_flow.store.s3:S3Blobs",
    },
    "schedule": {
        "local": "jupyter_flow.schedule.local:LocalTarget",
        "kubernetes": "jupyter_flow.schedule.kubernetes:KubernetesTarget",
        "argo": "jupyter_flow.schedule.argo:ArgoTarget",
        "aws": "jupyter_flow.schedule.aws:AwsTarget",
    },
}


def names(kind: str) -> list[str]:
    return sorted(PLUGINS.get(kind, {}))


def load(kind: str, name: str) -> Any:
    """The class registered as ``name`` for ``kind``; a clear error for unknown names."""
    table = PLUGINS.get(kind, {})
    if name not in table:
        raise ConfigError(
            f"unknown {kind} {name!r}",
            hint=f"choose one of: {', '.join(sorted(table)) or 'none installed'}",
        )
    module_name, _, attr = table[name].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)
