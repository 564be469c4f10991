"""Pure Argo Workflows manifests: the flow as a WorkflowTemplate DAG plus a CronWorkflow.

Targets Argo Workflows >= 3.6 (``spec.schedules``, a list, on the CronWorkflow; 3.5 and
older only know the singular ``schedule``); ``[default.argo] argo_version`` says which Argo
runs them, so fields newer than 3.6 are used only where they exist. Plain dicts, checked in
the tests against Argo's own JSON schema of each supported version, in strict mode. One
template per step; each step pod fetches the pinned code (the same init step as the
Kubernetes driver) and runs one task with ``python -m jupyter_flow.task``.

Without a driver, Argo owns the DAG, so the task entry point works from names, not a full
task spec: ``jupyter_flow.task start|step|finish`` with ``--run-id {{workflow.name}}``
resolves a task's inputs from the finished upstream tasks in the store. A foreach fans out
with ``withParam`` over the JSON list of item indexes that the step producing the list
writes to ``/tmp/jupyter_flow/foreach-<step>.json``.

Step pods get what ``--on kubernetes`` Jobs get, from the Kubernetes executor settings
pinned at create (``settings_pin.argo_options``) and built by the same pure
``runtime/executors/pod_spec.py``: envFrom Secrets and env, placement (GPU toleration
included), pull secrets, sizes, securityContext, the pod's identity as env. Retries back off
from ``retry_backoff``, doubling, capped at 60 s as a local run's from Argo 3.7 (3.6 has
no ``backoff.cap``); ``max_workers`` caps the pods running at once (``spec.parallelism``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..runtime.executors import pod_spec
from ..runtime.executors.kubernetes_job import KubernetesOptions
from .bootstrap import CODE_DIR, fetch_command, labels, object_name
from .kubernetes_render import POLICY, pinned
from .model import PARAMS_STEP, Schedule, StepShape

GROUP_VERSION = "argoproj.io/v1alpha1"
FOREACH_DIR = "/tmp/jupyter_flow"
START = "start"
UNPINNED_IMAGE = "python:3.11-slim"  # a schedule from before settings were pinned
OLDEST_ARGO = (3, 6)  # CronWorkflow.spec.schedules (a list)
BACKOFF_CAP_SINCE = (3, 7)  # retryStrategy.backoff.cap


def argo_release(text: object) -> tuple[int, int]:
    """``"3.7"`` / ``"v4.1.2"`` as (major, minor); a ConfigError naming the setting else."""
    found = re.fullmatch(r"v?(\d+)\.(\d+)(\.\d+)?", text) if isinstance(text, str) else None
    release = (int(found[1]), int(found[2])) if found else None
    if release is None or release < OLDEST_ARGO:
        raise ConfigError(
            f"[default.argo] argo_version = {text!r} is not an Argo Workflows release "
            f"jupyter_flow renders for (3.6 or later, as a string)",
            hint='set the Argo your cluster runs, quoted, e.g. argo_version = "3.7" '
            "(`argo version` prints it); 3.5 and older cannot run these CronWorkflows",
        )
    return release


@dataclass(frozen=True)
class ArgoOptions:
    """``[default.argo]`` settings."""

    namespace: str = "argo"
    image: str | None = None  # None: the steps' (pinned [default.kubernetes] image)
    store_url: str = ""
    service_account: str | None = None  # None: the steps', else one made for the schedule
    service_account_annotations: Mapping[str, str] = field(default_factory=dict)  # IRSA...
    starting_deadline_seconds: int = 300
    history_limit: int = 3
    # the oldest Argo the manifests must run on: newer fields (backoff.cap, 3.7) only then
    argo_version: str = "3.6"

    def __post_init__(self) -> None:
        argo_release(self.argo_version)

    @property
    def release(self) -> tuple[int, int]:
        return argo_release(self.argo_version)

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


def steps_options(schedule: Schedule) -> KubernetesOptions:
    """The pinned Kubernetes executor settings of the step pods (defaults when the schedule
    was created before settings were pinned)."""
    steps = pinned(schedule)
    if steps is None:
        return KubernetesOptions(image=UNPINNED_IMAGE)
    return KubernetesOptions.from_settings(steps, {})


def _image(opts: ArgoOptions, steps: KubernetesOptions, image: str | None) -> str:
    return image or opts.image or steps.image


def _env(schedule: Schedule, opts: ArgoOptions, steps: KubernetesOptions) -> list[Any]:
    """The user's plain variables (an S3 endpoint...), then ours (settings_pin refuses a
    clash), then the pod's identity."""
    ours = {
        "JUPYTER_FLOW_ROOT": opts.store_url or schedule.root,
        "PYTHONPATH": CODE_DIR,
        "PYTHONUNBUFFERED": "1",
    }
    plain = [{"name": k, "value": v} for k, v in {**steps.env, **ours}.items()]
    return [*plain, *pod_spec.downward_env()]


