"""Pure Argo Workflows manifests: the flow as a WorkflowTemplate DAG plus a CronWorkflow.

Targets Argo Workflows >= 3.6 (``spec.schedules``, a list, on the CronWorkflow; 3.5 and
older only know the singular ``schedule``). Plain dicts, round-tripped through hera's models
in the tests. One template per step; each step pod fetches the pinned code (the same init
step as the Kubernetes driver) and runs one task with ``python -m jupyter_flow.task``.

Without a driver, Argo owns the DAG, so the task entry point works from names, not a full
task spec: ``jupyter_flow.task start|step|finish`` with ``--run-id {{workflow.name}}``
resolves a task's inputs from the finished upstream tasks in the store. A foreach fans out
with ``withParam`` over the JSON list of item indexes that the step producing the list
writes to ``/tmp/jupyter_flow/foreach-<step>.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .bootstrap import CODE_DIR, fetch_command, labels, object_name
from .kubernetes_render import POLICY
from .model import PARAMS_STEP, Schedule, StepShape

GROUP_VERSION = "argoproj.io/v1alpha1"
FOREACH_DIR = "/tmp/jupyter_flow"
START = "start"


@dataclass(frozen=True)
class ArgoOptions:
    """``[default.argo]`` settings."""

    namespace: str = "argo"
    image: str = "python:3.11-slim"
    store_url: str = ""
    service_account: str | None = None
    starting_deadline_seconds: int = 300
    history_limit: int = 3

    @classmethod
    def from_settings(cls, options: Mapping[str, Any]) -> ArgoOptions:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in options.items() if k in known})


def _task_name(step: str) -> str:
    return step.replace("_", "-").lower()


def _foreach_param(consumer: str) -> str:
    return f"foreach-{_task_name(consumer)}"


def _task_command(schedule: Schedule, store: str, verb: str, *extra: str) -> list[str]:
    flow = schedule.flow
    return [
        "python", "-m", "jupyter_flow.task", verb,
        "--module", f"{CODE_DIR}/{flow.module_file}",
        "--flow", flow.name,
        "--run-id", "{{workflow.name}}",
        "--root", store,
        "--package", flow.package_key,
        *extra,
    ]  # fmt: skip


def _fanned_as(schedule: Schedule, step: StepShape) -> StepShape:
    """The foreach whose index list ``step`` fans out over: its own, unless it loops over
    the output of another foreach. That joined list has one item per task of the other
    foreach, so it fans out over the same indexes (Argo would aggregate the other foreach's
    output parameters into a list of lists, which is no index list)."""
    by_name = {s.name: s for s in schedule.flow.steps}
    while step.foreach_source in by_name and by_name[str(step.foreach_source)].foreach_items:
        step = by_name[str(step.foreach_source)]
    return step


def _fanouts_from(schedule: Schedule, producer: str) -> list[StepShape]:
    """The foreach steps whose index list ``producer`` writes."""
    return [
        s
        for s in schedule.flow.steps
        if s.foreach_items and s.foreach_source == producer and _fanned_as(schedule, s) is s
    ]


def _outputs(schedule: Schedule, producer: str) -> tuple[dict[str, Any], list[str]]:
    """Output parameters (foreach index lists) a producer exposes, and the flags telling the
    task where to write them."""
    params, flags = [], []
    for consumer in _fanouts_from(schedule, producer):
        path = f"{FOREACH_DIR}/{_foreach_param(consumer.name)}.json"
        params.append({"name": _foreach_param(consumer.name), "valueFrom": {"path": path}})
        flags += ["--foreach-out", f"{consumer.foreach_items}={path}"]
    return ({"parameters": params} if params else {}), flags


def _container(schedule: Schedule, opts: ArgoOptions, image: str | None, command: list[str]) -> Any:
    store = opts.store_url or schedule.root
    return {
        "image": image or opts.image,
        "command": command,
        "workingDir": CODE_DIR,
        "env": [
            {"name": "JUPYTER_FLOW_ROOT", "value": store},
            {"name": "PYTHONPATH", "value": CODE_DIR},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
        ],
        "volumeMounts": [{"name": "code", "mountPath": CODE_DIR}],
    }


def _init(schedule: Schedule, opts: ArgoOptions, image: str | None) -> list[dict[str, Any]]:
    store = opts.store_url or schedule.root
    return [
        {
            "name": "fetch-code",
            "image": image or opts.image,
            "command": fetch_command(schedule, store),
            "mirrorVolumeMounts": True,
        }
    ]


def _resources(step: StepShape) -> dict[str, Any]:
    requests: dict[str, Any] = {"cpu": f"{step.cpu:g}", "memory": f"{step.memory_mb}Mi"}
    limits: dict[str, Any] = {"memory": f"{step.memory_mb}Mi"}
    if step.gpu:
        limits["nvidia.com/gpu"] = str(step.gpu)
    return {"requests": requests, "limits": limits}


def _step_template(schedule: Schedule, opts: ArgoOptions, step: StepShape) -> dict[str, Any]:
    store = opts.store_url or schedule.root
    outputs, flags = _outputs(schedule, step.name)
    index = "{{inputs.parameters.index}}" if step.foreach_items else "0"
    # Argo defines {{retries}} only in a template that has a retryStrategy
    attempt = "{{retries}}" if step.retries else "0"
    command = _task_command(
        schedule, store, "step", "--step", step.name, "--index", index,
        "--attempt", attempt, *flags,
    )  # fmt: skip
    container = {**_container(schedule, opts, step.image, command), "resources": _resources(step)}
    template: dict[str, Any] = {
        "name": _task_name(step.name),
        "metadata": {"labels": {**labels(schedule), "jupyter-flow/step": step.name}},
        "initContainers": _init(schedule, opts, step.image),
        "container": container,
    }
    if step.foreach_items:
        template["inputs"] = {"parameters": [{"name": "index"}]}
    if outputs:
        template["outputs"] = outputs
    if step.retries:
        template["retryStrategy"] = {"limit": str(step.retries), "retryPolicy": "Always"}
    if step.timeout:
        template["activeDeadlineSeconds"] = str(int(step.timeout))
    return template


def _dag_task(schedule: Schedule, step: StepShape) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": _task_name(step.name),
        "template": _task_name(step.name),
        "dependencies": [_task_name(u) for u in step.upstream] or [START],
    }
    if step.foreach_items:
        origin = _fanned_as(schedule, step)
        source = START if origin.foreach_source in (None, PARAMS_STEP) else origin.foreach_source
        src = _task_name(source)
        if src not in task["dependencies"]:
            task["dependencies"].append(src)
        param = _foreach_param(origin.name)
        task["withParam"] = f"{{{{tasks.{src}.outputs.parameters.{param}}}}}"
        task["arguments"] = {"parameters": [{"name": "index", "value": "{{item}}"}]}
    return task


def _arguments(schedule: Schedule) -> dict[str, Any]:
    return {"parameters": [{"name": k, "value": v} for k, v in sorted(schedule.params.items())]}


def render_template(schedule: Schedule, opts: ArgoOptions) -> dict[str, Any]:
    store = opts.store_url or schedule.root
    params = [f"--param={k}={{{{workflow.parameters.{k}}}}}" for k in sorted(schedule.params)]
    start_outputs, start_flags = _outputs(schedule, PARAMS_STEP)
    start: dict[str, Any] = {
        "name": START,
        "initContainers": _init(schedule, opts, None),
        "container": _container(
            schedule,
            opts,
            None,
            _task_command(
                schedule, store, "start", "--schedule", schedule.name, *params, *start_flags
            ),
        ),
    }
    if start_outputs:
        start["outputs"] = start_outputs
    finish = {
        "name": "finish",
        "initContainers": _init(schedule, opts, None),
        "container": _container(
            schedule, opts, None,
            _task_command(schedule, store, "finish", "--status", "{{workflow.status}}"),
        ),
    }  # fmt: skip
    dag = [{"name": START, "template": START}]
    dag += [_dag_task(schedule, step) for step in schedule.flow.steps]
    spec: dict[str, Any] = {
        "entrypoint": "flow",
        "onExit": "finish",
        "serviceAccountName": opts.service_account or object_name(schedule),
        "arguments": _arguments(schedule),
        "volumes": [{"name": "code", "emptyDir": {}}],
        "templates": [
            {"name": "flow", "dag": {"tasks": dag}},
            start,
            *(_step_template(schedule, opts, step) for step in schedule.flow.steps),
            finish,
        ],
    }
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "WorkflowTemplate",
        "metadata": {
            "name": object_name(schedule),
            "namespace": opts.namespace,
            "labels": labels(schedule),
            "annotations": {"jupyter-flow/code-package": schedule.flow.package_key},
        },
        "spec": spec,
    }


def render_cron(schedule: Schedule, opts: ArgoOptions) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "CronWorkflow",
        "metadata": {
            "name": object_name(schedule),
            "namespace": opts.namespace,
            "labels": labels(schedule),
        },
        "spec": {
            "schedules": [schedule.cron],
            "timezone": schedule.timezone,
            "concurrencyPolicy": POLICY[schedule.concurrency],
            "startingDeadlineSeconds": opts.starting_deadline_seconds,
            "suspend": schedule.paused,
            "successfulJobsHistoryLimit": opts.history_limit,
            "failedJobsHistoryLimit": opts.history_limit,
            "workflowSpec": {
                "workflowTemplateRef": {"name": object_name(schedule)},
                "arguments": _arguments(schedule),
            },
        },
    }


def render_rbac(schedule: Schedule, opts: ArgoOptions) -> list[dict[str, Any]]:
    """The identity step pods run as: Argo's executor reports results as
    ``workflowtaskresults`` (Argo >= 3.4); create and patch are the minimum Argo documents
    for it (workflow-rbac.md). The step containers (``jupyter_flow.task``) call no Kubernetes
    API, only the store, so nothing else is granted."""
    if opts.service_account:
        return []
    name = object_name(schedule)
    meta = {"name": name, "namespace": opts.namespace, "labels": labels(schedule)}
    rules = [
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["workflowtaskresults"],
            "verbs": ["create", "patch"],
        }
    ]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": opts.namespace}],
        },
    ]


def render(schedule: Schedule, opts: ArgoOptions) -> tuple[dict[str, Any], ...]:
    return (
        *render_rbac(schedule, opts),
        render_template(schedule, opts),
        render_cron(schedule, opts),
    )
