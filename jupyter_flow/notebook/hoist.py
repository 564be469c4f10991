"""Functions and classes defined inside a step cell, moved to module level when they can be.

A user who needs a step's helper in a later step moves the ``def`` to an untagged cell; the
export does the same when the ``def`` uses only module-level names (imports, definitions,
constants, builtins, other movable definitions of the cell). One that uses a value of the
step or a parameter cannot move: the flow would call it without that value.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from .cells import StepCell
from .dataflow import CellFlow
from .definitions import Definition, definition


@dataclass(frozen=True)
class StepDef:
    """A top-level ``def``/``class`` of a step cell and why it cannot move (None: it can)."""

    definition: Definition  # line is the cell's line
    index: int  # statement index in the step body
    blocker: tuple[str, str] | None  # the value it closes over, and its kind ("step", ...)


def step_definitions(
    parsed: StepCell, flow: CellFlow, writer_kind: Callable[[str], str | None]
) -> list[StepDef]:
    """Every top-level def/class of the step with what blocks hoisting it. ``writer_kind``:
    the kind of the latest writer of a name above the step ("def", "step", "param", ...)."""
    lines = parsed.body.split("\n")
    found: dict[str, tuple[Definition, int]] = {}
    for i, stmt in enumerate(parsed.tree.body):
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            made = definition(parsed.cell, parsed.body, lines, i, stmt)
            if made is not None:
                made = dataclasses.replace(made, line=made.line + parsed.body_line - 1)
                found[stmt.name] = (made, i)
    blocked: dict[str, tuple[str, str]] = {}
    for name, (made, _) in found.items():
        for free in made.free:
            if free in found:
                continue  # decided below, once every definition's own blocker is known
            kind = _kind_of(free, flow, writer_kind)
            if kind is not None:
                blocked[name] = (free, kind)
                break
    changed = True
    while changed:  # a def using a def that cannot move cannot move either
        changed = False
        for name, (made, _) in found.items():
            if name in blocked:
                continue
            for free in made.free:
                if free in blocked and free in found:
                    blocked[name] = blocked[free]
                    changed = True
                    break
    return [StepDef(made, i, blocked.get(name)) for name, (made, i) in found.items()]


def _kind_of(name: str, flow: CellFlow, writer_kind: Callable[[str], str | None]) -> str | None:
    """None when ``name`` is module-level for a moved definition, else what it is."""
    if name in flow.bound:
        return None if flow.kind(name) == "import" else "step"
    kind = writer_kind(name)
    if kind is None or kind == "def":
        return None  # a builtin, an implicit name, or a module-level definition
    return kind
