"""What a cell that cannot be read might define, so that its readers get no false error.

A step cell with a syntax error or a bad ``%%step`` line is reported, and left out of the
graph; a later cell that reads ``squares`` would then also be told "no cell above defines
'squares'", a second error that is not true and hides the first. The names such a cell
binds are found exactly when its body still parses (only the ``%%step`` line is wrong),
else guessed from its lines: assignments, ``def``/``class``, imports, ``for`` and ``with``
targets. A guess only ever silences an error, it never links a value.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .cells import split_cell_magic
from .ipysyntax import parse_python

_NAME = re.compile(r"(?<![.\w])([A-Za-z_]\w*)")
_LINE_PATTERNS = (
    re.compile(r"^\s*(?:async\s+)?def\s+(\w+)"),
    re.compile(r"^\s*class\s+(\w+)"),
)
_TARGETS = (
    re.compile(r"^\s*for\s+(.+?)\s+in\b"),
    re.compile(r"\bas\s+(\w+)"),
    re.compile(r"(\w+)\s*:="),
    # a target list before one =, +=, -=, ... (not ==, <=, >=, !=)
    re.compile(r"^\s*([\w\s,.\[\]()*]+?)\s*(?:[-+*/%&|^@]|//|\*\*|>>|<<)?=(?![=])"),
)
_IMPORT = re.compile(r"^\s*(?:from\s+\S+\s+)?import\s+(.+)")
_STEP_NAME = re.compile(r"^\s*([A-Za-z_]\w*)")


@dataclass(frozen=True)
class BrokenStep:
    """A ``%%step`` cell that could not be read: still drawn in the DAG, marked."""

    name: str
    cell_index: int
    cell_id: str | None
    may_bind: frozenset[str]


@dataclass
class Unreadable:
    """The cells of a notebook that could not be read."""

    names: dict[str, int] = field(default_factory=dict)  # name -> first cell that may bind it
    steps: list[BrokenStep] = field(default_factory=list)

    def add(self, index: int, cell_id: str | None, source: str) -> None:
        bound = maybe_bound(source)
        for name in bound:
            self.names.setdefault(name, index)
        magic = split_cell_magic(source)
        if magic is not None and magic[0] == "step":
            found = _STEP_NAME.match(magic[1])
            if found:
                self.steps.append(BrokenStep(found.group(1), index, cell_id, bound))

    def dag(self, readers: Iterable[tuple[str, int, Iterable[str]]]) -> tuple[list[Any], list[Any]]:
        """Rows and edges that put the broken steps in the UI's DAG: an edge to each step
        below that reads a name a broken step may bind (``readers``: name, cell, reads)."""
        rows: list[dict[str, Any]] = [
            {
                "name": b.name,
                "cell_index": b.cell_index,
                "cell_id": b.cell_id,
                "inputs": [],
                "outputs": [],
                "resources": {"cpu": None, "memory_mb": None, "gpu": None},
                "foreach": None,
                "after": [],
                "retries": None,
                "timeout": None,
                "packages": [],
                "unreadable": True,
            }
            for b in self.steps
        ]
        edges = [
            [b.name, name]
            for name, index, reads in readers
            for b in self.steps
            if b.cell_index < index and b.may_bind & set(reads)
        ]
        return rows, edges


def maybe_bound(source: str) -> frozenset[str]:
    """Names the cell ``source`` may bind at its top level."""
    magic = split_cell_magic(source)
    body = magic[2] if magic is not None else source
    try:
        from .dataflow import analyze_tree

        _code, tree = parse_python(body)
        return frozenset(analyze_tree(tree).bound)
    except SyntaxError:
        pass
    found: set[str] = set()
    for line in body.splitlines():
        for pattern in _LINE_PATTERNS:
            found.update(pattern.findall(line))
        imported = _IMPORT.match(line)
        if imported:
            for part in imported.group(1).strip("() ").split(","):
                words = part.split()
                if words:
                    found.add(words[-1].split(".")[0])
            continue
        for pattern in _TARGETS:
            for target in pattern.findall(line):
                found.update(_NAME.findall(target))
    return frozenset(n for n in found if n.isidentifier() and not keyword.iskeyword(n))
