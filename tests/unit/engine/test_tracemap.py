"""A step that fails in an exported module names the notebook cell and line the user wrote,
whether or not ruff reflowed the module (runtime/tracemap.py reads what export wrote)."""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_flow.flow.markers import format_lines, parse_lines
from jupyter_flow.notebook.api import export_notebook, export_source
from jupyter_flow.notebook.formatting import ruff_binary
from jupyter_flow.notebook.linemap import annotate
from jupyter_flow.runtime.loader import import_module_file
from jupyter_flow.runtime.tracemap import explain, headline, locate_error, place
from jupyter_flow.store.records import ErrorInfo

LOAD = "import pandas as pd"
MAKE = "%%step load\ndf = pd.DataFrame({'x': [1, 2, 3]})"
# blank lines (collapsed), a call over two lines (ruff joins it), a line too long once
# indented (ruff splits it), then the failing line
COMBINE = (
    "%%step combine\n"
    "total = df['x'].sum()\n"
    "\n"
    "\n"
    "# both halves\n"
    "both = pd.concat([df,\n"
    "                  df])\n"
    "label = 'a fairly long label string that pushes this line' + ' past the limit of 88'\n"
    "for col in ['x', 'y']:\n"
    "    print(col)\n"
    "    values = df[col].sum()\n"
)
FAILING = "    values = df[col].sum()"


