"""Which cell line each line of a step function came from, written into its ``# cell`` marker.

Export moves a cell's code into a function, then blank lines are collapsed, definitions
hoisted, and ruff may join or split lines, so line ``k`` of the function is not line ``k`` of
the cell. This pass runs on the final module text: it pairs the function's statements with
the cell's (their syntax trees are equal; ``display(x)`` pairs with the bare ``x``), takes
each module line's cell line from the first node that starts on it, and, when the result is
not the plain "line for line from cell line 2", appends it to the marker::

    # cell 6 (id: 3f2a9c), lines 2-5, 7, 7, 8-12

The reader is runtime/tracemap.py (the grammar is described there); tracebacks of the run
then name the cell line exactly, for unformatted and formatted modules alike.
"""

from __future__ import annotations

import ast
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from ..flow.markers import MARKER, format_lines, header_end
from .cells import split_cell_magic

if TYPE_CHECKING:
    from .graph import GraphStep, StepGraph

_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def annotate(source: str, graph: StepGraph) -> str:
    """``source`` with a ``lines`` list on each step marker that needs one; never raises
    (a module it cannot read is returned as it is: the runtime then shows module lines)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.split("\n")
    functions = {
        n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    for step in graph.steps:
        func = functions.get(step.name)
        if func is None or not func.decorator_list:
            continue
        row = func.decorator_list[0].lineno - 2
        found = MARKER.match(lines[row]) if row >= 0 else None
        if found is None or found.group(3):  # no marker, or lines already given
            continue
        try:
            cell_lines = step_lines(lines, func, step)
        except Exception:  # our bug: say the lines are unknown rather than guess them
            cell_lines = [None]
        if cell_lines is None:
            continue
        if cell_lines != list(range(2, 2 + len(cell_lines))):
            lines[row] += f", lines {format_lines(cell_lines)}"
    return "\n".join(lines)


def step_lines(
    lines: list[str], func: ast.FunctionDef | ast.AsyncFunctionDef, step: GraphStep
) -> list[int | None] | None:
    """The cell line of each module line after ``func``'s header, up to its last cell code."""
    head = header_end(lines, func.lineno, func.body[0].lineno)
    body = list(func.body)
    if body and isinstance(body[-1], ast.Return):
        body.pop()  # added by export for the outputs
    if not body:
        return None
    magic = split_cell_magic(step.cell.source)
    offset = (magic[3] if magic else 1) - 1  # the cell line where the step's code starts
    found: dict[int, tuple[int, int]] = {}  # module line -> (column, cell line)
    for module_node, cell_node in _align(body, list(step.tree.body)):
        line = getattr(module_node, "lineno", None)
        cell_line = getattr(cell_node, "lineno", None)
        if line is None or cell_line is None:
            continue
        col = getattr(module_node, "col_offset", 0)
        if line not in found or col < found[line][0]:
            found[line] = (col, cell_line + offset)
    last = max((getattr(n, "end_lineno", None) or n.lineno for n in body), default=head)
    if not found:
        return None
    # code export changed beyond pairing: its lines are unknown ("?"), never guessed
    starts = {n.lineno for s in body for n in ast.walk(s) if isinstance(n, ast.stmt | ast.expr)}
    return _fill(found, head + 1, last, starts - set(found))


def _fill(
    found: dict[int, tuple[int, int]], first: int, last: int, unknown: set[int]
) -> list[int | None]:
    """Lines with no node of their own (comments, blanks, closing brackets) are placed
    counting back from the next placed line, never before the line above."""
    placed = sorted(found)
    out: list[int | None] = []
    prev: tuple[int, int] | None = None
    nxt = 0
    for line in range(first, last + 1):
        if line in found:
            prev = (line, found[line][1])
            out.append(prev[1])
            continue
        if line in unknown:
            out.append(None)
            continue
        while nxt < len(placed) and placed[nxt] <= line:
            nxt += 1
        guess: int | None = None
        if nxt < len(placed):
            guess = found[placed[nxt]][1] - (placed[nxt] - line)
            if prev is not None:
                guess = max(guess, prev[1])
        elif prev is not None:
            guess = prev[1] + (line - prev[0])
        out.append(guess if guess is None or guess >= 1 else None)
    return out


def _unwrap(stmt: ast.stmt) -> ast.AST:
    """``display(x)`` (what export makes of a trailing expression) -> ``x``."""
    value = getattr(stmt, "value", None)
    if (
        isinstance(stmt, ast.Expr)
        and isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "display"
        and len(value.args) == 1
        and not value.keywords
    ):
        return ast.Expr(value=value.args[0])
    return stmt


def _align(module: list[ast.stmt], cell: list[ast.stmt]) -> list[tuple[ast.AST, ast.AST]]:
    """Pairs of corresponding nodes of two statement lists (statements export removed or
    changed beyond recognition are left unpaired)."""
    keys_m = [ast.dump(_unwrap(s)) for s in module]
    keys_c = [ast.dump(s) for s in cell]
    pairs: list[tuple[ast.AST, ast.AST]] = []
    matcher = SequenceMatcher(None, keys_m, keys_c, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for m, c in zip(module[i1:i2], cell[j1:j2], strict=True):
                pairs += _pair(m, c, same=tag == "equal")
    return pairs


def _pair(module: ast.stmt, cell: ast.stmt, *, same: bool = False) -> list[tuple[ast.AST, ast.AST]]:
    """``same``: the caller compared the two already (dumping trees is this pass's cost)."""
    inner = _unwrap(module)
    if same or ast.dump(inner) == ast.dump(cell):
        pairs = list(zip(ast.walk(inner), ast.walk(cell), strict=True))
        if inner is not module:  # the synthetic Expr has no position: use the statement's
            pairs[0] = (module, cell)
        return pairs
    if type(module) is not type(cell):
        return []
    pairs = [(module, cell)]  # same kind, changed inside (a docstring ruff re-indented)
    for name in _BLOCKS:
        m, c = getattr(module, name, None), getattr(cell, name, None)
        if isinstance(m, list) and isinstance(c, list):
            pairs += _align_any(m, c)
    return pairs


def _align_any(module: list[ast.AST], cell: list[ast.AST]) -> list[tuple[ast.AST, ast.AST]]:
    if all(isinstance(n, ast.stmt) for n in module + cell):
        return _align(module, cell)  # type: ignore[arg-type]
    if len(module) != len(cell):
        return []
    pairs: list[tuple[ast.AST, ast.AST]] = []
    for m, c in zip(module, cell, strict=True):  # except handlers, match cases
        pairs.append((m, c))
        for name in _BLOCKS:
            mb, cb = getattr(m, name, None), getattr(c, name, None)
            if isinstance(mb, list) and isinstance(cb, list):
                pairs += _align_any(mb, cb)
    return pairs
