"""Each target's ``render`` is pure: golden files, plus the engines' own schemas."""

from __future__ import annotations

import json
from dataclasses import replace

import kubernetes_validate
import pytest
from hera.workflows.models import CronWorkflow, WorkflowTemplate

from jupyter_flow.config import Settings
from jupyter_flow.runtime.executors.kubernetes_job import SCHEDULE_LABEL
from jupyter_flow.schedule import argo_render, aws_render, kubernetes_render
from jupyter_flow.schedule.argo import ArgoTarget
from jupyter_flow.schedule.aws import AwsTarget
from jupyter_flow.schedule.kubernetes import KubernetesTarget
from jupyter_flow.schedule.model import Schedule, StepShape

from .golden import check

K8S_VERSION = "1.33"  # CronJob timeZone is GA since 1.27
STEPS = {  # [default.kubernetes] as a platform team sets it
    "namespace": "flows",
    "image": "ghcr.io/acme/flows:2",
    "secrets": ["s3-creds"],
    "env": {"JUPYTER_FLOW_S3_ENDPOINT_URL": "http://minio.storage:9000"},
    "node_selector": {"pool": "flows"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "flows"}],
    "image_pull_secrets": ["ghcr"],
}


def kubernetes_target(**options: object) -> KubernetesTarget:
    return KubernetesTarget(Settings(extra={"kubernetes": {**STEPS, **options}}))


def pinned_kubernetes(schedule: Schedule, **options: object) -> Schedule:
    """Pinned by the target itself, as ``schedule create`` does."""
    return kubernetes_target(**options).pin_settings(schedule)


def test_kubernetes_manifests_match_golden_and_validate(golden_schedule: Schedule) -> None:
    target = kubernetes_target()
    golden_schedule = target.pin_settings(golden_schedule)
    docs = target.render(golden_schedule)
    check("kubernetes", list(docs))
    assert [d["kind"] for d in docs] == ["ServiceAccount", "Role", "RoleBinding", "CronJob"]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    spec = docs[-1]["spec"]
    assert (spec["schedule"], spec["timeZone"]) == ("0 3 * * 1-5", "Europe/Berlin")
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "jf-shapes-nightly"
    driver = pod["containers"][0]["command"]
    assert driver[:5] == ["python", "-m", "jupyter_flow", "run", "/code/shapes_flow.py"]
    assert "--on" in driver and driver[driver.index("--on") + 1] == "kubernetes"
    assert driver[-2:] == ["--param", "n=5"]
    # the init step fetches exactly the pinned package
    assert golden_schedule.flow.package_key in pod["initContainers"][0]["command"]
    role = docs[1]["rules"]
    jobs = ["create", "get", "list", "watch", "delete", "deletecollection"]  # cancel-all
    assert {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": jobs} in role
    assert {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]} in role
    # the driver runs with the pinned settings and reaches the store as step pods do
    key = golden_schedule.settings_key
    assert driver[driver.index("--settings") + 1] == key
    for container in (pod["initContainers"][0], pod["containers"][0]):
        assert container["image"] == "ghcr.io/acme/flows:2"
        assert container["envFrom"] == [{"secretRef": {"name": "s3-creds"}}]
        endpoint = {"name": "JUPYTER_FLOW_S3_ENDPOINT_URL", "value": "http://minio.storage:9000"}
        assert endpoint in container["env"]
    assert pod["nodeSelector"] == {"pool": "flows"}
    assert pod["tolerations"] == STEPS["tolerations"]
    assert pod["imagePullSecrets"] == [{"name": "ghcr"}]
    # the driver creates the step Jobs with the kubernetes SDK: its fetch installs it
    fetch = pod["initContainers"][0]["command"]
    assert fetch[-3:] == ["boto3>=1.34", "blake3>=1.0", *kubernetes_render.KUBERNETES_NEEDS]
    # and the steps it starts are labelled with the schedule (kubectl get pods -l)
    labels = golden_schedule.settings["extra"]["kubernetes"]["labels"]
    assert labels == {SCHEDULE_LABEL: "shapes-nightly"}


@pytest.mark.parametrize(("policy", "k8s"), [("allow", "Allow"), ("replace", "Replace")])
def test_kubernetes_concurrency_and_pause(golden_schedule: Schedule, policy: str, k8s: str) -> None:
    schedule = replace(golden_schedule, concurrency=policy, paused=True)
    cron = kubernetes_render.render(schedule, kubernetes_render.KubeOptions())[-1]
    assert cron["spec"]["concurrencyPolicy"] == k8s
    assert cron["spec"]["suspend"] is True