def _container(
    schedule: Schedule,
    opts: ArgoOptions,
    steps: KubernetesOptions,
    step: StepShape | None,
    command: list[str],
) -> Any:
    gpu = step.gpu if step else 0
    pieces = pod_spec.container_pieces(steps, gpu)
    mounts = [{"name": "code", "mountPath": CODE_DIR}, *pieces.pop("volumeMounts", [])]
    container: dict[str, Any] = {
        "image": _image(opts, steps, step.image if step else None),
        "command": command,
        "workingDir": CODE_DIR,
        "env": _env(schedule, opts, steps),
    }
    if step:
        container["resources"] = pod_spec.resources(step.cpu, step.memory_mb, gpu, steps)
    return {**container, **pieces, "volumeMounts": mounts}


def _init(
    schedule: Schedule, opts: ArgoOptions, steps: KubernetesOptions, image: str | None
) -> list[dict[str, Any]]:
    """The code fetch reads the store as the step does: same env and Secrets."""
    store = opts.store_url or schedule.root
    fetch: dict[str, Any] = {
        "name": "fetch-code",
        "image": _image(opts, steps, image),
        "command": fetch_command(schedule, store),
        "env": _env(schedule, opts, steps),
        "mirrorVolumeMounts": True,
    }
    pieces = pod_spec.container_pieces(steps, 0)
    return [{**fetch, **{k: v for k, v in pieces.items() if k != "volumeMounts"}}]


def _pod(
    schedule: Schedule, steps: KubernetesOptions, step: StepShape | None, name: str
) -> dict[str, Any]:
    """A template's pod-level pieces: its metadata, placement, securityContext and
    ``/dev/shm``; pull secrets are the workflow's (Argo has them only there)."""
    pieces = pod_spec.pod_pieces(steps, step.gpu if step else 0)
    pieces.pop("imagePullSecrets", None)
    ours = {**labels(schedule), "jupyter-flow/step": name, "jupyter-flow/run": "{{workflow.name}}"}
    metadata = {"labels": {**steps.labels, **ours}}
    if steps.annotations:
        metadata["annotations"] = dict(steps.annotations)
    return {"metadata": metadata, **pieces}


def _retry(schedule: Schedule, opts: ArgoOptions, step: StepShape) -> dict[str, Any]:
    retry: dict[str, Any] = {"limit": str(step.retries), "retryPolicy": "Always"}
    backoff = float(schedule.settings.get("retry_backoff", 0) or 0)
    if backoff > 0:  # doubling as a local run's, capped as it is where Argo can (>= 3.7)
        retry["backoff"] = {"duration": f"{backoff:g}s", "factor": "2"}
        if opts.release >= BACKOFF_CAP_SINCE:
            from ..runtime.runner import MAX_BACKOFF

            retry["backoff"]["cap"] = f"{MAX_BACKOFF:g}s"
    return retry


def _step_template(schedule: Schedule, opts: ArgoOptions, step: StepShape) -> dict[str, Any]:
    store = opts.store_url or schedule.root
    steps = steps_options(schedule)
    outputs, flags = _outputs(schedule, step.name)
    index = "{{inputs.parameters.index}}" if step.foreach_items else "0"
    # Argo defines {{retries}} only in a template that has a retryStrategy
    attempt = "{{retries}}" if step.retries else "0"
    command = _task_command(
        schedule, store, "step", "--step", step.name, "--index", index,
        "--attempt", attempt, *flags,
    )  # fmt: skip
    pod = _pod(schedule, steps, step, step.name)
    template: dict[str, Any] = {
        "name": _task_name(step.name),
        "metadata": pod.pop("metadata"),
        "initContainers": _init(schedule, opts, steps, step.image),
        "container": _container(schedule, opts, steps, step, command),
        **pod,
    }
    if step.foreach_items:
        template["inputs"] = {"parameters": [{"name": "index"}]}
    if outputs:
        template["outputs"] = outputs
    if step.retries:
        template["retryStrategy"] = _retry(schedule, opts, step)
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


def _edge_template(
    schedule: Schedule, opts: ArgoOptions, name: str, command: list[str]
) -> dict[str, Any]:
    """``start`` or ``finish``: a task of the flow's own, on a pod placed like the steps'."""
    steps = steps_options(schedule)
    pod = _pod(schedule, steps, None, name)
    return {
        "name": name,
        "metadata": pod.pop("metadata"),
        "initContainers": _init(schedule, opts, steps, None),
        "container": _container(schedule, opts, steps, None, command),
        **pod,
    }


