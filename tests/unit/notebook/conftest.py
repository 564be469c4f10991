"""Helpers for notebook-half tests: build small notebooks from cell sources."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def make_nb(*cells: str | tuple[str, str]) -> Any:
    """Cells from sources; ``("md", text)`` is markdown, ``("parameters", code)`` is a code
    cell tagged ``parameters``. Ids are stable (``c1``, ``c2``...) so output is comparable."""
    out = []
    for i, cell in enumerate(cells, start=1):
        if isinstance(cell, tuple):
            kind, text = cell
            made = (
                new_markdown_cell(text)
                if kind == "md"
                else new_code_cell(text, metadata={"tags": [kind]})
            )
        else:
            made = new_code_cell(cell)
        made.id = f"c{i}"
        out.append(made)
    return new_notebook(
        cells=out, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )


@pytest.fixture
def write_nb(tmp_path: Path) -> Callable[..., Path]:
    def write(*cells: str | tuple[str, str], name: str = "demo.ipynb") -> Path:
        path = tmp_path / name
        nbformat.write(make_nb(*cells), path)
        return path

    return write
