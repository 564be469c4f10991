"""``%%step``/``%%params``/``%flow`` in a real kernel (ipykernel via nbclient).

One notebook is executed once per module; each test reads the outputs of its cells.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELLS = {
    "load": "%load_ext jupyter_flow\nimport pandas as pd",
    "value": "%%step a\nx = 41\nx + 1",
    "underscore": "_ + 1",
    "quiet": "%%step q\ny = 1\ny + 1;",
    "display": "%%step d\nprint('printed')\ndisplay('shown')\nz = 3",
    "boom": "%%step boom\nok = 1\n1 / 0",
    "after_boom": "print(ok)",
    "params": "%%params\nalphas = [1, 2, 3]",
    "foreach": (
        "%%step sweep --foreach alpha in alphas\nscore = alpha * 10\nbase = [0]\nbase.append(alpha)"
    ),
    "joined": "print(score, base, 'alpha' in globals())",
    "frame": "%%step make\ndf = pd.DataFrame({'v': range(5)})\nitems = []",
    "helper": "def add_col(frame):\n    frame['w'] = 1",
    "hidden": "%%step prep\nadd_col(df)\nitems.append(1)\nn = len(df)",
    "hidden_again": "%%step prep\nadd_col(df)\nitems.append(1)\nn = len(df)",
    "declared": "%%step prep2 --outputs m,df\nadd_col(df)\nm = len(df)",
    "helper2": "def add_u(frame):\n    frame['u'] = 1",
    "narrow": "%%step narrow --outputs k\nadd_u(df)\nk = 1",
    "steps": "%flow steps",
    "export_refused": "%flow export",
    "bad_option": "%%step t --gpus 1\nx = 1",
    "help": "print(get_ipython().find_cell_magic('step').__doc__)",
    "verbs": "%flow",
}

UNSAVED = ("bad_option", "hidden_again")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Any]]]:
    folder = tmp_path_factory.mktemp("magics")
    nb = new_notebook(
        cells=[new_code_cell(src) for src in CELLS.values()],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    path = folder / "magic_demo.ipynb"
    # %flow export reads the saved file: leave out the bad line, and the re-run of "prep"
    # (running one cell twice, not two cells with one name)
    saved = nbformat.from_dict(nb)
    saved.cells = [c for key, c in zip(CELLS, nb.cells, strict=True) if key not in UNSAVED]
    nbformat.write(saved, path)
    mp = pytest.MonkeyPatch()
    mp.setenv("JPY_SESSION_NAME", str(path))  # what JupyterLab sets for the kernel
    try:
        NotebookClient(
            nb,
            timeout=60,
            kernel_name="python3",
            allow_errors=True,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(folder)}},
        ).execute()
    finally:
        mp.undo()
    yield {key: cell.outputs for key, cell in zip(CELLS, nb.cells, strict=True)}


def text(outs: list[Any], kind: str | None = None) -> str:
    parts = []
    for out in outs:
        if out.output_type == "stream" and kind in (None, out.name):
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data") and kind in (None, "data"):
            parts.append(out.data.get("text/plain", ""))
        elif out.output_type == "error" and kind in (None, "error"):
            parts.append(f"{out.ename}: {out.evalue}\n" + "\n".join(out.traceback))
    return ANSI.sub("", "\n".join(parts))


def test_the_last_expression_displays_and_sets_underscore(outputs: dict[str, list[Any]]) -> None:
    assert [o.output_type for o in outputs["value"]] == ["execute_result"]
    assert text(outputs["value"]) == "42"
    assert text(outputs["underscore"]) == "43"


def test_a_trailing_semicolon_silences_the_display(outputs: dict[str, list[Any]]) -> None:
    assert outputs["quiet"] == []


def test_prints_and_displays_come_through(outputs: dict[str, list[Any]]) -> None:
    assert text(outputs["display"], "stdout") == "printed\n"
    assert text(outputs["display"], "data") == "'shown'"


def test_exceptions_fail_the_cell_and_point_at_its_line(outputs: dict[str, list[Any]]) -> None:
    error = text(outputs["boom"], "error")
    assert error.startswith("ZeroDivisionError: division by zero")
    assert "----> 3" in error  # line 3 of the cell, as without the magic
    assert "magics.py" not in error and "observe.py" not in error
    assert text(outputs["after_boom"]) == "1\n"  # lines before the error ran


def test_foreach_joins_each_written_name_in_item_order(outputs: dict[str, list[Any]]) -> None:
    assert text(outputs["joined"]) == "[10, 20, 30] [[0, 1], [0, 2], [0, 3]] False\n"


def test_a_hidden_in_place_change_is_reported_once(outputs: dict[str, list[Any]]) -> None:
    warning = text(outputs["hidden"], "stderr")
    assert "step 'prep' changed 'df' in place" in warning
    assert "--outputs n,items,df" in warning  # the exact fix; items was seen statically
    assert "items" not in warning.split("changed")[1].split("in place")[0]


def test_once_seen_it_is_an_output_and_declaring_it_silences(
    outputs: dict[str, list[Any]],
) -> None:
    assert outputs["hidden_again"] == []
    assert outputs["declared"] == []


def test_flow_steps_lists_inputs_outputs_resources(outputs: dict[str, list[Any]]) -> None:
    table = text(outputs["steps"])
    lines = table.splitlines()
    assert lines[0].split() == ["step", "inputs", "outputs", "resources", "seconds"]
    prep = next(line for line in lines if line.startswith("prep"))
    assert "df (observed)" in prep and "cpu=1 memory=4Gi" in prep
    sweep = next(line for line in lines if line.startswith("sweep"))
    assert "foreach alpha in alphas" in sweep
    html = next(o for o in outputs["steps"] if o.output_type == "execute_result").data["text/html"]
    assert 'class="jp-Flow-steps"' in html


def test_export_refuses_what_the_kernel_saw_diverge(outputs: dict[str, list[Any]]) -> None:
    """A change seen in the kernel is an output of the step on export too ('prep' has no
    --outputs: it returns df); a step whose --outputs leave it out is refused, located."""
    assert "declares it" in text(outputs["narrow"], "stderr")
    error = text(outputs["export_refused"])
    assert "UsageError" in error and "'narrow'" in error and "'df'" in error
    index = [k for k in CELLS if k not in UNSAVED].index("narrow") + 1
    assert f"cell {index}" in error and "--outputs" in error


def test_unknown_options_are_usage_errors(outputs: dict[str, list[Any]]) -> None:
    error = text(outputs["bad_option"], "stderr") + text(outputs["bad_option"], "error")
    assert "unrecognized arguments: --gpus 1" in error and "--gpu" in error


def test_step_help_lists_the_options(outputs: dict[str, list[Any]]) -> None:
    help_text = text(outputs["help"])
    for option in ("--cpu", "--memory", "--foreach", "--inputs", "--outputs", "--after"):
        assert option in help_text
    assert "%flow steps" in text(outputs["verbs"]) and "%flow export" in text(outputs["verbs"])


def test_flow_export_writes_the_module_of_the_session_notebook(tmp_path: Path) -> None:
    nb = new_notebook(
        cells=[
            new_code_cell("%load_ext jupyter_flow"),
            new_code_cell("%%step a\nxs = [1]"),
            new_code_cell("%%step b\nxs.append(2)"),
            new_code_cell("%flow export"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    path = tmp_path / "session_nb.ipynb"
    nbformat.write(nb, path)
    mp = pytest.MonkeyPatch()
    mp.setenv("JPY_SESSION_NAME", "some/server/root/session_nb.ipynb")  # relative to the root
    try:
        NotebookClient(
            nb,
            timeout=60,
            kernel_name="python3",
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(tmp_path)}},
        ).execute()
    finally:
        mp.undo()
    assert "wrote session_nb_flow.py (2 steps)" in text(nb.cells[-1].outputs)
    assert "def b(xs):" in (tmp_path / "session_nb_flow.py").read_text()
