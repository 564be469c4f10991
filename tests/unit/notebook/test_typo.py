"""A misspelled name in a step: one error, at the step that misspelled it, suggesting the
name the user meant (a value of a step above, before a look-alike import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_flow.notebook.api import analyze
from jupyter_flow.notebook.graph_errors import closest

from .conftest import make_nb

TYPO = (
    "from statistics import mode\nimport math",
    "%%step load\ndata = [1, 2, 3]",
    "%%step train\nmodel = sum(data)\nmodels = [model]",
    "%%step report\nscore = modle * 2\nprint(score)",
    "%%step final\nprint(math.sqrt(score))",
)


def test_a_typo_is_one_error_suggesting_the_step_value_meant() -> None:
    problems = analyze(make_nb(*TYPO), notebook_path="demo.ipynb")["problems"]
    assert len(problems) == 1, problems  # 'final' reads 'score', which 'report' writes
    (only,) = problems
    assert only["location"]["index"] == 4 and only["location"]["line"] == 2
    assert "reads 'modle', which no cell above defines" in only["message"]
    assert only["hint"] == "did you mean 'model'?"  # not the import 'mode'


def test_export_prints_that_one_error(tmp_path: Path) -> None:
    nbformat.write(make_nb(*TYPO), tmp_path / "typo.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", "flow", "export", "typo.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "error: cell 4, line 2 ('%%step report'): reads 'modle', which no cell above defines",
        "  hint: did you mean 'model'?",
    ]


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("modle", "model"),  # a swap is one edit
        ("modl", "model"),  # a value before the import 'mode', as far
        ("Model", "model"),
        ("lerning_rate", "learning_rate"),
        ("df_trian", "df_train"),
        ("prnt", "print"),  # builtins too
        ("xyz", None),
    ],
)
def test_closest_ranks_edits_then_what_a_step_reads(typo: str, meant: str | None) -> None:
    known = {
        "model": "step",
        "mode": "def",
        "models": "step",
        "learning_rate": "param",
        "df_train": "step",
        "gone": "deleted",
    }
    assert closest(typo, known) == meant


def test_a_deleted_name_is_never_suggested() -> None:
    assert closest("gne", {"gone": "deleted"}) is None
