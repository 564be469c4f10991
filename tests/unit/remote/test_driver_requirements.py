"""What a scheduled driver's fetch installs when the image lacks it: jupyter-flow's own
declared ranges (pyproject.toml), never this machine's versions (renders stay pure). Each
target's renderer says what its code needs: the CronJob's driver the kubernetes SDK, Argo's
steps and the AWS driver only the store's client."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from jupyter_flow.config import Settings
from jupyter_flow.schedule import bootstrap, kubernetes_render
from jupyter_flow.schedule.argo import ArgoTarget
from jupyter_flow.schedule.aws import AwsTarget
from jupyter_flow.schedule.kubernetes import KubernetesTarget
from jupyter_flow.schedule.model import FlowShape, Schedule, StepShape

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
K8S = "kubernetes>=37,<38"
S3 = ["boto3>=1.34", "blake3>=1.0"]


def schedule(target: str, root: str = "s3://b/f") -> Schedule:
    shape = FlowShape(
        name="Nightly",
        source_path="/p/nightly.py",
        module_name="nightly",
        package_key="ab" * 32,
        steps=(StepShape("start"),),
    )
    return Schedule(name="nightly", flow=shape, target=target, cron="0 3 * * *", root=root)


def test_the_needs_are_what_jupyter_flow_declares() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["aws"])
    declared |= set(project["optional-dependencies"]["kubernetes"])
    assert set(bootstrap.S3_NEEDS) | set(kubernetes_render.KUBERNETES_NEEDS) <= declared


def cronjob_fetch(root: str) -> list[str]:
    target = KubernetesTarget(Settings(extra={"kubernetes": {"image": "python:3.12-slim"}}))
    cron = target.render(target.pin_settings(schedule("kubernetes", root)))[-1]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return list(pod["initContainers"][0]["command"])


def argo_fetch(root: str) -> list[str]:
    target = ArgoTarget(Settings(extra={"kubernetes": {"image": "python:3.12-slim"}}))
    template = target.render(target.pin_settings(schedule("argo", root)))[-2]
    step = next(t for t in template["spec"]["templates"] if t["name"] == "start")
    return list(step["initContainers"][0]["command"])


def test_a_cronjob_driver_gets_the_kubernetes_sdk_and_boto3() -> None:
    assert cronjob_fetch("s3://b/f")[-3:] == [*S3, K8S]
    local = cronjob_fetch("/shared/flows")  # a store on a volume: no boto3
    assert local[-2:] == ["nightly.py", K8S]


def test_argo_steps_and_the_aws_driver_get_no_kubernetes_sdk() -> None:
    argo = argo_fetch("s3://b/f")
    assert argo[-2:] == S3 and K8S not in argo
    assert argo_fetch("/shared/flows")[-1] == "nightly.py"  # nothing to install
    aws = AwsTarget(Settings(extra={"batch": {"queue": "q", "image": "python:3.12-slim"}}))
    request = aws.render(aws.pin_settings(schedule("aws")))[-1]
    script = json.loads(request["Target"]["Input"])["ContainerOverrides"]["Command"][2]
    fetch = shlex.split(script.split(" && ")[0])  # sh -c 'FETCH && DRIVER'
    assert fetch[-2:] == S3 and K8S not in fetch
