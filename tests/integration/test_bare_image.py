"""An image without boto3 runs a task on a real S3 server (SeaweedFS).

The "image" is this Python run with ``-I -S``: its site-packages (boto3, blake3, jupyter_flow)
are out of reach of the launcher, as in ``python:3.X-slim``; pip, a separate process, is
the image's pip. It installs the submitter's pinned boto3/botocore/blake3 from a local wheel
folder (``PIP_NO_INDEX``: no PyPI, the same install path a mirror or PyPI takes, fast).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_flow.runtime import launcher
from jupyter_flow.runtime.bootstrap import (
    failure_upload_env,
    packed_launcher_command,
    requirements_for,
    store_spec,
    task_command,
    task_environment,
)
from jupyter_flow.runtime.package import ensure_package
from jupyter_flow.runtime.taskspec import Input, TaskSpec
from jupyter_flow.store import artifacts, open_store
from jupyter_flow.store.records import Records

from .conftest import S3Server

FLOW = """
from jupyter_flow import Flow

flow = Flow("Bare")


@flow.step(outputs=("y",))
def double(x):
    import boto3  # the step may use what the launcher installed

    return sum(x) * 2, boto3.__version__
"""


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheels of the pins a submitter on S3 sends (this environment's versions)."""
    folder = tmp_path_factory.mktemp("wheels")
    pins = requirements_for("s3://bucket").split()
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "-d", str(folder), *pins],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, f"pip download {pins} failed here: {done.stderr}"
    return folder


