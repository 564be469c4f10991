"""The resolved graph the notebook half hands to codegen (and the kernel to its one-cell
modules): steps with their parameters, outputs and upstream steps, module-level
definitions, and the prelude every task starts from."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from .cells import Cell, StepOptions
from .definitions import Definition
from .prelude import PreludeEntry

PARAMS = "_parameters"


@dataclass(frozen=True)
class GraphStep:
    """One step, resolved: its function's parameters, outputs and upstream steps."""

    name: str
    cell: Cell
    options: StepOptions
    body: str
    tree: ast.Module = field(compare=False, repr=False)
    packages: tuple[str, ...]
    inputs: tuple[str, ...]  # the function's parameters (foreach item first)
    outputs: tuple[str, ...]  # what it returns, in this order
    sources: tuple[tuple[str, str], ...]  # input -> producing step or PARAMS
    after: tuple[str, ...]  # explicit --after plus orderings implied by shared outputs
    hoisted: tuple[int, ...] = ()  # top-level statements moved to module level (indexes)
    show_last: bool = False  # the last statement is an Out[] value: display() it

    @property
    def upstream(self) -> tuple[str, ...]:
        found = [src for _, src in self.sources if src != PARAMS]
        return tuple(dict.fromkeys([*found, *self.after]))


@dataclass(frozen=True)
class StepGraph:
    flow_name: str
    notebook_name: str
    parameters: tuple[tuple[str, Any], ...]
    definitions: tuple[Definition, ...]  # what the steps need, in notebook order
    steps: tuple[GraphStep, ...]
    prelude: tuple[PreludeEntry, ...] = ()  # seeds and configuration, in notebook order

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        return tuple((up, s.name) for s in self.steps for up in s.upstream)

    def seeds(self) -> dict[str, PreludeEntry]:
        """The last seeding statement per global generator ("numpy", "random", ...)."""
        found: dict[str, PreludeEntry] = {}
        for entry in self.prelude:
            if entry.statement.kind == "seed" and entry.statement.generator:
                found[entry.statement.generator] = entry
        return found
