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
