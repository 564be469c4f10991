"""The container launcher (``runtime/launcher.py``) run as containers run it: its text given
to ``python -I -S -c`` (no PYTHONPATH, no site-packages: jupyter_flow, boto3 and blake3 are
not importable) against a local store."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_flow.runtime import launcher
from jupyter_flow.runtime.bootstrap import (
    launcher_source,
    packed_launcher_command,
    store_spec,
    task_command,
    task_environment,
    without_docs,
)
from jupyter_flow.runtime.package import ensure_package
from jupyter_flow.runtime.taskspec import TaskSpec
from jupyter_flow.schedule import aws_render
from jupyter_flow.schedule.model import FlowShape, Schedule
from jupyter_flow.store import open_store
from jupyter_flow.store.blobs import BlobStore, blob_path
from jupyter_flow.store.records import Records
from tests.fakes.limits import BATCH_OVERRIDES_MAX

FLOW = """
from jupyter_flow import Flow

flow = Flow("Launch")


@flow.step(outputs=("y",))
def one():
    return 41 + 1
"""


def bare_python(command: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None):
    """``command`` with this interpreter isolated: no PYTHON* variables, no site-packages."""
    assert command[0] in ("python", sys.executable)
    return subprocess.run(
        [sys.executable, "-I", "-S", *command[1:]],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return open_store(str(tmp_path / "store"))


@pytest.fixture
def spec(tmp_path: Path, store: BlobStore) -> TaskSpec:
    module = tmp_path / "project" / "launch_flow.py"
    module.parent.mkdir()
    module.write_text(FLOW)
    return TaskSpec(
        flow="Launch",
        run_id="r1",
        step="one",
        index=0,
        attempt=0,
        store_url=store.url,
        code=ensure_package(store, module),
        inputs=(),
        outputs=("y",),
    )


def container_env(tmp_path: Path, spec: TaskSpec) -> dict[str, str]:
    """What the executors give a container (``task_environment``), and a cache folder."""
    env = {e["name"]: e["value"] for e in task_environment(spec, {})}
    return {**env, "JUPYTER_FLOW_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)}


def test_the_launcher_imports_only_the_standard_library_at_its_top() -> None:
    tree = ast.parse(launcher_source())
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom) and n.module}
    assert names - {"__future__"} <= sys.stdlib_module_names
    inner = {
        a.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import) and n not in top
        for a in n.names
    }
    assert inner <= {"boto3", "botocore", "blake3"}  # optional, imported when needed


def test_the_packed_launcher_is_the_same_code_without_its_docs() -> None:
    def code(source: str) -> str:
        tree = ast.parse(source)
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and body:
                first = body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    node.body = body[1:]
        return ast.dump(tree)

    stripped = without_docs(launcher_source())
    assert code(stripped) == code(launcher_source())
    assert '"""' not in stripped and len(stripped) < 0.9 * len(launcher_source())


def test_a_task_runs_from_the_spec_key_where_jupyter_flow_is_not_installed(
    tmp_path: Path, store: BlobStore, spec: TaskSpec
) -> None:
    store_spec(store, spec)
    done = bare_python(task_command(), container_env(tmp_path, spec), tmp_path)
    assert done.returncode == 0, done.stderr
    task = Records(store).read_task("Launch", "r1", "one", 0)
    assert task is not None and task.artifacts[0].name == "y"
    assert spec.code.package_key is not None
    assert (tmp_path / "cache" / "code" / spec.code.package_key / ".complete").is_file()


