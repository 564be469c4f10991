"""``%flow runs`` in a real kernel marks a run whose failures ``--catch`` let pass, naming
the steps (their outputs are None)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import LOAD, text_of

STEPS = [
    LOAD,
    "%%step load\nxs = [1, 2, 3]",
    "%%step check --foreach x in xs --catch\nif x == 2:\n    raise ValueError('two')\nok = x",
    "%%step total\ncount = len(ok)",
]


def test_runs_marks_a_run_with_caught_failures(
    save_notebook: Callable[[list[str]], Path], execute: Callable[..., Any]
) -> None:
    save_notebook(STEPS)
    nb = execute([LOAD, "%flow run", "%flow runs"])
    listed = text_of(nb.cells[2]).splitlines()
    assert listed[0].split() == ["run", "status", "started", "seconds", "note"]
    row = listed[1]
    assert " done " in row and row.endswith("⚠ caught failures in check")
    assert row.index("⚠") == listed[0].index("note")
    html = nb.cells[2].outputs[0]["data"]["text/html"]
    assert "⚠ caught failures in check" in html
