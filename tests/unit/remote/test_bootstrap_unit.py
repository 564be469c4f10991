"""The container bootstrap's pieces that need no store: spec sources, pip, the launcher."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from jupyter_flow.runtime import bootstrap
from jupyter_flow.runtime.bootstrap import BootstrapError, read_spec, task_command
from jupyter_flow.runtime.env_install import install_packages, packages_dir, pip_command
from jupyter_flow.runtime.environments import PackagesError
from jupyter_flow.runtime.taskspec import CodeRef, TaskSpec

SPEC = TaskSpec(
    flow="F",
    run_id="r",
    step="s",
    index=0,
    attempt=1,
    store_url="/tmp/store",
    code=CodeRef("f.py", "f", "ab" * 32),
    inputs=(),
    outputs=("x",),
    packages=("scikit-learn==1.5.0",),
)


def test_the_spec_comes_from_json_a_file_stdin_or_the_environment(tmp_path):
    text = SPEC.to_json()
    (tmp_path / "spec.json").write_text(text)
    assert read_spec(text, env={}) == SPEC
    assert read_spec(f"@{tmp_path / 'spec.json'}", env={}) == SPEC
    assert read_spec("-", env={}, stdin=io.StringIO(text)) == SPEC
    assert read_spec(None, env={"JUPYTER_FLOW_TASK_SPEC": text}) == SPEC


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        (None, "no task spec given"),
        ("{broken", "not valid"),
        ('{"flow": "F"}', "not valid"),
        ("@/nonexistent/spec.json", "cannot read the task spec file"),
    ],
)
def test_a_bad_spec_is_a_clear_bootstrap_error(arg, message):
    with pytest.raises(BootstrapError, match=message):
        read_spec(arg, env={})


def test_pip_installs_into_a_target_folder_with_the_packages_sorted(tmp_path):
    command = pip_command(["b==2", "a>=1"], tmp_path / "t")
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert command[command.index("--target") + 1] == str(tmp_path / "t")
    assert command[-2:] == ["a>=1", "b==2"]


def test_one_cached_folder_per_package_set_whatever_the_order(tmp_path):
    assert packages_dir(["a", "b"], tmp_path) == packages_dir(["b", "a"], tmp_path)
    assert packages_dir(["a"], tmp_path) != packages_dir(["a", "b"], tmp_path)


def test_no_packages_means_no_pip_and_no_path_change(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", pytest.fail)
    before = list(sys.path)
    assert install_packages([], tmp_path) is None
    assert sys.path == before


def test_an_installed_package_set_is_reused_without_pip(tmp_path, monkeypatch):
    target = packages_dir(["a==1"], tmp_path)
    (target / ".complete").parent.mkdir(parents=True)
    (target / ".complete").touch()
    monkeypatch.setattr(subprocess, "run", pytest.fail)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert install_packages(["a==1"], tmp_path) == target
    assert sys.path[1] == str(target)


def test_a_pip_failure_says_what_pip_said(tmp_path, monkeypatch):
    def fake_run(command, **kwargs):
        assert "--target" in command
        return subprocess.CompletedProcess(command, 1, "", "No matching distribution for nope")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(PackagesError) as err:
        install_packages(["nope==0"], tmp_path)
    assert "pip could not install nope==0" in str(err.value)
    assert "No matching distribution" in str(err.value)
    assert not list(tmp_path.iterdir())  # nothing half-installed is left as "complete"


def test_the_launcher_is_valid_python_and_passes_the_spec_on():
    command = task_command("python3", "@/spec.json")
    assert command[0] == "python3" and command[1] == "-c" and command[-1] == "@/spec.json"
    compile(command[2], "<launcher>", "exec")
    assert task_command()[-1] != "@/spec.json"  # without an argument: the environment


def test_usage_errors_exit_2(capsys):
    assert bootstrap.main(["a", "b"]) == 2
    assert "usage: python -m jupyter_flow.task SPEC" in capsys.readouterr().err
