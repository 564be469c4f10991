"""What a scheduled driver's fetch installs when the image lacks it: jupyter-flow's own
declared ranges (pyproject.toml), never this machine's versions (renders stay pure)."""

from __future__ import annotations

import sys
from pathlib import Path

from jupyter_flow.schedule import bootstrap
from jupyter_flow.schedule.model import FlowShape, Schedule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def schedule(target: str) -> Schedule:
    shape = FlowShape(
        name="Nightly", source_path="/p/nightly.py", module_name="nightly", package_key="ab" * 32
    )
    return Schedule(name="nightly", flow=shape, target=target, cron="0 3 * * *", root="s3://b/f")


def test_the_needs_are_what_jupyter_flow_declares() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["aws"])
    declared |= set(project["optional-dependencies"]["kubernetes"])
    assert set(bootstrap.S3_NEEDS) | set(bootstrap.KUBERNETES_NEEDS) <= declared


def test_a_cronjob_driver_gets_the_kubernetes_sdk_and_boto3() -> None:
    command = bootstrap.fetch_command(schedule("kubernetes"), "s3://b/f")
    assert command[-3:] == ["boto3>=1.34", "blake3>=1.0", "kubernetes>=37,<38"]
    aws = bootstrap.fetch_command(schedule("aws"), "s3://b/f")
    assert aws[-2:] == ["boto3>=1.34", "blake3>=1.0"] and "kubernetes>=37,<38" not in aws
    local = bootstrap.fetch_command(schedule("kubernetes"), "/shared/flows")
    assert local[-2:] == ["nightly.py", "kubernetes>=37,<38"]  # a store on a volume: no boto3
    argo = bootstrap.fetch_command(schedule("argo"), "/shared/flows")
    assert argo[-1] == "nightly.py"  # nothing to install
