"""``python -m jupyter_flow.task SPEC`` end to end, in a subprocess, as a container runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pytest

from jupyter_flow.runtime.bootstrap import store_spec, task_command, task_environment
from jupyter_flow.runtime.package import ensure_package
from jupyter_flow.runtime.taskspec import Input, TaskSpec
from jupyter_flow.store import artifacts, open_store
from jupyter_flow.store.blobs import BlobStore
from jupyter_flow.store.records import Records
from tests.conftest import REPO

FLOW = """
    import helpers
    from jupyter_flow import Flow

    flow = Flow("BootFlow")

    @flow.step(outputs=("y",))
    def double(x):
        print("doubling in", helpers.__file__)
        return helpers.twice(x)

    @flow.step(outputs=("z",))
    def explode(x):
        raise ValueError("bad input " + str(len(x)))

    @flow.step(outputs=("w",))
    def linger(x):
        import time
        print("lingering", flush=True)
        time.sleep(120)
"""
HELPERS = "def twice(x):\n    return x * 2\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "boot_flow.py").write_text(textwrap.dedent(FLOW))
    (folder / "helpers.py").write_text(HELPERS)
    return folder / "boot_flow.py"


def make_spec(store: BlobStore, module: Path, step: str, output: str) -> TaskSpec:
    x = artifacts.save(store, "x", np.arange(100_000))
    return TaskSpec(
        flow="BootFlow",
        run_id="r1",
        step=step,
        index=0,
        attempt=0,
        store_url=store.url,
        code=ensure_package(store, module),
        inputs=(Input("x", (x,)),),
        outputs=(output,),
    )


def run(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None):
    return subprocess.run(
        args,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    """An image with jupyter_flow installed (here: this checkout on the path)."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "JUPYTER_FLOW_CACHE": str(tmp_path / "cache")}