def image_env(server: S3Server, wheels: Path, tmp_path: Path) -> dict[str, str]:
    """A container's variables beyond the task's: credentials, a cache, pip's wheel folder."""
    return {
        **server.env,
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "JUPYTER_FLOW_CACHE": str(tmp_path / "cache"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
    }


def bare(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-I", "-S", *command[1:]],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_tasks_on_one_node_install_boto3_once_and_run(
    s3_env: S3Server, wheelhouse: Path, tmp_path: Path
) -> None:
    store = open_store(s3_env.fresh_url())
    module = tmp_path / "project" / "bare_flow.py"
    module.parent.mkdir()
    module.write_text(FLOW)
    x = artifacts.save(store, "x", list(range(1000)))  # in a blob, not inline
    assert x.key is not None and x.key.startswith("b3-")  # checked with blake3: installed too
    first = TaskSpec(
        flow="Bare",
        run_id="r1",
        step="double",
        index=0,
        attempt=0,
        store_url=store.url,
        code=ensure_package(store, module),
        inputs=(Input("x", (x,)),),
        outputs=("y",),
    )
    specs = [replace(first, index=i) for i in range(3)]
    base = image_env(s3_env, wheelhouse, tmp_path)
    for spec in specs:
        store_spec(store, spec)

    def start(spec: TaskSpec) -> subprocess.Popen[str]:
        env = {e["name"]: e["value"] for e in task_environment(spec, {})}
        return bare(task_command(), {**base, **env}, tmp_path)

    together = [start(spec) for spec in specs]  # three tasks, one empty cache
    outputs = [p.communicate(timeout=240) for p in together]
    for proc, (_, err) in zip(together, outputs, strict=True):
        assert proc.returncode == 0, err
    assert any("installing blake3==" in err and "boto3==" in err for _, err in outputs)
    site = tmp_path / "cache" / "site"
    assert [p.name.startswith(".") for p in site.iterdir()] == [False]  # one whole copy
    records = Records(store)
    for spec in specs:
        task = records.read_task("Bare", "r1", "double", spec.index)
        assert task is not None, f"task {spec.index} left no record"
        y = artifacts.load(store, task.artifacts[0])
        assert y == (999_000, requirements_for(store.url).split()[0].split("==")[1])

    again = start(replace(first, run_id="r2"))
    store_spec(store, replace(first, run_id="r2"))
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "installing" not in err  # the node's cache is used


CHILD_FLOW = """
import subprocess
import sys

from jupyter_flow import Flow

flow = Flow("Child")


@flow.step(outputs=("y",))
def spawn():
    code = "import boto3; print(boto3.__version__)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
"""


@pytest.mark.slow  # a venv (~5 s) and a whole install (~3 s unloaded, 24 s on a busy box)
def test_a_fresh_venv_with_pip_only_runs_a_task_and_its_child_processes(
    s3_env: S3Server, wheelhouse: Path, tmp_path: Path
) -> None:
    """As ``python:3.X-slim``: a venv with pip and nothing else (no -I -S needed)."""
    image = tmp_path / "image"
    subprocess.run([sys.executable, "-m", "venv", str(image)], check=True, timeout=120)
    store = open_store(s3_env.fresh_url())
    module = tmp_path / "project" / "child_flow.py"
    module.parent.mkdir()
    module.write_text(CHILD_FLOW)
    spec = TaskSpec(
        flow="Child",
        run_id="r1",
        step="spawn",
        index=0,
        attempt=0,
        store_url=store.url,
        code=ensure_package(store, module),
        inputs=(),
        outputs=("y",),
    )
    store_spec(store, spec)
    env = {e["name"]: e["value"] for e in task_environment(spec, {})}
    env |= image_env(s3_env, wheelhouse, tmp_path)
    done = subprocess.run(
        [str(image / "bin" / "python"), *task_command()[1:]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    task = Records(store).read_task("Child", "r1", "spawn", 0)
    assert task is not None
    pinned = requirements_for(store.url).split()[0].split("==")[1]
    assert artifacts.load(store, task.artifacts[0]).strip() == pinned  # the child has boto3


def test_without_pypi_the_failure_reaches_the_store_by_its_presigned_url(
    s3_env: S3Server, tmp_path: Path
) -> None:
    store = open_store(s3_env.fresh_url())
    module = tmp_path / "project" / "bare_flow.py"
    module.parent.mkdir()
    module.write_text(FLOW)
    spec = TaskSpec(
        flow="Bare",
        run_id="r1",
        step="double",
        index=2,
        attempt=1,
        store_url=store.url,
        code=ensure_package(store, module),
        inputs=(),
        outputs=("y",),
    )
    store_spec(store, spec)
    (tmp_path / "no-wheels").mkdir()
    env = {e["name"]: e["value"] for e in task_environment(spec, {})}
    env |= failure_upload_env(store, spec)  # what the executor adds at submit
    env |= {**image_env(s3_env, tmp_path / "no-wheels", tmp_path)}

    task = bare(task_command(), env, tmp_path)
    _, err = task.communicate(timeout=120)

    assert task.returncode == 78, err
    assert "this image has no boto3, botocore, blake3" in err and "could not record" not in err
    attempt = Records(store).read_attempt("Bare", "r1", "double", 2, 1)
    assert attempt is not None and attempt.status == "failed" and attempt.error is not None
    assert "install what the run needs: this image has no boto3" in attempt.error.message
    assert "pip install 'jupyter-flow[aws]'" in attempt.error.message

    forged = env[launcher.FAILURE_URL_ENV].replace("attempt-1.json", "attempt-0.json")
    with pytest.raises(urllib.error.HTTPError):  # the URL writes that one record only
        launcher.put_signed(forged, b"{}")


def test_a_scheduled_driver_gets_its_sdks_beside_the_code(
    s3_env: S3Server, wheelhouse: Path, tmp_path: Path
) -> None:
    store = open_store(s3_env.fresh_url())
    module = tmp_path / "project" / "bare_flow.py"
    module.parent.mkdir()
    module.write_text(FLOW)
    key = ensure_package(store, module).package_key
    assert key is not None
    code = tmp_path / "code"
    pins = requirements_for(store.url).split()
    command = packed_launcher_command("python", "fetch", store.url, key, str(code), "x", *pins)

    fetch = bare(command, image_env(s3_env, wheelhouse, tmp_path), tmp_path)
    _, err = fetch.communicate(timeout=240)

    assert fetch.returncode == 0, err
    driver = subprocess.run(  # as the driver container runs: only /code on the path
        [sys.executable, "-S", "-c", "import boto3, blake3, jupyter_flow, bare_flow; print('ok')"],
        env={"PYTHONPATH": str(code), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert driver.stdout.strip() == "ok", driver.stderr
    assert not (code / ".complete").exists()