def service_account(schedule: Schedule, opts: ArgoOptions) -> str | None:
    """The existing account step pods run as: ``[default.argo]``'s, else the steps'
    (``[default.kubernetes] service_account``, e.g. bound to an IAM role); None: one is
    made for the schedule."""
    return opts.service_account or steps_options(schedule).service_account


def _metadata(schedule: Schedule) -> dict[str, Any]:
    """Every Workflow the template starts carries the flow and schedule, and its run id
    (the workflow's name), so ``kubectl get wf -l`` finds a run."""
    return {
        "labels": labels(schedule),
        "labelsFrom": {"jupyter-flow/run": {"expression": "workflow.name"}},
        "annotations": {"jupyter-flow/code-package": schedule.flow.package_key},
    }


def render_template(schedule: Schedule, opts: ArgoOptions) -> dict[str, Any]:
    store = opts.store_url or schedule.root
    steps = steps_options(schedule)
    params = [f"--param={k}={{{{workflow.parameters.{k}}}}}" for k in sorted(schedule.params)]
    start_outputs, start_flags = _outputs(schedule, PARAMS_STEP)
    start = _edge_template(
        schedule, opts, START,
        _task_command(
            schedule, store, "start", "--schedule", schedule.name, "--engine", "argo",
            *params, *start_flags,
        ),
    )  # fmt: skip
    if start_outputs:
        start["outputs"] = start_outputs
    finish = _edge_template(
        schedule, opts, "finish",
        _task_command(schedule, store, "finish", "--status", "{{workflow.status}}"),
    )  # fmt: skip
    dag = [{"name": START, "template": START}]
    dag += [_dag_task(schedule, step) for step in schedule.flow.steps]
    spec: dict[str, Any] = {
        "entrypoint": "flow",
        "onExit": "finish",
        "serviceAccountName": service_account(schedule, opts) or object_name(schedule),
        "workflowMetadata": _metadata(schedule),
        "arguments": _arguments(schedule),
        "volumes": [{"name": "code", "emptyDir": {}}],
        "templates": [
            {"name": "flow", "dag": {"tasks": dag}},
            start,
            *(_step_template(schedule, opts, step) for step in schedule.flow.steps),
            finish,
        ],
    }
    workers = int(schedule.settings.get("max_workers", 0) or 0)
    if workers > 0:
        spec["parallelism"] = workers
    if steps.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in steps.image_pull_secrets]
    annotations = {"jupyter-flow/code-package": schedule.flow.package_key}
    if schedule.settings_key:
        annotations["jupyter-flow/settings"] = schedule.settings_key
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "WorkflowTemplate",
        "metadata": {
            "name": object_name(schedule),
            "namespace": opts.namespace,
            "labels": labels(schedule),
            "annotations": annotations,
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


def render_workflow(schedule: Schedule, opts: ArgoOptions) -> dict[str, Any]:
    """One Workflow from the template outside the timetable (what ``argo submit --from
    cronwf/...`` makes): the CronWorkflow's ``workflowSpec``, named by Argo."""
    cron = render_cron(schedule, opts)
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "Workflow",
        "metadata": {
            "generateName": f"{object_name(schedule)}-manual-",
            "namespace": opts.namespace,
            "labels": cron["metadata"]["labels"],
        },
        "spec": cron["spec"]["workflowSpec"],
    }


def render_rbac(schedule: Schedule, opts: ArgoOptions) -> list[dict[str, Any]]:
    """The identity step pods run as: Argo's executor reports results as
    ``workflowtaskresults`` (Argo >= 3.4); create and patch are the minimum Argo documents
    for it (workflow-rbac.md). The step containers (``jupyter_flow.task``) call no Kubernetes
    API, only the store, so nothing else is granted. ``[default.argo] service_account``:
    yours, as it is; the steps' ``service_account`` (IRSA...): the Role is bound to it, as
    the CronJob target binds its driver's; else an account is made for the schedule."""
    if opts.service_account:
        return []
    name = object_name(schedule)
    steps_account = steps_options(schedule).service_account
    meta = {"name": name, "namespace": opts.namespace, "labels": labels(schedule)}
    account: dict[str, Any] = dict(meta)
    if opts.service_account_annotations:  # eks.amazonaws.com/role-arn: the steps' IAM role
        account["annotations"] = dict(opts.service_account_annotations)
    rules = [
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["workflowtaskresults"],
            "verbs": ["create", "patch"],
        }
    ]
    identity = (
        []
        if steps_account
        else [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": account}]
    )
    subject = {"kind": "ServiceAccount", "name": steps_account or name, "namespace": opts.namespace}
    return [
        *identity,
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
            "subjects": [subject],
        },
    ]


def render(schedule: Schedule, opts: ArgoOptions) -> tuple[dict[str, Any], ...]:
    return (
        *render_rbac(schedule, opts),
        render_template(schedule, opts),
        render_cron(schedule, opts),
    )
