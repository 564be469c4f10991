"""A step that fails names the notebook cell and line, with the exception, wherever it runs:
``python x_flow.py run``, ``jupyter flow run``, ``%flow run`` (widget and text) and its error."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.client import latest_run

from .conftest import LOAD, REPO, bundle_of, descendants, text_of, widget_states

# cell 3's lines: 1 %%step, 2 total, 3-4 blank, 5 comment, 6-7 a call ruff joins, 8 fails
COMBINE = (
    "%%step combine\n"
    "total = df['x'].sum()\n"
    "\n"
    "\n"
    "# both halves\n"
    "both = pd.concat([df,\n"
    "                  df])\n"
    "bad = df['y'].sum()\n"
    "print(total)"
)
CELLS = ["import pandas as pd", "%%step load\ndf = pd.DataFrame({'x': [1, 2, 3]})", COMBINE]
HEADLINE = "step 'combine' failed (cell 3, line 8: 'bad = df[\"y\"].sum()'): KeyError: 'y'"
FRAME = "in combine  (notebook cell 3, line 8)"


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        JUPYTER_FLOW_ROOT=str(tmp_path / "store"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return env


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_names_the_cell_and_line_of_a_failing_step(
    tmp_path: Path, save_notebook: Callable[[list[str]], Path]
) -> None:
    save_notebook(CELLS)
    exported = _cli(tmp_path, "-m", "jupyter_flow", "export", "nb.ipynb")
    assert exported.returncode == 0, exported.stderr
    assert re.search(r"# cell 3 \(id: [\w-]+\), lines ", (tmp_path / "nb_flow.py").read_text())

    for command in (["nb_flow.py", "run"], ["-m", "jupyter_flow", "run", "nb_flow.py"]):
        done = _cli(tmp_path, *command)
        assert done.returncode == 1, done.stderr
        first = next(ln for ln in done.stderr.splitlines() if ln.startswith("error:"))
        assert first == f"error: {HEADLINE}"
        assert FRAME in done.stderr
        live = next(ln for ln in done.stdout.splitlines() if ln.startswith("✗ combine"))
        assert live == "✗ combine failed " + HEADLINE.split(" failed ", 1)[1]
        assert "resume " in done.stderr  # what to do next

    # what the store keeps for every other viewer (Run(...).error, the Lab's run summary)
    run = latest_run("NbFlow", root=str(tmp_path / "store"))
    assert run.error is not None
    assert (run.error.cell, run.error.line, run.error.message) == (3, 8, "KeyError: 'y'")
    assert run.summary()["failure"]["headline"] == HEADLINE


@pytest.mark.parametrize("widgets", [True, False], ids=["widget", "text"])
def test_flow_run_in_a_kernel_names_the_cell_line_and_exception(
    save_notebook: Callable[[list[str]], Path],
    execute: Callable[..., Any],
    kernel_env: dict[str, str],
    widgets: bool,
) -> None:
    save_notebook(CELLS)
    hide = [] if widgets else ["import sys; sys.modules['ipywidgets'] = None"]
    nb = execute([*hide, LOAD, "%flow run"], allow_errors=True)
    run_cell = nb.cells[-1]
    # the error the kernel raises at the end: the exception after the colon
    error = "".join(o.text for o in run_cell.outputs if o.get("name") == "stderr")
    final = [ln for ln in error.splitlines() if ln.startswith("UsageError")]
    assert final == [f"UsageError: {HEADLINE}"], error
    if widgets:
        bundle = bundle_of(run_cell)
        states = widget_states(nb)
        view = descendants(states, bundle["application/vnd.jupyter.widget-view+json"]["model_id"])
        shown = html.unescape(
            " ".join(s.get("value", "") for s in view if s.get("_model_name") == "HTMLModel")
        )
        accordion = next(s for s in view if s.get("_model_name") == "AccordionModel")
        assert accordion["titles"][-1] == "✗ combine — failed at cell 3, line 8"
    else:
        shown = text_of(run_cell)
    assert HEADLINE in shown
    assert FRAME in shown


def test_a_cell_run_elsewhere_names_its_own_line(execute: Callable[..., Any]) -> None:
    cells = [LOAD, "xs = [1, 2]", "%%step boom --on local\ny = 1\n\n\nz = xs[5]"]
    nb = execute(cells, allow_errors=True)
    shown = text_of(nb.cells[-1])
    # line 5 as JupyterLab numbers it, though export collapsed the blank lines
    assert "step 'boom' failed (this cell, line 5: \"z = xs[5]\"): IndexError" in shown
    assert "in boom  (notebook cell, line 5)" in shown
