"""Pluggable backends, chosen by name: kind -> {name: "module:Class"}.

Backends register through entry points (groups ``jupyter_flow.executor``,
``jupyter_flow.store``, ``jupyter_flow.schedule``), the built-ins too (see pyproject.toml),
as papermill does for engines: an out-of-tree backend is a package with one entry point,
never a patch to this one. The built-ins are also listed here because a task container may
run jupyter_flow from its code package, where no installed metadata exists. Classes are
imported only when chosen, so an optional SDK (boto3, kubernetes) is imported only by the
backend that needs it.
"""

from __future__ import annotations

import importlib
import sys
from functools import cache
from typing import Any

from .errors import ConfigError

KINDS = ("executor", "store", "schedule")
BUILTIN: dict[str, dict[str, str]] = {
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


def group(kind: str) -> str:
    return f"jupyter_flow.{kind}"


@cache
def table(kind: str) -> dict[str, str]:
    """Every backend of ``kind``: the built-ins, then those other packages register. A
    package may not take over a built-in's name (that would change what an existing
    setting means without saying so): it is left out, with a warning naming it."""
    from importlib import metadata  # ~20 ms to import, and a scan of site-packages

    found = dict(BUILTIN.get(kind, {}))
    for point in metadata.entry_points(group=group(kind)):
        if found.get(point.name, point.value) != point.value:
            owner = point.dist.name if point.dist is not None else "a package"
            print(
                f"jupyter_flow: warning: {owner} registers the {kind} {point.name!r} "
                f"({point.value}), which is built in; using the built-in",
                file=sys.stderr,
            )
            continue
        found[point.name] = point.value
    return found


def names(kind: str) -> list[str]:
    return sorted(table(kind))


def builtin_help(kind: str) -> str:
    """The built-in names for a ``--help`` text, without scanning installed packages (a
    start-up cost every command would pay)."""
    return f"{', '.join(sorted(BUILTIN[kind]))} or one another package registers"


def load(kind: str, name: str) -> Any:
    """The class registered as ``name`` for ``kind``; a clear error for unknown names.
    A built-in is loaded without looking at other packages (none may take its name)."""
    entries = BUILTIN[kind] if name in BUILTIN.get(kind, {}) else table(kind)
    if name not in entries:
        raise ConfigError(
            f"unknown {kind} {name!r}",
            hint=f"choose one of: {', '.join(sorted(entries)) or 'none installed'}; another "
            f"package can add one with an entry point in the group {group(kind)!r}",
        )
    module_name, _, attr = entries[name].partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as err:
        if module_name.startswith("jupyter_flow."):
            raise  # a built-in's optional SDK: its module gives the pip install hint
        raise ConfigError(
            f"the {kind} {name!r} is registered as {entries[name]} but cannot be loaded: "
            f"{type(err).__name__}: {err}",
            hint="reinstall the package that registers it, or choose another",
        ) from None
