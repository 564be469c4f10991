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
# what jupyter-flow[kubernetes] declares (pyproject.toml; a test keeps them equal): the
# CronJob's driver creates the step Jobs with it, so its fetch installs it when missing
KUBERNETES_NEEDS = ("kubernetes>=37,<38",)


@dataclass(frozen=True)
class KubeOptions:
    """``[default.kubernetes]`` settings used by schedules."""

    namespace: str = "default"
    image: str = "python:3.11-slim"
    store_url: str = ""  # defaults to the schedule's root
    service_account: str | None = None  # the steps' (executor's); the Role is bound to it
    driver_service_account: str | None = None  # an existing one: no RBAC objects rendered
    starting_deadline_seconds: int = 300
    history_limit: int = 3
    driver_cpu: str = "500m"
    driver_memory: str = "512Mi"
    image_pull_secret: str | None = None

    @classmethod
    def from_settings(cls, options: Mapping[str, Any]) -> KubeOptions:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in options.items() if k in known})


def steps_service_account(schedule: Schedule, opts: KubeOptions) -> str | None:
    steps = pinned(schedule)
    return steps.get("service_account") if steps is not None else opts.service_account


def service_account_name(schedule: Schedule, opts: KubeOptions) -> str:
    """The driver runs as the steps' service account when they have one (so it reaches the
    store as they do, e.g. through IRSA), else as one made for the schedule."""
    return (
        opts.driver_service_account
        or steps_service_account(schedule, opts)
        or object_name(schedule)
    )


def render_rbac(schedule: Schedule, opts: KubeOptions) -> list[dict[str, Any]]:
    """What the driver may do in its namespace: exactly the calls of the Kubernetes executor
    (``runtime/executors/kubernetes_client.py``): create, watch, list and delete step Jobs,
    ``deletecollection`` for cancel-all (its own verb), follow their pods and read logs.
    Bound to the driver's service account, which is made here unless the steps name one."""
    if opts.driver_service_account:
        return []
    name = object_name(schedule)
    account = service_account_name(schedule, opts)
    meta = {"name": name, "namespace": opts.namespace, "labels": labels(schedule)}
    identity = (
        []
        if steps_service_account(schedule, opts)
        else [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}]
    )
    return [
        *identity,
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
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": opts.namespace}],
        },
    ]


def pinned(schedule: Schedule) -> Mapping[str, Any] | None:
    """The Kubernetes executor settings pinned for the driver (``settings_pin``), if any."""
    extra = schedule.settings.get("extra") or {}
    found = extra.get("kubernetes")
    return found if isinstance(found, Mapping) else None


def _driver_env(schedule: Schedule, opts: KubeOptions, store: str) -> list[dict[str, str]]:
    steps = pinned(schedule)
    env = [{"name": "JUPYTER_FLOW_ROOT", "value": store}]
    if steps is None:  # a schedule from before settings were pinned: namespace + image only
        env += [
            {"name": "JUPYTER_FLOW_K8S_NAMESPACE", "value": opts.namespace},
            {"name": "JUPYTER_FLOW_K8S_IMAGE", "value": opts.image},
        ]
    else:  # what step pods get, so the driver reaches the store as they do (S3 endpoint...)
        env += [{"name": k, "value": str(v)} for k, v in sorted(steps["env"].items())]
    env += [
        {"name": "PYTHONPATH", "value": CODE_DIR},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    return env


def driver_image(schedule: Schedule, opts: KubeOptions) -> str:
    """The steps' image (pinned), which has what the driver needs: Python and the SDKs."""
    steps = pinned(schedule)
    return str(steps["image"]) if steps is not None else opts.image


def render_pod_spec(schedule: Schedule, opts: KubeOptions, executor: str) -> dict[str, Any]:
    """The driver pod: an init container fetches the pinned code, the main one runs it.
    Both read the store with the credentials step pods get (``envFrom`` the pinned
    Secrets), and the pod is placed and secured as step pods are: the same pieces
    (``pod_spec``), from the pinned step settings."""
    from ..runtime.executors import pod_spec
    from ..runtime.executors.kubernetes_job import KubernetesOptions

    store = opts.store_url or schedule.root
    steps = pinned(schedule)
    step_opts = KubernetesOptions.from_settings(dict(steps), {}) if steps is not None else None
    mount = [{"name": "code", "mountPath": CODE_DIR}]
    env = _driver_env(schedule, opts, store)
    image = driver_image(schedule, opts)
    shared = pod_spec.container_pieces(step_opts, 0) if step_opts is not None else {}
    fetch: dict[str, Any] = {
        "name": "fetch-code",
        "image": image,
        "command": fetch_command(schedule, store, KUBERNETES_NEEDS),
        "env": env,
        **shared,
        "volumeMounts": mount,
    }
    driver: dict[str, Any] = {
        "name": "driver",
        "image": image,
        "command": driver_command(schedule, store, executor),
        "workingDir": CODE_DIR,
        "env": env,
        "resources": {
            "requests": {"cpu": opts.driver_cpu, "memory": opts.driver_memory},
            "limits": {"memory": opts.driver_memory},
        },
        **shared,
        "volumeMounts": mount,
    }
    spec: dict[str, Any] = {
        "serviceAccountName": service_account_name(schedule, opts),
        "restartPolicy": "Never",
        "initContainers": [fetch],
        "containers": [driver],
        **(pod_spec.pod_pieces(step_opts, 0) if step_opts is not None else {}),
    }
    spec["volumes"] = [{"name": "code", "emptyDir": {}}, *spec.get("volumes", ())]
    pulls = [p["name"] for p in spec.get("imagePullSecrets", ())]
    if opts.image_pull_secret and opts.image_pull_secret not in pulls:
        spec["imagePullSecrets"] = [{"name": n} for n in (opts.image_pull_secret, *pulls)]
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
