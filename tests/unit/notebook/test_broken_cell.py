"""A step cell that cannot be read is one error, at that cell: the cells below that read
what it would define are not also told "no cell above defines" (untrue, and it hid the
real error); a name nothing defines is still reported."""

from __future__ import annotations

import pytest

from jupyter_flow.notebook.api import analyze
from jupyter_flow.notebook.broken import maybe_bound

from .conftest import make_nb

BELOW = "%%step total\nresult = sum(squares) + len(other)"


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ("%%step square\nsquares = [x * x for x in numbers\nother = 1", "syntax error"),
        ("%%step square --cpu two\nsquares = [x * x for x in numbers]\nother = 1", "cpu 'two'"),
        ("%%step square --nope\nsquares, other = [1], 2", "bad %%step line"),
    ],
)
def test_one_error_at_the_broken_cell(broken: str, why: str) -> None:
    nb = make_nb("%%step load\nnumbers = [1, 2]", broken, BELOW)
    problems = analyze(nb, notebook_path="demo.ipynb")["problems"]
    assert [p["location"]["index"] for p in problems] == [2], problems
    assert why in problems[0]["message"]


def test_a_name_nobody_could_define_is_still_reported() -> None:
    nb = make_nb(
        "%%step load\nnumbers = [1, 2]",
        "%%step square\nsquares = [x * x for x in numbers",
        "%%step total\nresult = sum(squares) + missing",
    )
    problems = analyze(nb, notebook_path="demo.ipynb")["problems"]
    assert [p["location"]["index"] for p in problems] == [2, 3]
    assert "reads 'missing'" in problems[1]["message"]


def test_a_reader_above_the_broken_cell_is_still_told() -> None:
    nb = make_nb(
        "%%step first\nprint(squares)",
        "%%step square\nsquares = [x * x for x in",
    )
    problems = analyze(nb, notebook_path="demo.ipynb")["problems"]
    assert sorted(p["location"]["index"] for p in problems) == [1, 2]


def test_what_a_cell_that_does_not_parse_may_bind() -> None:
    source = (
        "%%step s --bad\n"
        "import numpy as np, os.path\n"
        "from math import sqrt as root, pi\n"
        "def helper(x):\n"
        "    return x +\n"
        "class Model: pass\n"
        "for i, (a, b) in pairs:\n"
        "    total += a\n"
        "with open(p) as fh:\n"
        "    if (n := len(fh)) == 3: pass\n"
        "self.attr = 3\n"
        "x == 4\n"
    )
    names = maybe_bound(source)
    assert {"np", "os", "root", "pi", "helper", "Model", "i", "a", "b", "total", "fh", "n"} <= names
    assert "x" not in names  # a comparison binds nothing
    assert "attr" not in names


def test_the_dag_still_draws_the_broken_step_and_what_reads_it() -> None:
    """The Lab draws it marked as a problem, linked to the steps that read what it may
    bind, instead of dropping it (the DAG looked collapsed after one mistake)."""
    nb = make_nb(
        "%%step load\nnumbers = [1, 2]",
        "%%step square\nsquares = [x * x for x in numbers",
        BELOW,
    )
    shown = analyze(nb, notebook_path="demo.ipynb")
    assert [(s["name"], s.get("unreadable", False)) for s in shown["steps"]] == [
        ("load", False),
        ("square", True),
        ("total", False),
    ]
    assert ["square", "total"] in shown["edges"]
