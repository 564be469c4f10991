"""What a scheduled pod or Batch job runs, run here: the rendered fetch-code step and driver
command, against a local store, with ``/code`` mapped to a temp folder and the steps run
locally. Proves the pinned package is fetched, verified, unpacked and runnable with only
the package on the path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jupyter_flow.client import latest_run
from jupyter_flow.schedule import api, aws_render, kubernetes_render
from jupyter_flow.schedule.pin import upload_package

from .conftest import SIMPLE_FLOW


def _localize(command: list[str], code: Path, executor: str) -> list[str]:
    """The container's command for this machine: our Python, /code -> ``code``."""
    out = [sys.executable if part == "python" else part for part in command]
    out = [part.replace("/code", str(code)) for part in out]
    out = [part.replace("python -", f"{sys.executable} -") for part in out]  # inside sh -c
    return [("local" if part == executor else part) for part in out]


def _env(code: Path, tmp_path: Path) -> dict[str, str]:
    # only the fetched package on the path, run from an unrelated folder
    return {**os.environ, "PYTHONPATH": str(code), "HOME": str(tmp_path)}


def test_kubernetes_pod_fetches_the_pinned_package_and_runs_the_flow(
    tmp_path: Path, root: str
) -> None:
    flow = tmp_path / "project" / "fan_flow.py"
    flow.parent.mkdir()
    flow.write_text(SIMPLE_FLOW)
    schedule = api.create_schedule(
        flow, "0 3 * * *", root=root, params={"items": "[2, 3]"}, dry_run=True
    )
    assert upload_package(root, flow) == schedule.flow.package_key
    flow.write_text("raise SystemExit('the pod must not read the original file')\n")

    opts = kubernetes_render.KubeOptions(store_url=root)
    pod = kubernetes_render.render(schedule, opts)[-1]["spec"]["jobTemplate"]["spec"]["template"]
    code = tmp_path / "code"
    init = _localize(pod["spec"]["initContainers"][0]["command"], code, "kubernetes")
    fetched = subprocess.run(
        init, capture_output=True, text=True, env=_env(code, tmp_path), check=False
    )
    assert fetched.returncode == 0, fetched.stderr
    assert (code / "fan_flow.py").is_file() and (code / "jupyter_flow" / "__init__.py").is_file()

    driver = pod["spec"]["containers"][0]
    command = _localize(driver["command"], code, "kubernetes")
    ran = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, env=_env(code, tmp_path),
        timeout=120, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    run = latest_run("FanFlow", root=root)
    assert run.status == "done"
    assert run.data.total == 13


def test_a_corrupt_package_is_refused(tmp_path: Path, root: str) -> None:
    flow = tmp_path / "fan_flow.py"
    flow.write_text(SIMPLE_FLOW)
    schedule = api.create_schedule(flow, "0 3 * * *", root=root, dry_run=True)
    key = upload_package(root, flow)
    blob = Path(root) / "blobs" / key[:2] / key
    blob.chmod(0o644)
    blob.write_bytes(b"not the package")
    opts = aws_render.AwsOptions(job_queue="q", job_definition="d", store_url=root)
    submit = json.loads(aws_render.render(schedule, opts)["Target"]["Input"])
    command = _localize(submit["ContainerOverrides"]["Command"], tmp_path / "code", "batch")
    ran = subprocess.run(
        command, capture_output=True, text=True, env=_env(tmp_path / "code", tmp_path), check=False
    )
    assert ran.returncode != 0
    assert f"code package {key[:12]} is corrupt" in ran.stderr