def test_a_step_runs_from_its_code_package_and_echoes_its_output(project, tmp_path):
    store = open_store(str(tmp_path / "store"))
    spec = make_spec(store, project, "double", "y")
    project.unlink()  # the task must not need the original files
    (project.parent / "helpers.py").unlink()
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.to_json())

    done = run(
        [sys.executable, "-m", "jupyter_flow.task", f"@{spec_file}"], base_env(tmp_path), tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert "doubling in" in done.stdout and str(tmp_path / "cache" / "code") in done.stdout
    assert "warning" not in done.stderr  # the image's jupyter_flow is the packaged one
    records = Records(store)
    task = records.read_task("BootFlow", "r1", "double", 0)
    assert task is not None
    np.testing.assert_array_equal(artifacts.load(store, task.artifacts[0]), np.arange(100_000) * 2)
    assert "doubling in" in records.read_log("BootFlow", "r1", "double", 0, 0, "stdout")


def test_a_failing_step_exits_1_with_the_users_traceback(project, tmp_path):
    store = open_store(str(tmp_path / "store"))
    spec = make_spec(store, project, "explode", "z")

    done = run(
        [sys.executable, "-m", "jupyter_flow.task", "-"],
        base_env(tmp_path),
        tmp_path,
        stdin=spec.to_json(),
    )

    assert done.returncode == 1
    assert "ValueError: bad input" in done.stderr and "boot_flow.py" in done.stderr
    attempt = Records(store).read_attempt("BootFlow", "r1", "explode", 0, 0)
    assert attempt is not None and attempt.status == "failed"
    assert attempt.error is not None and attempt.error.kind == "exception"


def test_the_spec_can_come_from_the_environment(project, tmp_path):
    store = open_store(str(tmp_path / "store"))
    spec = make_spec(store, project, "double", "y")
    env = {**base_env(tmp_path), "JUPYTER_FLOW_TASK_SPEC": spec.to_json()}

    done = run([sys.executable, "-m", "jupyter_flow.task"], env, tmp_path)

    assert done.returncode == 0, done.stderr
    assert Records(store).read_task("BootFlow", "r1", "double", 0) is not None


def test_a_bad_spec_exits_2_with_a_clear_message(tmp_path):
    done = run(
        [sys.executable, "-m", "jupyter_flow.task", "{not json"], base_env(tmp_path), tmp_path
    )
    assert done.returncode == 2
    assert "task spec from the command line is not valid" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_code_package_exits_2_and_is_recorded(project, tmp_path):
    store = open_store(str(tmp_path / "store"))
    spec = make_spec(store, project, "double", "y")
    key = spec.code.package_key
    assert key is not None
    (tmp_path / "store" / "blobs" / key[:2] / key).unlink()

    done = run(
        [sys.executable, "-m", "jupyter_flow.task", spec.to_json()], base_env(tmp_path), tmp_path
    )

    assert done.returncode == 2
    assert f"blob {key[:12]} is missing" in done.stderr
    attempt = Records(store).read_attempt("BootFlow", "r1", "double", 0, 0)
    assert attempt is not None and attempt.error is not None
    assert attempt.error.kind == "infrastructure"


def _python_without_jupyter_flow(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """This Python with its site-packages but not the editable jupyter_flow install (.pth
    files are skipped with -S): like an image with Python, numpy and boto3 only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_FLOW_")}
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
    env["JUPYTER_FLOW_CACHE"] = str(tmp_path / "cache")
    probe = run([sys.executable, "-S", "-c", "import jupyter_flow"], env, tmp_path)
    assert probe.returncode != 0, "jupyter_flow must not be importable for this test"
    return [sys.executable, "-S"], env


def test_the_launcher_runs_a_step_where_jupyter_flow_is_not_installed(project, tmp_path):
    store = open_store(str(tmp_path / "store"))
    spec = make_spec(store, project, "double", "y")
    python, env = _python_without_jupyter_flow(tmp_path)
    command = task_command(python[0], spec.to_json())
    command[1:1] = python[1:]

    done = run(command, env, tmp_path)

    assert done.returncode == 0, done.stderr
    assert Records(store).read_task("BootFlow", "r1", "double", 0) is not None


def test_the_launcher_fetches_from_s3_and_the_task_writes_there(project, tmp_path, s3_env):
    store = open_store(s3_env.fresh_url())
    spec = make_spec(store, project, "double", "y")
    python, env = _python_without_jupyter_flow(tmp_path)
    env.update(s3_env.env)
    command = task_command(python[0])
    command[1:1] = python[1:]
    env["JUPYTER_FLOW_TASK_SPEC"] = spec.to_json()

    done = run(command, env, tmp_path)

    assert done.returncode == 0, done.stderr
    assert "doubling in" in done.stdout
    records = Records(store)
    task = records.read_task("BootFlow", "r1", "double", 0)
    assert task is not None
    np.testing.assert_array_equal(artifacts.load(store, task.artifacts[0]), np.arange(100_000) * 2)
    assert "doubling in" in records.read_log("BootFlow", "r1", "double", 0, 0, "stdout")
    assert REPO.name not in done.stdout.split("doubling in")[1].split("\n")[0]


def test_sigterm_stops_the_task_and_its_logs_still_reach_the_store(project, tmp_path, s3_env):
    store = open_store(s3_env.fresh_url())
    spec = make_spec(store, project, "linger", "w")
    env = {**base_env(tmp_path), **s3_env.env, "JUPYTER_FLOW_TASK_SPEC": spec.to_json()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_flow.task"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "lingering"  # echoed live, as kubectl shows
        proc.terminate()
        assert proc.wait(timeout=60) == 143
    finally:
        proc.kill()
        proc.communicate()
    log = Records(store).read_log("BootFlow", "r1", "linger", 0, 0, "stdout")
    assert "lingering" in log


def test_the_spec_can_come_from_the_store_by_its_key(project, tmp_path):
    """What the Kubernetes and Batch executors hand a container, with jupyter_flow installed."""
    store = open_store(str(tmp_path / "store"))
    spec = make_spec(store, project, "double", "y")
    store_spec(store, spec)
    env = {**base_env(tmp_path), **{e["name"]: e["value"] for e in task_environment(spec, {})}}

    done = run([sys.executable, "-m", "jupyter_flow.task"], env, tmp_path)

    assert done.returncode == 0, done.stderr
    assert Records(store).read_task("BootFlow", "r1", "double", 0) is not None


def test_a_spec_missing_from_the_store_is_recorded_for_the_attempt_it_names(project, tmp_path):
    store = open_store(str(tmp_path / "store"))
    spec = make_spec(store, project, "double", "y")  # never stored
    env = {**base_env(tmp_path), **{e["name"]: e["value"] for e in task_environment(spec, {})}}

    done = run([sys.executable, "-m", "jupyter_flow.task"], env, tmp_path)

    assert done.returncode == 2
    assert f"blob {spec.to_blob()[0][:12]} is missing" in done.stderr
    attempt = Records(store).read_attempt("BootFlow", "r1", "double", 0, 0)
    assert attempt is not None and attempt.error is not None
    assert attempt.error.kind == "infrastructure"
