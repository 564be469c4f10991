"""Every user mistake is a located error (cell, first line, what to do); nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_flow.errors import CellLocation, NotebookError
from jupyter_flow.notebook.api import analyze, export_notebook

from .conftest import make_nb

IMPORTS = "import pandas as pd"


def problem(*cells: str | tuple[str, str]) -> NotebookError:
    """The first problem export reports (and check that analyze reports the same one)."""
    found = analyze(make_nb(*cells), notebook_path="demo.ipynb")["problems"]
    assert found, "expected a problem"
    with pytest.raises(NotebookError) as info:
        from jupyter_flow.notebook.api import export_source

        export_source(make_nb(*cells), notebook_path="demo.ipynb", module_path="demo_flow.py")
    assert info.value.headline == found[0]["message"]
    return info.value


def cell_of(err: NotebookError) -> int:
    assert isinstance(err.location, CellLocation)
    return err.location.index


def test_reading_what_an_untagged_cell_computed() -> None:
    err = problem(IMPORTS, "df = pd.DataFrame({'a': [1]})", "%%step s\nn = len(df)")
    assert cell_of(err) == 3 and "cell 2" in err.headline and "not a step" in err.headline
    assert err.hint is not None and "tag cell 2 with %%step" in err.hint
    assert "line 2" in str(err.location) and "'%%step s'" in str(err)


def test_untagged_in_place_change_counts_as_a_write() -> None:
    err = problem("%%step a\nxs = [1]", "xs.append(2)", "%%step b\nn = len(xs)")
    assert cell_of(err) == 3 and "cell 2" in err.headline


def test_a_name_defined_nowhere_suggests_a_close_one() -> None:
    err = problem("%%step a\nresult = 1", "%%step b\nz = reslt + 1")
    assert "'reslt'" in err.headline and err.hint == "did you mean 'result'?"


def test_a_name_defined_below() -> None:
    err = problem("%%step a\ny = x + 1", "%%step b\nx = 1")
    assert cell_of(err) == 1 and err.hint is not None and "cell 2" in err.hint


def test_duplicate_step_names() -> None:
    err = problem("%%step a\nx = 1", "%%step a\ny = 2")
    assert cell_of(err) == 2 and "already exists (cell 1)" in err.headline


def test_a_cycle_through_after() -> None:
    err = problem("%%step a --after b\nx = 1", "%%step b\ny = x")
    assert "cycle" in err.headline and "a -> b" in err.headline.replace("b -> a", "a -> b")


def test_after_an_unknown_step() -> None:
    err = problem("%%step a\nx = 1", "%%step b --after aa\ny = x")
    assert "'aa' names no step" in err.headline and err.hint == "did you mean 'a'?"


def test_star_imports() -> None:
    err = problem("from math import *", "%%step a\nx = sqrt(2)")
    assert cell_of(err) == 1 and "import *" in err.headline
    assert err.hint is not None and "from math import a, b" in err.hint


def test_foreach_list_from_nowhere() -> None:
    err = problem("%%step a --foreach x in xs\ny = x")
    assert "--foreach list 'xs'" in err.headline and err.hint is not None and "%%params" in err.hint


def test_foreach_list_from_a_constant_is_not_a_flow_value() -> None:
    err = problem("XS = [1, 2]", "%%step a --foreach x in XS\ny = x")
    assert "cell 1, which is not a step" in err.headline


def test_unknown_option_lists_valid_ones() -> None:
    err = problem("%%step a --gpus 2\nx = 1")
    assert err.hint is not None and "--gpu" in err.hint and "--foreach" in err.hint


def test_syntax_error_in_any_cell() -> None:
    err = problem("x = (", "%%step a\ny = 1")
    assert cell_of(err) == 1 and "syntax error" in err.headline


def test_invalid_nbformat(tmp_path: Path) -> None:
    nb = make_nb("%%step a\nx = 1")
    nb.cells[0]["cell_type"] = "bogus"
    result = analyze(nb, notebook_path="demo.ipynb")
    assert "not a valid notebook" in result["problems"][0]["message"]
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(NotebookError, match="not valid JSON"):
        export_notebook(str(bad))


def test_no_steps() -> None:
    err = problem("x = 1")
    assert "no %%step cells" in err.headline


def test_function_in_a_step_closing_over_a_step_value_is_refused_naming_it() -> None:
    err = problem("%%step a\nk = 2\ndef f(v):\n    return v * k\ny = 1", "%%step b\nz = f(y)")
    assert cell_of(err) == 2 and "defined inside step 'a'" in err.headline
    assert "uses 'k' (a value of step 'a')" in err.headline
    assert err.hint is not None and "pass 'k' to 'f' as an argument" in err.hint


def test_function_in_a_step_closing_over_a_parameter_is_refused_naming_it() -> None:
    err = problem(
        ("parameters", "lr = 0.1"),
        "%%step a\ndef f(v):\n    return v * lr\ny = 1",
        "%%step b\nz = f(y)",
    )
    assert "uses 'lr' (a parameter)" in err.headline


def test_module_function_using_a_step_value() -> None:
    err = problem("%%step a\nX = 1", "def f():\n    return X", "%%step b\nz = f()")
    assert cell_of(err) == 2 and "'f' uses 'X'" in err.headline


def test_reading_a_name_the_step_did_not_declare() -> None:
    err = problem("%%step a --outputs y\nx = 1\ny = 2", "%%step b\nz = x")
    assert (
        "does not list in its --outputs" in err.headline
        and err.hint == "add 'x' to --outputs of step 'a'"
    )


def test_reading_a_deleted_name() -> None:
    err = problem("%%step a\nx = 1", "%%step b\ndel x", "%%step c\ny = x")
    assert "deleted with del" in err.headline


def test_notebook_only_names() -> None:
    err = problem("%%step a\nx = 1", "%%step b\ny = _ + 1")
    assert "exists only in a notebook kernel" in err.headline


def test_rebinding_a_module_constant_in_a_step() -> None:
    err = problem("LIMIT = 3", "%%step a\nLIMIT = LIMIT + 1")
    assert "module-level name" in err.headline and err.hint is not None and "%%params" in err.hint


def test_all_problems_are_reported_by_analyze() -> None:
    nb = make_nb("%%step a --gpus 1\nx = 1", "%%step b\ny = nope", "from os import *")
    problems = analyze(nb, notebook_path="demo.ipynb")["problems"]
    assert [p["location"]["index"] for p in problems] == [1, 2, 3]
    assert all(p["error"] == "NotebookError" and p["text"] for p in problems)


def test_failed_export_writes_nothing(write_nb: Callable[..., Path]) -> None:
    path = write_nb("%%step a\nx = 1", "%%step b\ny = missing")
    with pytest.raises(NotebookError):
        export_notebook(str(path))
    assert list(path.parent.iterdir()) == [path]


def test_failed_export_keeps_the_previous_module(write_nb: Callable[..., Path]) -> None:
    path = write_nb("%%step a\nx = 1")
    first = export_notebook(str(path))
    path = write_nb("%%step a\nx = missing")
    with pytest.raises(NotebookError):
        export_notebook(str(path))
    assert Path(first.module_path).read_text() == first.source