@pytest.mark.parametrize("form", ["json", "file", "stdin"])
def test_the_spec_can_still_be_given_whole(
    tmp_path: Path, store: BlobStore, spec: TaskSpec, form: str
) -> None:
    (tmp_path / "spec.json").write_text(spec.to_json())
    arg = {"json": spec.to_json(), "file": f"@{tmp_path / 'spec.json'}", "stdin": "-"}[form]
    env = {"JUPYTER_FLOW_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    stdin = spec.to_json() if form == "stdin" else None
    done = bare_python(task_command("python", arg), env, tmp_path, stdin)
    assert done.returncode == 0, done.stderr
    assert Records(store).read_task("Launch", "r1", "one", 0) is not None


def _corrupt(store_root: Path, key: str) -> None:
    path = store_root / blob_path(key)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")


def test_a_corrupt_code_package_is_named_and_recorded_as_the_attempts_failure(
    tmp_path: Path, store: BlobStore, spec: TaskSpec
) -> None:
    store_spec(store, spec)
    assert spec.code.package_key is not None
    _corrupt(tmp_path / "store", spec.code.package_key)

    done = bare_python(task_command(), container_env(tmp_path, spec), tmp_path)

    assert done.returncode == 2
    assert "fetch the code package: the code package" in done.stderr
    assert "is corrupt" in done.stderr and "hint: start the run again" in done.stderr
    attempt = Records(store).read_attempt("Launch", "r1", "one", 0, 0)
    assert attempt is not None and attempt.status == "failed" and attempt.error is not None
    assert attempt.error.kind == "infrastructure" and "is corrupt" in attempt.error.message


def test_a_package_that_is_not_an_archive_is_named_and_recorded(
    tmp_path: Path, store: BlobStore, spec: TaskSpec
) -> None:
    junk = b"not a tar.gz at all"
    key = hashlib.sha256(junk).hexdigest()
    store.put(blob_path(key), junk)
    spec = replace(spec, code=replace(spec.code, package_key=key))
    store_spec(store, spec)

    done = bare_python(task_command(), container_env(tmp_path, spec), tmp_path)

    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "unpack the code package: it is not a tar.gz archive" in done.stderr
    attempt = Records(store).read_attempt("Launch", "r1", "one", 0, 0)
    assert attempt is not None and attempt.error is not None
    assert "not a tar.gz archive" in attempt.error.message


def test_a_missing_spec_is_recorded_from_the_ids_in_the_environment(
    tmp_path: Path, store: BlobStore, spec: TaskSpec
) -> None:
    done = bare_python(task_command(), container_env(tmp_path, spec), tmp_path)  # not stored
    assert done.returncode == 2
    assert f"fetch the task spec: the store {store.url} has no task spec" in done.stderr
    attempt = Records(store).read_attempt("Launch", "r1", "one", 0, 0)
    assert attempt is not None and attempt.error is not None
    assert "has no task spec" in attempt.error.message


def no_egress(tmp_path: Path) -> dict[str, str]:
    """pip with no index and an empty find-links folder: a cluster without PyPI access."""
    (tmp_path / "no-wheels").mkdir(exist_ok=True)
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "no-wheels")}


def test_an_s3_store_without_boto3_or_pypi_says_what_to_install(
    tmp_path: Path, spec: TaskSpec
) -> None:
    env = {**container_env(tmp_path, spec), "JUPYTER_FLOW_ROOT": "s3://bucket/flows"}
    env |= {launcher.REQUIRES_ENV: "boto3==1.35.0 botocore==1.35.0", **no_egress(tmp_path)}
    done = bare_python(task_command(), env, tmp_path)
    assert done.returncode == launcher.EXIT_MISSING == 78, done.stderr
    assert "install what the run needs: this image has no boto3, botocore" in done.stderr
    assert "`pip install boto3==1.35.0 botocore==1.35.0` failed" in done.stderr
    assert "No matching distribution" in done.stderr  # pip's own reason, kept
    assert "pip install 'jupyter-flow[aws]'" in done.stderr and "Traceback" not in done.stderr
    assert not list((tmp_path / "cache" / "site").iterdir())  # no half install left


