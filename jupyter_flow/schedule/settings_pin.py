"""Pinning the executor settings a schedule's in-cluster driver runs its steps with.

A local ``run --on kubernetes`` (or ``--on batch``) reads ``[default.kubernetes]`` (or
``[default.batch]``) and the ``JUPYTER_FLOW_K8S_*`` / ``JUPYTER_FLOW_BATCH_*`` variables; a
scheduled driver has neither the config file nor the creator's environment. So at
``schedule create`` the same effective settings are resolved here, once, kept in the
schedule (targets render the driver from them) and put in the store content-addressed
(``blobs/``, SHA-256 of the canonical JSON); the driver is started with
``run --settings KEY`` and uses exactly them. A setting the driver cannot honour is refused
here, naming the file, section and key: never dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, fields, replace
from typing import Any

from ..config import Settings, config_file
from ..errors import ConfigError
from .model import Schedule

FORMAT = 1
# how this machine reaches the API server; the driver pod uses its service account instead
CONNECTION = ("kubeconfig", "context", "in_cluster")
DRIVER_ENV = ("JUPYTER_FLOW_ROOT", "PYTHONPATH", "PYTHONUNBUFFERED")  # the driver sets these


def where(settings: Settings, backend: str, key: str) -> str:
    """``jupyter_flow.toml [default.kubernetes] env``: where a setting is read from."""
    section = "default" if settings.profile == "default" else f"profiles.{settings.profile}"
    path = config_file()
    return f"{path or 'the settings'} [{section}.{backend}] {key}"


def _check_env(settings: Settings, backend: str, env: Iterable[str]) -> None:
    clash = sorted(set(env) & set(DRIVER_ENV))
    if clash:
        raise ConfigError(
            f"{where(settings, backend, 'env')} sets {', '.join(clash)}, which the scheduled "
            "driver sets itself (the store root and the pinned code on /code)",
            hint=f"remove {', '.join(clash)} from that env table (use --root for the store)",
        )


def check_known(settings: Settings, backend: str, known: Iterable[str]) -> None:
    """A key of the target's own table it does not know is a typo, refused (not ignored)."""
    unknown = sorted(set(settings.backend_options(backend)) - set(known))
    if unknown:
        raise ConfigError(
            f"{where(settings, backend, unknown[0])}: unknown {backend} schedule option(s): "
            f"{', '.join(unknown)}",
            hint=f"known options: {', '.join(sorted(known))}",
        )


def kubernetes_options(
    settings: Settings, namespace: str, schedule_keys: Iterable[str], env: Mapping[str, str]
) -> dict[str, Any]:
    """The Kubernetes executor's effective options for steps started in ``namespace`` by
    the CronJob's driver; ``schedule_keys`` are the target's own keys in the same table."""
    from ..runtime.executors.kubernetes_job import KubernetesOptions

    own = set(schedule_keys) - {f.name for f in fields(KubernetesOptions)}
    raw = {k: v for k, v in settings.backend_options("kubernetes").items() if k not in own}
    if raw.get("in_cluster") is False:
        raise ConfigError(
            f"{where(settings, 'kubernetes', 'in_cluster')} = false cannot hold for a "
            "scheduled run: its driver runs in the cluster, as the schedule's service account",
            hint="remove in_cluster (or use a profile without it) to schedule this flow",
        )
    options = KubernetesOptions.from_settings(raw, env)
    if options.namespace and options.namespace != namespace:
        raise ConfigError(
            f"steps would run in namespace {options.namespace!r} (JUPYTER_FLOW_K8S_NAMESPACE) "
            f"but the schedule's CronJob and its Role are in {namespace!r}",
            hint="unset JUPYTER_FLOW_K8S_NAMESPACE or set "
            f"{where(settings, 'kubernetes', 'namespace')} to the namespace you want",
        )
    _check_env(settings, "kubernetes", options.env)
    values = asdict(replace(options, namespace=namespace))
    for key in CONNECTION:  # the pod reaches the API as its service account
        values.pop(key)
    return values


NAMESPACED = ("secrets", "service_account", "image_pull_secrets")  # in the pod's namespace
# what jupyter_flow's driver does while it watches its Jobs: under Argo no driver runs
# (Argo starts the step pods), so these cannot hold there and are refused, not dropped
ARGO_CANNOT = {
    "unschedulable_timeout": "Argo, not a driver, waits for a node",
    "image_pull_timeout": "Argo, not a driver, waits for the image",
    "max_in_flight": "Argo starts the pods (cap them with max_workers: spec.parallelism)",
    "request_retries": "Argo, not a driver, calls the API server",
    "ttl_seconds_after_finished": "Argo keeps or deletes pods by its own podGC/ttlStrategy",
    "python": "Argo's pods start with 'python' (the code fetch and the task)",
}


