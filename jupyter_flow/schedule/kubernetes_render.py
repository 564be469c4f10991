"""Pure manifests for a Kubernetes schedule: a CronJob whose pod runs the flow's driver
in-cluster, and the ServiceAccount/Role/RoleBinding that driver needs to run steps as Jobs.

Golden-tested and validated with ``kubernetes-validate``; ``kubernetes.py`` applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .bootstrap import CODE_DIR, driver_command, fetch_command, labels, object_name
from .model import Schedule

POLICY = {"forbid": "Forbid", "allow": "Allow", "replace": "Replace"}


@dataclass(frozen=True)
class KubeOptions:
    """``[default.kubernetes]`` settings used by schedules."""

    namespace: str = "default"
    image: str = "python:3.11-slim"
    store_url: str = ""  # defaults to the schedule's root
    service_account: str | None = None  # an existing one: no RBAC objects are rendered
    starting_deadline_seconds: int = 300
    history_limit: int = 3
    driver_cpu: str = "500m"
    driver_memory: str = "512Mi"
    image_pull_secret: str | None = None

    @classmethod
    def from_settings(cls, options: Mapping[str, Any]) -> KubeOptions:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in options.items() if k in known})


def service_account_name(schedule: Schedule, opts: KubeOptions) -> str:
    return opts.service_account or object_name(schedule)


def render_rbac(schedule: Schedule, opts: KubeOptions) -> list[dict[str, Any]]:
    """What the driver may do in its namespace: exactly the calls of the Kubernetes executor
    (``runtime/executors/kubernetes_client.py``): create, watch, list and delete step Jobs,
    ``deletecollection`` for cancel-all (its own verb), follow their pods and read logs."""
    if opts.service_account:
        return []
    name = object_name(schedule)
    meta = {"name": name, "namespace": opts.namespace, "labels": labels(schedule)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [
                {
                    "apiGroups": ["batch"],
                    "resources": ["jobs"],
                    "verbs": ["create", "get", "list", "watch", "delete", "deletecollection"],
                },
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": opts.namespace}],
        },
    ]


def render_pod_spec(schedule: Schedule, opts: KubeOptions, executor: str) -> dict[str, Any]:
    """The driver pod: an init container fetches the pinned code, the main one runs it."""
    store = opts.store_url or schedule.root
    mount = [{"name": "code", "mountPath": CODE_DIR}]
    env = [
        {"name": "JUPYTER_FLOW_ROOT", "value": store},
        # the Kubernetes executor's settings for the step Jobs (no config file in the pod)
        {"name": "JUPYTER_FLOW_K8S_NAMESPACE", "value": opts.namespace},
        {"name": "JUPYTER_FLOW_K8S_IMAGE", "value": opts.image},
        {"name": "PYTHONPATH", "value": CODE_DIR},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    spec: dict[str, Any] = {
        "serviceAccountName": service_account_name(schedule, opts),
        "restartPolicy": "Never",
        "initContainers": [
            {
                "name": "fetch-code",
                "image": opts.image,
                "command": fetch_command(schedule, store),
                "volumeMounts": mount,
            }
        ],
        "containers": [
            {
                "name": "driver",
                "image": opts.image,
                "command": driver_command(schedule, store, executor),
                "workingDir": CODE_DIR,
                "env": env,
                "resources": {
                    "requests": {"cpu": opts.driver_cpu, "memory": opts.driver_memory},
                    "limits": {"memory": opts.driver_memory},
                },
                "volumeMounts": mount,
            }
        ],
        "volumes": [{"name": "code", "emptyDir": {}}],
    }
    if opts.image_pull_secret:
        spec["imagePullSecrets"] = [{"name": opts.image_pull_secret}]
    return spec


def render_cronjob(schedule: Schedule, opts: KubeOptions) -> dict[str, Any]:
    meta = {"name": object_name(schedule), "namespace": opts.namespace, "labels": labels(schedule)}
    annotations = {
        "jupyter-flow/code-package": schedule.flow.package_key,
        "jupyter-flow/source": schedule.flow.source_path,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {**meta, "annotations": annotations},
        "spec": {
            "schedule": schedule.cron,
            "timeZone": schedule.timezone,
            "concurrencyPolicy": POLICY[schedule.concurrency],
            "startingDeadlineSeconds": opts.starting_deadline_seconds,
            "suspend": schedule.paused,
            "successfulJobsHistoryLimit": opts.history_limit,
            "failedJobsHistoryLimit": opts.history_limit,
            "jobTemplate": {
                "metadata": {"labels": labels(schedule)},
                "spec": {
                    "backoffLimit": 0,  # the driver retries steps itself
                    "template": {
                        "metadata": {"labels": labels(schedule)},
                        "spec": render_pod_spec(schedule, opts, "kubernetes"),
                    },
                },
            },
        },
    }


def render(schedule: Schedule, opts: KubeOptions) -> tuple[dict[str, Any], ...]:
    """Every object, in apply order (identity first, then the CronJob that uses it)."""
    return (*render_rbac(schedule, opts), render_cronjob(schedule, opts))