def _notebook(tmp_path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    for i, cell in enumerate(nb.cells, start=1):
        cell.id = f"c{i}"
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    return path


def _export(tmp_path: Path, cells: list[str], formatted: bool) -> Path:
    path = _notebook(tmp_path, cells)
    if formatted:
        return Path(export_notebook(str(path)).module_path)
    module = tmp_path / "demo_flow.py"
    nb = nbformat.read(path, as_version=4)
    _, source = export_source(nb, notebook_path=str(path), module_path=str(module), fmt=False)
    module.write_text(source)
    return module


def _fail(module: Path, step: str, **kwargs: Any) -> str:
    flow = import_module_file(module).flow
    with pytest.raises(Exception) as info:
        flow.steps[step].func(**kwargs)
    return "".join(traceback.format_exception(info.value))


def _cell_line(cell: str, text: str) -> int:
    return cell.split("\n").index(text) + 1


@pytest.mark.parametrize("formatted", [False, True], ids=["plain", "ruff"])
def test_a_failing_line_is_named_by_its_cell_and_line(tmp_path: Path, formatted: bool) -> None:
    if formatted and ruff_binary() is None:
        pytest.fail("ruff is part of the test environment")
    module = _export(tmp_path, [LOAD, MAKE, COMBINE], formatted)
    source = module.read_text()
    if formatted:
        assert "both = pd.concat([df, df])" in source  # ruff did move lines
    tb = _fail(module, "combine", df=__import__("pandas").DataFrame({"x": [1]}))
    found = explain(tb, str(module), source)
    assert found.place is not None
    assert (found.place.cell, found.place.cell_id) == (3, "c3")
    assert found.place.line == _cell_line(COMBINE, FAILING) == 11
    assert str(found.place) == 'cell 3, line 11: "values = df[col].sum()"'
    assert (
        f'"{module}", line {found.place.module_line}, in combine  (notebook cell 3, line 11)'
        in (found.traceback)
    )


def test_a_line_ruff_splits_keeps_its_cell_line(tmp_path: Path) -> None:
    cell = (
        "%%step combine\n"
        "x = df['x']\n"
        "result = df.assign(first_new_column=df['x'] * 2, second_new_column=df['x'] * 3, "
        "third=df['zz'])\n"
        "done = True\n"
    )
    module = _export(tmp_path, [LOAD, MAKE, cell], formatted=True)
    source = module.read_text()
    assert '\n        first_new_column=df["x"] * 2,' in source  # ruff split the call
    tb = _fail(module, "combine", df=__import__("pandas").DataFrame({"x": [1]}))
    place = explain(tb, str(module), source).place
    assert place is not None and (place.cell, place.line) == (3, 3)


def test_a_module_that_maps_line_for_line_keeps_a_bare_marker(tmp_path: Path) -> None:
    cell = "%%step combine\ntotal = df['x'].sum()\nbad = df['y'].sum()"
    module = _export(tmp_path, [LOAD, MAKE, cell], formatted=True)
    source = module.read_text()
    assert "# cell 3 (id: c3)\n@flow.step(" in source
    tb = _fail(module, "combine", df=__import__("pandas").DataFrame({"x": [1]}))
    place = explain(tb, str(module), source).place
    assert place is not None and (place.cell, place.line) == (3, 3)


def test_a_hand_written_flow_keeps_module_lines(tmp_path: Path) -> None:
    module = tmp_path / "hand_flow.py"
    module.write_text(
        "from jupyter_flow import Flow\n\nflow = Flow('Hand')\n\n\n"
        "@flow.step(outputs=('y',))\ndef start():\n    y = {}['k']\n    return y\n"
    )
    tb = _fail(module, "start")
    found = explain(tb, str(module), module.read_text())
    assert found.place is not None and found.place.cell is None
    assert str(found.place) == "hand_flow.py, line 8: \"y = {}['k']\""
    assert "(notebook" not in found.traceback


def test_the_innermost_step_frame_is_the_place(tmp_path: Path) -> None:
    helper = "def total(frame):\n    return frame['missing'].sum()"
    cell = "%%step combine\nn = len(df)\nt = total(df)"
    module = _export(tmp_path, [LOAD, helper, MAKE, cell], formatted=True)
    source = module.read_text()
    tb = _fail(module, "combine", df=__import__("pandas").DataFrame({"x": [1]}))
    found = explain(tb, str(module), source)
    # the helper has no cell marker: the step's call of it is what the user can find
    assert found.place is not None and (found.place.cell, found.place.line) == (4, 3)
    assert [f.cell for f in found.frames] == [4, None]


@pytest.mark.parametrize(
    "lines", [[2, 3, 4], [2, 2, 2, 5, 6, None, 9], [None], [7], [3, 5, 6, 7, 7, 8]]
)
def test_the_lines_list_reads_back_as_written(lines: list[int | None]) -> None:
    assert list(parse_lines(format_lines(lines))) == lines


@pytest.mark.parametrize("formatted", [False, True], ids=["plain", "ruff"])
def test_hoisted_defs_and_displayed_values_do_not_shift_the_lines(
    tmp_path: Path, formatted: bool
) -> None:
    load = (
        "%%step load\ndef double(v):\n    return v * 2\n\ndf = pd.DataFrame({'x': [1, 2, 3]})\ndf"
    )
    combine = "%%step combine\nn = double(2)\n\n\nbad = df['y'].sum()\ndf.head()"
    module = _export(tmp_path, [LOAD, load, combine], formatted)
    source = module.read_text()
    assert "\ndef double(v):" in source and "    display(df.head())" in source  # as export does
    tb = _fail(module, "combine", df=__import__("pandas").DataFrame({"x": [1]}))
    place = explain(tb, str(module), source).place
    assert place is not None and (place.cell, place.line) == (3, 5)
    # the step that lost its def to module level: its lines still read from the cell
    lines = source.split("\n")
    marker = next(ln for ln in lines if ln.startswith("# cell 2"))
    assert marker.endswith(", lines 5-6")


def test_a_traceback_from_another_machine_is_located_by_the_driver(tmp_path: Path) -> None:
    module = _export(tmp_path, [LOAD, MAKE, COMBINE], formatted=True)
    tb = _fail(module, "combine", df=__import__("pandas").DataFrame({"x": [1]}))
    # a container ran the same module from its code package, elsewhere on its disk
    remote = tb.replace(str(module), "/cache/code/ab12/demo_flow.py")
    error = ErrorInfo("exception", "KeyError: 'y'", "KeyError", remote)
    located = locate_error(error, str(module))
    assert (located.cell, located.line) == (3, 11)
    assert 'demo_flow.py", line' in located.traceback and "(notebook cell 3, line 11)" in (
        located.traceback
    )
    assert locate_error(located, str(module)) == located  # once is enough
    timeout = ErrorInfo("timeout", "the task ran longer than 30s")
    assert locate_error(timeout, str(module)) == timeout


def test_the_headline_says_the_step_once() -> None:
    where = 'cell 6, line 3: "x = 1"'
    assert headline("combine", "KeyError: 'y'", where) == (
        "step 'combine' failed (cell 6, line 3: \"x = 1\"): KeyError: 'y'"
    )
    engine = "step 'combine', task 2: the step returned a int but declares no outputs"
    assert headline("combine[2]", engine) == (
        "step 'combine[2]' failed: the step returned a int but declares no outputs"
    )


def test_a_line_export_cannot_pair_with_the_cell_is_unknown_not_guessed(tmp_path: Path) -> None:
    path = _notebook(tmp_path, [LOAD, MAKE, COMBINE])
    nb = nbformat.read(path, as_version=4)
    graph, source = export_source(nb, notebook_path=str(path), module_path="m.py", fmt=False)
    # one statement became two that no longer read as the cell's (as if a tool rewrote it)
    bare = re.sub(r"(# cell 3 \(id: c3\)), lines .*", r"\1", source)
    changed = bare.replace('total = df["x"].sum()', 'total = df["x"].max()\n    total += 0')
    annotated = annotate(changed, graph)
    marker = next(ln for ln in annotated.split("\n") if ln.startswith("# cell 3"))
    assert ", lines ?, ?, " in marker
    rows = annotated.split("\n")
    where = place(annotated, rows.index('    total = df["x"].max()') + 1, "m.py")
    after = place(annotated, rows.index("    both = pd.concat([df,") + 1, "m.py")
    assert after.line == _cell_line(COMBINE, "both = pd.concat([df,")  # the rest still maps
    assert (where.cell, where.line) == (3, None) and str(where).startswith("cell 3: ")
