"""Running from the notebook runs the saved file: an unsaved step is caught before export."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from jupyter_flow.errors import NotebookError
from jupyter_flow.kernel.session import KernelSteps, check_saved, find_notebook


def write(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, path)


def ran(steps: KernelSteps, source: str, success: bool = True) -> None:
    steps.post_run_cell(SimpleNamespace(info=SimpleNamespace(raw_cell=source), success=success))


def test_a_step_changed_after_the_last_save_is_refused(tmp_path: Path) -> None:
    nb = tmp_path / "nb.ipynb"
    write(nb, ["%%step load\nx = 1"])
    old = time.time() - 60
    os.utime(nb, (old, old))
    steps = KernelSteps()
    ran(steps, "%%step load\nx = 1")
    check_saved(str(nb), steps)  # same code as saved: fine even though the file is older
    ran(steps, "%%step load\nx = 2")
    with pytest.raises(NotebookError, match="step 'load' as it ran here differs") as info:
        check_saved(str(nb), steps)
    assert info.value.hint is not None and "save the notebook" in info.value.hint
    ran(steps, "%%step extra --cpu 1\ny = 1")
    steps.ran.pop("load")
    with pytest.raises(NotebookError, match="step 'extra' as it ran here is not in"):
        check_saved(str(nb), steps)


def test_saving_after_running_makes_the_file_the_truth(tmp_path: Path) -> None:
    nb = tmp_path / "nb.ipynb"
    steps = KernelSteps()
    ran(steps, "%%step load\nx = 2")
    ran(steps, "%%step broken\nraise ValueError", success=False)  # failed cells do not count
    time.sleep(0.01)
    write(nb, ["%%step load\nx = 3"])  # edited again, then saved: the file is newer
    check_saved(str(nb), steps)
    assert "broken" not in steps.ran


def test_the_notebook_is_found_from_the_session_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "nb.ipynb", ["x = 1"])
    monkeypatch.setenv("JPY_SESSION_NAME", "some/folder/nb.ipynb")
    assert find_notebook() == "nb.ipynb"
    monkeypatch.delenv("JPY_SESSION_NAME")
    with pytest.raises(NotebookError, match="which notebook"):
        find_notebook(SimpleNamespace(user_ns={}))
    assert find_notebook(SimpleNamespace(user_ns={"__session__": str(tmp_path / "nb.ipynb")}))