def test_existing_service_account_means_no_rbac_objects(golden_schedule: Schedule) -> None:
    opts = kubernetes_render.KubeOptions(driver_service_account="flows-runner")
    docs = kubernetes_render.render(pinned_kubernetes(golden_schedule), opts)
    assert [d["kind"] for d in docs] == ["CronJob"]
    pod = docs[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "flows-runner"


def test_the_driver_runs_as_the_steps_service_account(golden_schedule: Schedule) -> None:
    """It reads the store as step pods do (IRSA); the Role is bound to that account."""
    schedule = pinned_kubernetes(golden_schedule, service_account="flows-s3")
    docs = kubernetes_render.render(schedule, kubernetes_render.KubeOptions(namespace="flows"))
    assert [d["kind"] for d in docs] == ["Role", "RoleBinding", "CronJob"]
    assert docs[1]["subjects"] == [
        {"kind": "ServiceAccount", "name": "flows-s3", "namespace": "flows"}
    ]
    pod = docs[-1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "flows-s3"


ROLE = {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/flows-steps"}


def argo_target(**options: object) -> ArgoTarget:
    """Steps get the Kubernetes executor's settings; the ServiceAccount is IRSA-annotated."""
    extra = {
        "kubernetes": {**STEPS, **options},
        "argo": {"namespace": "flows", "service_account_annotations": ROLE},
    }
    return ArgoTarget(Settings(max_workers=8, retry_backoff=2.0, extra=extra))


def test_argo_compiles_the_dag_and_matches_golden(golden_schedule: Schedule) -> None:
    target = argo_target(disk="20Gi")
    schedule = target.pin_settings(replace(golden_schedule, target="argo"))
    docs = target.render(schedule)
    check("argo", list(docs))
    template, cron = docs[-2], docs[-1]
    # hera's models are Argo's schema: both documents round-trip without losing a key
    for model, doc in ((WorkflowTemplate, template), (CronWorkflow, cron)):
        parsed = model.model_validate(doc).model_dump(by_alias=True, exclude_none=True, mode="json")
        assert parsed == doc
    for doc in docs[:-2]:  # the ServiceAccount (IRSA-annotated), Role, RoleBinding
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert docs[0]["metadata"]["annotations"] == ROLE
    assert cron["spec"]["schedules"] == ["0 3 * * 1-5"]
    assert cron["spec"]["timezone"] == "Europe/Berlin"
    assert cron["spec"]["workflowSpec"]["workflowTemplateRef"] == {"name": "jf-shapes-nightly"}
    tasks = {t["name"]: t for t in template["spec"]["templates"][0]["dag"]["tasks"]}
    assert list(tasks) == ["start", "extract", "plan", "train", "pick"]
    assert tasks["extract"]["withParam"] == "{{tasks.start.outputs.parameters.foreach-extract}}"
    assert tasks["train"]["withParam"] == "{{tasks.plan.outputs.parameters.foreach-train}}"
    assert tasks["pick"]["dependencies"] == ["train"]
    by_name = {t["name"]: t for t in template["spec"]["templates"]}
    assert by_name["extract"]["retryStrategy"] == {
        "limit": "2",
        "retryPolicy": "Always",
        "backoff": {"duration": "2s", "factor": "2"},  # doubling, as a local run's
    }
    assert by_name["extract"]["activeDeadlineSeconds"] == "600"
    # step pods carry the schedule's label; Argo's fetch installs no kubernetes SDK
    for step in ("extract", "train"):
        assert by_name[step]["metadata"]["labels"][SCHEDULE_LABEL] == "shapes-nightly"
    fetch = by_name["extract"]["initContainers"][0]["command"]
    assert not set(kubernetes_render.KUBERNETES_NEEDS) & set(fetch)
    train = by_name["train"]["container"]
    assert train["image"] == "ghcr.io/acme/train:1"
    assert train["resources"]["limits"] == {"memory": "16Gi", "cpu": "1", "nvidia.com/gpu": "1"}
    assert by_name["plan"]["container"]["resources"]["requests"] == {
        "cpu": "500m",
        "memory": "1Gi",
        "ephemeral-storage": "20Gi",
    }
    assert by_name["plan"]["outputs"]["parameters"][0]["name"] == "foreach-train"
    # Argo only defines {{retries}} where a retryStrategy is: elsewhere the attempt is 0
    for name, step in by_name.items():
        command = " ".join(step.get("container", {}).get("command", []))
        if "--attempt" in command:
            assert ("{{retries}}" in command) == ("retryStrategy" in step), name


BATCH = {
    "queue": "flows",
    "image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/flows:2",
    "region": "eu-central-1",
    "job_role_arn": "arn:aws:iam::123456789012:role/flows-steps",
    "secrets": {"API_TOKEN": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:tok"},
    "env": {"FLOW_STAGE": "prod"},
}


def _botocore_errors(service: str, operation: str, params: dict) -> str:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model(service)
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    return report.generate_report() if report.has_errors() else ""


def test_aws_request_matches_golden(golden_schedule: Schedule) -> None:
    aws = {"scheduler_role_arn": "arn:aws:iam::123456789012:role/flows-scheduler"}
    target = AwsTarget(Settings(extra={"batch": BATCH, "aws": aws}))
    schedule = target.pin_settings(replace(golden_schedule, target="aws"))
    definition, request = target.render(schedule)
    check("aws", [definition, request])
    assert definition is not None
    assert not _botocore_errors("batch", "RegisterJobDefinition", definition)
    assert not _botocore_errors("scheduler", "CreateSchedule", request)
    # the driver job has the steps' image, job role and secrets (SubmitJob cannot set them)
    container = definition["containerProperties"]
    assert container["image"] == BATCH["image"]
    assert container["jobRoleArn"] == BATCH["job_role_arn"]
    assert container["secrets"] == [
        {"name": "API_TOKEN", "valueFrom": BATCH["secrets"]["API_TOKEN"]}
    ]
    assert request["ScheduleExpression"] == "cron(0 3 ? * 2-6 *)"
    assert request["ScheduleExpressionTimezone"] == "Europe/Berlin"
    submit = json.loads(request["Target"]["Input"])
    assert submit["JobQueue"] == "flows"
    command = submit["ContainerOverrides"]["Command"]
    assert command[:2] == ["sh", "-c"]
    assert "jupyter_flow run /code/shapes_flow.py" in command[2]
    assert "--on batch" in command[2]
    assert f"--settings {schedule.settings_key}" in command[2]
    assert submit["JobDefinition"] == definition["jobDefinitionName"]
    assert {"Name": "FLOW_STAGE", "Value": "prod"} in submit["ContainerOverrides"]["Environment"]
    assert not _botocore_errors("batch", "SubmitJob", _camel(submit))
    # Batch steps are not pods: no Kubernetes label, no kubernetes SDK in the fetch
    assert "labels" not in schedule.settings["extra"]["batch"]
    assert "kubernetes>=37,<38" not in command[2]


def _camel(request: dict) -> dict:
    """EventBridge's universal target takes SubmitJob's members in PascalCase."""
    over = request["ContainerOverrides"]
    return {
        "jobName": request["JobName"],
        "jobQueue": request["JobQueue"],
        "jobDefinition": request["JobDefinition"],
        "containerOverrides": {
            "command": over["Command"],
            "environment": [{"name": e["Name"], "value": e["Value"]} for e in over["Environment"]],
        },
        "tags": request["Tags"],
    }


def test_aws_options_fall_back_to_batch_settings() -> None:
    settings = Settings(
        extra={"aws": {"role_arn": "arn:r", "job_definition": "d"}, "batch": {"queue": "q"}}
    )
    opts = aws_render.AwsOptions.from_settings(
        settings.backend_options("aws"), settings.backend_options("batch")
    )
    assert (opts.scheduler_role_arn, opts.job_queue, opts.job_definition) == ("arn:r", "q", "d")


def test_argo_foreach_over_a_foreach_output_reuses_its_indexes(golden_schedule: Schedule) -> None:
    steps = list(golden_schedule.flow.steps)
    nested = StepShape(
        "nested", upstream=("extract",), foreach_items="rows", foreach_source="extract"
    )
    flow = replace(golden_schedule.flow, steps=(*steps, nested))
    schedule = replace(golden_schedule, target="argo", flow=flow)
    template = argo_render.render_template(schedule, argo_render.ArgoOptions(image="x:1"))
    tasks = {t["name"]: t for t in template["spec"]["templates"][0]["dag"]["tasks"]}
    # one item per task of extract: the same index list, not extract's per-task outputs
    assert tasks["nested"]["withParam"] == tasks["extract"]["withParam"]
    assert tasks["nested"]["dependencies"] == ["extract", "start"]
    by_name = {t["name"]: t for t in template["spec"]["templates"]}
    assert "outputs" not in by_name["extract"]
    assert "--foreach-out" not in by_name["extract"]["container"]["command"]
