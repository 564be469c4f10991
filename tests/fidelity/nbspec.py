"""How a corpus notebook is written down: cells as Python source strings, plus what the
harness compares and what the issue expects. ``generate.py`` turns these into .ipynb files."""

from __future__ import annotations

from dataclasses import dataclass, field

FAILS_HERE = "# fails here"


@dataclass(frozen=True)
class Cell:
    source: str
    kind: str = "code"  # code | markdown
    tags: tuple[str, ...] = ()


def md(text: str) -> Cell:
    return Cell(text.strip("\n"), "markdown")


def code(source: str, *tags: str) -> Cell:
    return Cell(source.strip("\n"), "code", tags)


@dataclass(frozen=True)
class NotebookSpec:
    """One corpus notebook. ``classes``: the issue's failure classes it exercises (1-7) or
    the other features (params, foreach, helpers, imports, inline, pip, plain)."""

    name: str
    cells: tuple[Cell, ...]
    compare: tuple[str, ...]
    classes: tuple[str, ...]
    expect: str | None = None  # REPRODUCED | REFUSED, where the issue says which
    files: dict[str, str] = field(default_factory=dict)  # other files in its folder

    @property
    def fails_at(self) -> int | None:
        """The 1-based cell (as JupyterLab counts) marked ``# fails here``."""
        for i, cell in enumerate(self.cells, start=1):
            if FAILS_HERE in cell.source:
                return i
        return None


LOAD = code("%load_ext jupyter_flow")