def argo_options(
    settings: Settings, namespace: str, schedule_keys: Iterable[str], env: Mapping[str, str]
) -> dict[str, Any]:
    """The Kubernetes executor's settings (``[default.kubernetes]``, ``JUPYTER_FLOW_K8S_*``)
    for step pods that Argo starts in ``namespace``: what a local ``--on kubernetes`` run
    gives its Jobs, so both engines run a step alike. ``schedule_keys``: the CronJob
    target's own keys in that table, not the steps'."""
    from ..runtime.executors.kubernetes_job import KubernetesOptions

    own = set(schedule_keys) - {f.name for f in fields(KubernetesOptions)}
    raw = {
        k: v
        for k, v in settings.backend_options("kubernetes").items()
        if k not in own and k not in CONNECTION
    }
    for key, why in ARGO_CANNOT.items():
        if key in raw:
            raise ConfigError(
                f"{where(settings, 'kubernetes', key)} cannot hold for an Argo schedule: {why}",
                hint=f"remove {key} (or use a profile without it) to schedule this flow on Argo",
            )
    options = KubernetesOptions.from_settings(raw, env)
    single = settings.backend_options("kubernetes").get("image_pull_secret")
    if single and single not in options.image_pull_secrets:  # the CronJob's, same image
        options = replace(options, image_pull_secrets=(single, *options.image_pull_secrets))
    scoped = [k for k in NAMESPACED if getattr(options, k)]
    if options.namespace and options.namespace != namespace and scoped:
        raise ConfigError(
            f"{where(settings, 'kubernetes', scoped[0])} names objects of namespace "
            f"{options.namespace!r} ({where(settings, 'kubernetes', 'namespace')} or "
            f"JUPYTER_FLOW_K8S_NAMESPACE), but Argo runs the steps in {namespace!r}, "
            "where pods cannot use them",
            hint=f"set [default.argo] namespace = {options.namespace!r}, or use a profile "
            f"whose kubernetes namespace is {namespace!r} (with {', '.join(scoped)} there)",
        )
    _check_env(settings, "kubernetes", options.env)
    values = asdict(replace(options, namespace=namespace))
    for key in CONNECTION:
        values.pop(key)
    return values


def batch_options(
    settings: Settings, queue: str, region: str | None, env: Mapping[str, str]
) -> dict[str, Any]:
    """The Batch executor's effective options for the EventBridge driver's step jobs;
    ``queue``/``region`` fill in what ``[default.batch]`` leaves out (``[default.aws]``)."""
    from ..runtime.executors.batch_job import BatchOptions

    raw = dict(settings.backend_options("batch"))
    if queue:
        raw.setdefault("queue", queue)
    if region:
        raw.setdefault("region", region)
    options = BatchOptions.from_settings(raw, env)
    _check_env(settings, "batch", options.env)
    return asdict(options)


def with_schedule_label(schedule: Schedule, options: Mapping[str, Any]) -> dict[str, Any]:
    """Kubernetes executor ``options`` whose step pods carry the schedule's label, so
    ``kubectl get pods -l jupyter-flow/schedule=NAME`` finds its fires (for the targets
    whose steps are Kubernetes pods: the CronJob's driver's Jobs and Argo's templates)."""
    from ..runtime.executors.kubernetes_job import SCHEDULE_LABEL, label_value

    labels = {**options.get("labels", {}), SCHEDULE_LABEL: label_value(schedule.name)}
    return {**options, "labels": labels}


def pin(
    schedule: Schedule, settings: Settings, executor: str, options: Mapping[str, Any]
) -> Schedule:
    """``schedule`` carrying the settings document its driver runs with (``options`` of
    the executor registered as ``executor``), and its key."""
    document = {
        "format": FORMAT,
        "executor": executor,
        "max_workers": settings.max_workers,
        "retry_backoff": settings.retry_backoff,
        "extra": {executor: json.loads(json.dumps(options))},  # plain JSON (lists)
    }
    return replace(schedule, settings=document, settings_key=key_of(encode(document)))


def encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(root: str, schedule: Schedule) -> None:
    """Put the pinned settings in the store (idempotent: named by their hash)."""
    if not schedule.settings_key:
        return
    from ..store import open_store
    from ..store.blobs import blob_path

    data = encode(schedule.settings)
    assert key_of(data) == schedule.settings_key, "the schedule's settings were changed"
    store = open_store(root)
    try:
        store.put(blob_path(schedule.settings_key), data)
    finally:
        store.close()
