"""Secret parameters: the value reaches the step, never the store, its logs or argv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_flow.notebook.api import export_notebook

FLOW = """
from jupyter_flow import Flow, Secret

flow = Flow("SecretFlow", parameters={"token": Secret("JF_TEST_TOKEN"), "n": 3})


@flow.step(outputs="used")
def login(token, n):
    print("logging in with", token)
    return len(token) * n


@flow.step(outputs="bad")
def leak(token, used):  # after login: its failure must not cancel login mid-task
    return {"headers": {"Authorization": "Bearer " + token}}


if __name__ == "__main__":
    flow.main()
"""
VALUE = "s3cr3t-value-42"


def _run(tmp_path: Path, *args: str, env_value: str | None = VALUE) -> subprocess.CompletedProcess:
    module = tmp_path / "secret_flow.py"
    module.write_text(FLOW)
    env = {k: v for k, v in os.environ.items() if k != "JF_TEST_TOKEN"}
    if env_value is not None:
        env["JF_TEST_TOKEN"] = env_value
    return subprocess.run(
        [sys.executable, str(module), "run", "--root", str(tmp_path / "store"), *args],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        timeout=120,
    )


def _stored_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_the_value_reaches_the_step_but_not_the_store_or_its_logs(tmp_path: Path) -> None:
    done = _run(tmp_path)
    assert done.returncode != 0  # the leaking step is refused
    assert "output 'bad' holds the value of a secret parameter" in done.stdout + done.stderr
    assert VALUE.encode() not in _stored_bytes(tmp_path / "store")
    logs = list((tmp_path / "store").rglob("*stdout*"))
    assert any(b"logging in with ********" in p.read_bytes() for p in logs), logs
    from jupyter_flow.client import Run, latest_run

    run: Run = latest_run("SecretFlow", root=str(tmp_path / "store"))
    assert run["login"].task.data.used == len(VALUE) * 3
    assert repr(run.params.token) == "Secret('JF_TEST_TOKEN')"  # the variable, no value


def test_a_run_whose_tasks_cannot_read_the_secret_is_refused_before_it_starts(
    tmp_path: Path,
) -> None:
    done = _run(tmp_path, env_value=None)
    assert done.returncode == 2
    assert "$JF_TEST_TOKEN is not set" in done.stderr
    assert not (tmp_path / "store" / "runs").exists() or not any(
        (tmp_path / "store").rglob("run.json")
    )


def test_a_secret_cannot_be_given_on_the_command_line(tmp_path: Path) -> None:
    done = _run(tmp_path, "--param", "token=typed-in")
    assert done.returncode == 2
    assert "parameter 'token' is a secret" in done.stderr
    assert (
        b"typed-in" not in _stored_bytes(tmp_path / "store")
        if (tmp_path / "store").exists()
        else True
    )


@pytest.mark.parametrize("import_in", ["params", "untagged"])
def test_secret_in_a_parameters_cell_exports_as_a_secret_default(
    tmp_path: Path, import_in: str
) -> None:
    nb = nbformat.v4.new_notebook()
    imp = "from jupyter_flow import secret\n"
    cells = [] if import_in == "params" else [nbformat.v4.new_code_cell(imp)]
    cells += [
        nbformat.v4.new_code_cell(
            "%%params\n"
            + (imp if import_in == "params" else "")
            + 'n = 2\ntoken = secret("JF_TEST_TOKEN")'
        ),
        nbformat.v4.new_code_cell("%%step use\nsize = len(token) * n"),
    ]
    nb.cells = cells
    path = tmp_path / "secret_nb.ipynb"
    path.write_text(json.dumps(nb))
    result = export_notebook(str(path))
    source = Path(
        result.module_path
        if Path(result.module_path).is_absolute()
        else tmp_path / result.module_path
    ).read_text()
    assert "from jupyter_flow import Flow, Secret\n" in source
    assert '"token": Secret("JF_TEST_TOKEN")' in source
    assert "import secret" not in source
