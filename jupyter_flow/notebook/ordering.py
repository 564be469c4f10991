"""Resolved steps -> GraphSteps in notebook order: implied orderings, cycles, definitions.

When two steps write the same final value, the later one must run after the earlier one so
the flow ends with the kernel's value; ``--after`` may add orderings, which must not cycle.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ..errors import NotebookError
from .cells import StepCell
from .dataflow import CellFlow
from .definitions import Definition
from .stepgraph import PARAMS, GraphStep

AUTO_PACKAGES = (
    "--packages auto is resolved by the kernel when the cell runs with --on, not on export"
)
AUTO_HINT = 'list the requirements, e.g. --packages "pandas==2.2" (--on local shows the pins)'


@dataclass
class BuiltStep:
    """A step while the graph is built (mutable: later steps add to its outputs)."""

    cell: StepCell
    flow: CellFlow
    inputs: list[str]
    sources: dict[str, str]
    writes: dict[str, str]  # artifact name -> kind
    outputs: set[str] = field(default_factory=set)
    show_last: bool = False


def order_steps(
    steps: dict[str, BuiltStep],
    hoisted: dict[str, tuple[int, ...]],
    problems: list[NotebookError],
) -> list[GraphStep]:
    """Steps with outputs in write order, implied orderings, and cycle detection."""
    order = list(steps)
    ancestors: dict[str, set[str]] = {}
    writers: dict[str, list[str]] = {}
    result: list[GraphStep] = []
    for name in order:
        step = steps[name]
        opts = step.cell.options
        outputs = tuple(n for n in step.writes if n in step.outputs)
        after = list(opts.after)
        for bad in [a for a in after if a not in steps]:
            close = difflib.get_close_matches(bad, order, n=1)
            problems.append(
                step.cell.cell.error(
                    f"--after {bad!r} names no step",
                    line=1,
                    hint=f"did you mean {close[0]!r}?" if close else f"steps: {', '.join(order)}",
                )
            )
            after.remove(bad)
        ups = {src for src in step.sources.values() if src != PARAMS} | set(after)
        mine = set().union(*(ancestors.get(u, set()) | {u} for u in ups)) if ups else set()
        for out in outputs:  # an earlier writer of the same output must finish first
            for other in writers.get(out, []):
                if other not in mine and other not in after:
                    after.append(other)
                    mine |= ancestors.get(other, set()) | {other}
            writers.setdefault(out, []).append(name)
        ancestors[name] = mine
        if "auto" in step.cell.packages:
            problems.append(step.cell.cell.error(AUTO_PACKAGES, line=1, hint=AUTO_HINT))
        result.append(
            GraphStep(
                name=name,
                cell=step.cell.cell,
                options=opts,
                body=step.cell.body,
                tree=step.cell.tree,
                packages=step.cell.packages,
                inputs=tuple(step.inputs),
                outputs=outputs,
                sources=tuple(step.sources.items()),
                after=tuple(after),
                hoisted=hoisted.get(name, ()),
                show_last=step.show_last,
            )
        )
    _check_cycles(result, problems)
    return result


def _check_cycles(steps: list[GraphStep], problems: list[NotebookError]) -> None:
    ups = {s.name: s.upstream for s in steps}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for up in ups.get(name, ()):
            if state.get(up) == 1:
                return [*path[path.index(up) :], name] if up in path else [up, name]
            if up not in state:
                found = visit(up, [*path, up])
                if found:
                    return found
        state[name] = 2
        return None

    for step in steps:
        if step.name not in state:
            cycle = visit(step.name, [step.name])
            if cycle:
                culprit = next(s for s in steps if s.name in cycle and s.options.after)
                problems.append(
                    culprit.cell.error(
                        f"--after makes a cycle: {' -> '.join(dict.fromkeys(cycle))}",
                        line=1,
                        hint="a step cannot wait for a step that (indirectly) waits for it",
                    )
                )
                return


def dedupe(
    needed: dict[tuple[int, int], Definition], problems: list[NotebookError]
) -> tuple[Definition, ...]:
    """Needed definitions in notebook order, each once; a name defined twice is an error."""
    seen: dict[str, Definition] = {}
    owner: dict[str, Definition] = {}
    out = []
    for key in sorted(needed):
        found = needed[key]
        if found.key in seen:
            continue
        seen[found.key] = found
        for name in found.names:
            prev = owner.get(name)
            if prev is not None and found.kind != "import":
                problems.append(
                    found.cell.error(
                        f"{name!r} is defined twice (cells {prev.cell.index} and "
                        f"{found.cell.index}) and steps use both versions",
                        line=found.line,
                        hint="give the second definition another name",
                    )
                )
            owner[name] = found
        out.append(found)
    return tuple(out)
