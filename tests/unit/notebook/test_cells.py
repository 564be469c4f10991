"""The %%step line and notebook-only lines, as export reads them (no kernel)."""

from __future__ import annotations

import pytest

from jupyter_flow.errors import NotebookError
from jupyter_flow.flow.spec import Foreach
from jupyter_flow.notebook.cells import CodeCell, ParamsCell, StepCell, parse_cell

from .conftest import make_nb


def parse(source: str, tags: list[str] | None = None) -> object:
    cell = make_nb(source).cells[0]
    if tags:
        cell.metadata["tags"] = tags
    return parse_cell(cell, 3)


def test_every_option_is_read() -> None:
    step = parse(
        "%%step train --cpu 2 --memory 16G --gpu 1 --retries 2 --timeout 30m --catch "
        '--image py:3.11 --packages "pandas==2.2 scikit-learn" --foreach p in grid '
        "--after load,clean --inputs a,b --outputs c\nc = a + b + p"
    )
    assert isinstance(step, StepCell)
    o = step.options
    assert (o.name, o.cpu, o.memory, o.gpu, o.retries, o.timeout) == (
        "train",
        "2",
        "16G",
        1,
        2,
        "30m",
    )
    assert o.catch and o.image == "py:3.11"
    assert step.packages == ("pandas==2.2", "scikit-learn")
    assert o.foreach == Foreach("p", "grid")
    assert (o.after, o.inputs, o.outputs) == (("load", "clean"), ("a", "b"), ("c",))
    assert o.resources.memory_mb == 16384 and o.timeout_seconds == 1800


def test_foreach_may_be_quoted() -> None:
    step = parse('%%step s --foreach "x in xs"\ny = x')
    assert isinstance(step, StepCell) and step.options.foreach == Foreach("x", "xs")


@pytest.mark.parametrize(
    ("line", "message", "hint"),
    [
        ("%%step t --gpus 1", "unrecognized arguments: --gpus", "--cpu --memory --gpu"),
        ("%%step t --mem 4G", "unrecognized arguments: --mem", "valid options"),
        ("%%step", "needs a step name", "%%step train"),
        ("%%step 2fast", "not a Python identifier", None),
        ("%%step t --foreach x of xs", "not of the form 'ITEM in LIST'", None),
        ("%%step t --memory lots", "memory 'lots'", "16G"),
        ("%%step t --retries -1", "--retries", None),
        ("%%step t --timeout soon", "duration 'soon'", "30m"),
        ("%%step t --outputs a,2b", "'2b' is not a Python identifier", None),
    ],
)
def test_bad_step_lines_point_at_the_cell(line: str, message: str, hint: str | None) -> None:
    with pytest.raises(NotebookError) as info:
        parse(line + "\nx = 1")
    err = info.value
    assert message in err.headline
    assert err.location is not None and str(err.location).startswith("cell 3, line 1")
    if hint:
        assert err.hint is not None and hint in err.hint


def test_display_magics_are_dropped_with_a_comment() -> None:
    step = parse("%%step s\n%matplotlib inline\nif x:\n    %config A.b = 1\ny = x")
    assert isinstance(step, StepCell)
    assert step.body.split("\n")[0] == "# %matplotlib inline  (notebook-only, dropped)"
    assert step.body.split("\n")[2].startswith("    pass  # %config")


def test_time_keeps_the_statement() -> None:
    step = parse("%%step s\n%time y = slow(x)")
    assert isinstance(step, StepCell) and step.body.strip() == "y = slow(x)"


@pytest.mark.parametrize(
    "line",
    [
        "!pip install -q pandas==2.2 scikit-learn",
        "%pip install pandas==2.2 scikit-learn",
        "!python -m pip install --upgrade pandas==2.2 scikit-learn",
    ],
)
def test_pip_installs_become_packages(line: str) -> None:
    step = parse(f"%%step s --packages numpy\n{line}\ny = 1")
    assert isinstance(step, StepCell)
    assert step.packages == ("numpy", "pandas==2.2", "scikit-learn")


@pytest.mark.parametrize(
    ("line", "at"),
    [("!ls data", 3), ("files = !ls", 3), ("%cd /tmp", 3), ("!pip install -r req.txt", 3)],
)
def test_other_notebook_only_lines_are_located_errors(line: str, at: int) -> None:
    with pytest.raises(NotebookError) as info:
        parse(f"%%step s\nx = 1\n{line}\ny = 2")
    assert "only works in a notebook" in info.value.headline
    assert info.value.location is not None and getattr(info.value.location, "line", None) == at


def test_percent_inside_a_string_is_not_a_magic() -> None:
    step = parse('%%step s\nq = """\n%s\n!x\n"""\n!pip install foo')
    assert isinstance(step, StepCell) and "%s\n!x" in step.body and step.packages == ("foo",)


def test_syntax_error_names_the_line_of_the_cell() -> None:
    with pytest.raises(NotebookError) as info:
        parse("%%step s\nx = 1\ny = (")
    assert "syntax error" in info.value.headline
    assert getattr(info.value.location, "line", None) == 3


@pytest.mark.parametrize(
    "source,tags", [("%%params\nn = 10\nname = 'a'", None), ("n = 10\nname = 'a'", ["parameters"])]
)
def test_parameters_cells(source: str, tags: list[str] | None) -> None:
    cell = parse(source, tags)
    assert isinstance(cell, ParamsCell) and dict(cell.values) == {"n": 10, "name": "a"}


def test_parameters_must_be_literals() -> None:
    with pytest.raises(NotebookError) as info:
        parse("%%params\nn = 10\nm = n * 2")
    assert "'m' must be a literal" in info.value.headline
    assert getattr(info.value.location, "line", None) == 3


def test_untagged_and_foreign_cells() -> None:
    code = parse("%matplotlib inline\nimport numpy as np")
    assert isinstance(code, CodeCell) and code.tree is not None
    bash = parse("%%bash\necho hi")
    assert isinstance(bash, CodeCell) and bash.tree is None
    assert parse("   \n") is None


def test_on_is_for_the_kernel_only() -> None:
    from jupyter_flow.notebook.api import export_source

    step = parse("%%step s --on kubernetes\nx = 1")
    assert isinstance(step, StepCell) and step.options.on == "kubernetes"
    _, source = export_source(
        make_nb("%%step s --on kubernetes --cpu 2\nx = 1"),
        notebook_path="d.ipynb",
        module_path="d_flow.py",
        fmt=False,
    )
    assert '@flow.step(cpu=2, outputs=("x",))' in source