def test_an_image_without_pip_says_so(tmp_path: Path, spec: TaskSpec) -> None:
    image = tmp_path / "image"  # a Python with empty site-packages and no pip (distroless)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(image)], check=True)
    env = {**container_env(tmp_path, spec), "JUPYTER_FLOW_ROOT": "s3://bucket/flows"}
    command = task_command(str(image / "bin" / "python"))
    done = subprocess.run(
        [command[0], "-I", *command[1:]], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 78, done.stderr
    assert "this image has no boto3 and `pip install boto3` failed" in done.stderr
    assert "No module named pip" in done.stderr and "jupyter-flow[aws]" in done.stderr


def test_what_a_local_store_lacks_is_recorded_when_pip_fails(
    tmp_path: Path, store: BlobStore, spec: TaskSpec
) -> None:
    store_spec(store, spec)
    env = {**container_env(tmp_path, spec), launcher.REQUIRES_ENV: "blake3", **no_egress(tmp_path)}
    done = bare_python(task_command(), env, tmp_path)
    assert done.returncode == 78
    attempt = Records(store).read_attempt("Launch", "r1", "one", 0, 0)
    assert attempt is not None and attempt.error is not None
    assert "this image has no blake3 and `pip install blake3` failed" in attempt.error.message


def test_the_submitter_pins_its_own_boto3_for_an_s3_store(spec: TaskSpec) -> None:
    from importlib.metadata import version

    env = {e["name"]: e["value"] for e in task_environment(replace(spec, store_url="s3://b/p"), {})}
    pins = env[launcher.REQUIRES_ENV].split()
    assert f"boto3=={version('boto3')}" in pins and f"botocore=={version('botocore')}" in pins
    assert f"blake3=={version('blake3')}" in pins  # inputs may be named by BLAKE3
    local = {e["name"] for e in task_environment(spec, {})}
    assert launcher.REQUIRES_ENV not in local  # a local store needs nothing more


def test_the_submitter_may_choose_the_list(spec: TaskSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(launcher.REQUIRES_ENV, " boto3==1.35.0  botocore==1.35.0 ")
    env = {e["name"]: e["value"] for e in task_environment(replace(spec, store_url="s3://b/p"), {})}
    assert env[launcher.REQUIRES_ENV] == "boto3==1.35.0 botocore==1.35.0"


def test_an_unreachable_store_is_named_with_what_to_check(tmp_path: Path, spec: TaskSpec) -> None:
    (tmp_path / "not-a-dir").write_text("")
    env = {**container_env(tmp_path, spec), "JUPYTER_FLOW_ROOT": str(tmp_path / "not-a-dir")}
    done = bare_python(task_command(), env, tmp_path)
    assert done.returncode == 2
    assert "fetch the task spec: cannot read blobs/" in done.stderr
    assert "check the store URL" in done.stderr


def test_a_scheduled_driver_fetches_its_package_with_the_packed_launcher(
    tmp_path: Path, store: BlobStore, spec: TaskSpec
) -> None:
    key = spec.code.package_key
    assert key is not None
    dest = tmp_path / "code"
    command = packed_launcher_command("python", "fetch", store.url, key, str(dest), "x.py")
    assert len(json.dumps(command)) < 8192 - 1000  # room in Batch's container overrides
    packed = command[2].split('b85decode("')[1].split('"')[0]
    assert zlib.decompress(base64.b85decode(packed)).decode() == without_docs(launcher_source())

    done = bare_python(command, {}, tmp_path)

    assert done.returncode == 0, done.stderr
    assert (dest / "launch_flow.py").is_file()
    assert (dest / "jupyter_flow" / "runtime" / "launcher.py").read_text() == launcher_source()
    _corrupt(tmp_path / "store", key)
    again = bare_python(command, {}, tmp_path)
    assert again.returncode == 2 and "is corrupt" in again.stderr


def test_a_module_alone_is_written_as_the_module_file(tmp_path: Path, store: BlobStore) -> None:
    source = b"print('hello')\n"
    key = hashlib.sha256(source).hexdigest()
    store.put(blob_path(key), source)
    done = bare_python(
        ["python", "-c", launcher_source(), "fetch", store.url, key, str(tmp_path / "c"), "m.py"],
        {},
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "c" / "m.py").read_bytes() == source


def test_the_launchers_record_reads_as_the_bootstraps_does(tmp_path: Path) -> None:
    where = {"flow": "F", "run_id": "r", "step": "s", "index": 3, "attempt": 1}
    launcher.record_failure(str(tmp_path), where, "the task could not start: x", {})
    attempt = Records(open_store(str(tmp_path))).read_attempt("F", "r", "s", 3, 1)
    assert attempt is not None and attempt.status == "failed"
    assert attempt.error is not None and attempt.error.kind == "infrastructure"
    assert attempt.finished is not None and attempt.pid > 0


def test_a_scheduled_aws_fire_fits_in_batchs_container_overrides() -> None:
    """EventBridge submits the fetch command in ``containerOverrides`` (8192 characters)."""
    shape = FlowShape(
        name="NightlyFlow",
        source_path="/home/ana/project/nightly_flow.py",
        module_name="nightly_flow",
        package_key="ab" * 32,
    )
    schedule = Schedule(
        name="nightly-report-for-the-whole-team",
        flow=shape,
        target="aws",
        cron="0 3 * * 1-5",
        params={"region": "eu-west-1", "days": "7"},
        root="s3://acme-flows-production-data/teams/analytics/flows",
        settings_key="cd" * 32,
    )
    opts = aws_render.AwsOptions(job_queue="flows-queue", job_definition="flows-driver:3")
    overrides = aws_render.submit_job_input(schedule, opts)["ContainerOverrides"]
    assert len(json.dumps(overrides)) < BATCH_OVERRIDES_MAX - 500  # room for the user's env


def test_the_launcher_command_is_built_once_and_safely_from_many_threads(monkeypatch):
    """Submit threads build commands at once: CPython 3.11's ``ast`` fails when two threads
    parse together (a lost task), and re-parsing per task cost a 300-task foreach 5 s."""
    from concurrent.futures import ThreadPoolExecutor

    from jupyter_flow.runtime import bootstrap

    bootstrap._launcher_code.cache_clear()
    parses = []
    real = bootstrap.without_docs
    monkeypatch.setattr(bootstrap, "without_docs", lambda s: parses.append(1) or real(s))
    with ThreadPoolExecutor(8) as pool:
        commands = list(pool.map(lambda _: bootstrap.task_command("python"), range(64)))
    assert all(c == commands[0] for c in commands)
    assert len(parses) == 1
