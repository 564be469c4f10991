"""Parsed cells -> StepGraph: which step reads what from whom, checked cell by cell.

The rule is the kernel's: walking the notebook top to bottom, a step reads the latest value
of each name written above it. The writer may be a step (an artifact edge), the parameters
cell, a pure definition (exported at module level), or something the flow cannot reproduce
(an untagged cell's code, a ``del``, a function defined inside a step that uses a step's
value): that last case is a located error, because the flow would compute something else
than the kernel did. On the way, seeds and options of untagged cells become the prelude
(prelude.py), a step's defs move to module level when they can (hoist.py), and changes
through names shared across steps are spread to all of them (sharing.py).
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import NotebookError
from .cells import Cell, CodeCell, ParamsCell, ParsedCell, StepCell
from .dataflow import CellFlow, analyze_tree
from .definitions import Definition, definition, is_ignorable
from .display import trailing_display
from .graph_errors import (
    module_name_clashes,
    observed_not_declared,
    setting_between_steps,
    settings_in_step,
    star_imports,
    undefined,
    unexportable,
    unreplayable_seed,
)
from .hoist import step_definitions
from .ordering import AUTO_HINT, AUTO_PACKAGES, BuiltStep, dedupe, order_steps
from .prelude import (
    STANDARD_ALIASES,
    PreludeEntry,
    PreludeStatement,
    classify_statement,
    module_aliases,
    seed_target,
)
from .sharing import Sharing
from .stepgraph import PARAMS, GraphStep, StepGraph

__all__ = [
    "AUTO_HINT",
    "AUTO_PACKAGES",
    "IMPLICIT",
    "PARAMS",
    "GraphStep",
    "PreludeEntry",
    "StepGraph",
    "build_graph",
]

BUILTINS = frozenset(dir(builtins)) | {"__name__", "__doc__", "__file__"}
HIDDEN_KINDS = frozenset({"loop", "with", "figure"})  # not a final artifact
# Names IPython gives every kernel that a plain module has to import.
IMPLICIT = {"display": "from IPython.display import display"}


WriterKind = Literal["step", "param", "def", "code", "stepdef", "lazydef", "deleted", "hidden"]


@dataclass(frozen=True)
class _Writer:
    """Who set a name last, walking the notebook down (``lazydef``: a def of a step that
    moves to module level, or not, when something first uses it)."""

    kind: WriterKind
    cell: Cell
    step: str | None = None
    definition: Definition | None = None
    blocker: tuple[str, str] | None = None  # stepdef: the value it closes over, its kind
    # lazydef (a def of a step, not used yet): the step and the writers' kinds it saw
    pending: tuple[StepCell, CellFlow, dict[str, str | None]] | None = None


class _Builder:
    def __init__(self, cells: list[ParsedCell], broken: Mapping[str, int]) -> None:
        self.cells = cells
        self.broken = broken  # name -> a cell that may bind it but could not be read
        self.current: dict[str, _Writer] = {}
        self.params: dict[str, Any] = {}
        self.steps: dict[str, BuiltStep] = {}
        self.needed: dict[tuple[int, int], Definition] = {}
        self.problems: list[NotebookError] = []
        self.all_writers: dict[str, list[Cell]] = {}
        self.constants: set[str] = set()  # module-level constants: prelude arguments
        self.aliases: dict[str, str] = dict(STANDARD_ALIASES)  # imports seen so far
        self.prelude: list[PreludeEntry] = []
        self.step_defs: dict[str, dict[str, tuple[Definition, tuple[str, str] | None]]] = {}
        self.seed_alias = False  # ``from numpy.random import seed``: calls not named "seed"
        at = [c.cell.index for c in cells if isinstance(c, StepCell)]
        self.first_step, self.last_step = (min(at), max(at)) if at else (0, 0)
        self.sharing = Sharing()  # names a step bound as aliases or containers of others

    def write(self, name: str, writer: _Writer) -> None:
        self.current[name] = writer
        self.all_writers.setdefault(name, []).append(writer.cell)
        if writer.kind == "def" and writer.definition and writer.definition.kind == "const":
            self.constants.add(name)
        else:
            self.constants.discard(name)

    # -- cells
    def code_cell(self, parsed: CodeCell) -> None:
        if parsed.tree is None:
            return
        if "import" in parsed.code:
            self._imported(module_aliases(parsed.tree))
        lines = parsed.code.split("\n")
        for i, stmt in enumerate(parsed.tree.body):
            if is_ignorable(stmt):
                continue
            found = definition(parsed.cell, parsed.code, lines, i, stmt)
            if found is not None:
                for name in found.names:
                    self.write(name, _Writer("def", parsed.cell, definition=found))
                continue
            if self._prelude(parsed, stmt):
                continue
            flow = analyze_tree(ast.Module(body=[stmt], type_ignores=[]))
            for name in (*flow.writes, *flow.deleted):
                self.write(name, _Writer("code", parsed.cell))

    def _imported(self, found: dict[str, str]) -> None:
        self.aliases.update(found)
        self.seed_alias |= any("seed" in target for target in found.values())

    def _prelude(self, parsed: CodeCell, stmt: ast.stmt) -> bool:
        """A seed or configuration statement: replayed at the start of every task."""
        cell = parsed.cell
        entry = classify_statement(stmt, self.aliases, self.constants)
        if entry is None:
            maybe = self.seed_alias or "seed" in parsed.code  # a cheap test first
            target = seed_target(stmt, self.aliases) if maybe else None
            if target is None or cell.index > self.last_step:
                return False  # exploration, or a seed no step runs after
            code = ast.get_source_segment(parsed.code, stmt) or ast.unparse(stmt)
            self.problems.append(unreplayable_seed(cell, stmt.lineno, target, code))
            return True
        if cell.index > self.last_step:
            return True  # no step runs after it: it changes nothing the flow computes
        source = ast.get_source_segment(parsed.code, stmt) or ast.unparse(stmt)
        if entry.kind == "config" and cell.index > self.first_step:
            above = next(s for s in self.steps.values() if s.cell.cell.index < cell.index)
            self.problems.append(setting_between_steps(cell, stmt.lineno, source, above.cell))
            return True
        statement = PreludeStatement(source, stmt.lineno, entry.kind, entry.generator)
        self.prelude.append(PreludeEntry(cell, statement))
        for name in analyze_tree(ast.Module(body=[stmt], type_ignores=[])).reads:
            writer = self.current.get(name)
            if writer is not None and writer.kind == "def":
                assert writer.definition is not None
                self._need(writer.definition, cell, set())
        return True

    def params_cell(self, parsed: ParamsCell) -> None:
        for name, value in parsed.values:
            self.params[name] = value
            self.write(name, _Writer("param", parsed.cell))

    def step_cell(self, parsed: StepCell) -> None:
        options, cell = parsed.options, parsed.cell
        if options.name in self.steps:
            first = self.steps[options.name].cell.cell
            raise cell.error(
                f"a step named {options.name!r} already exists (cell {first.index})",
                line=1,
                hint="give each %%step a different name",
            )
        if "import" in parsed.body:
            self._imported(module_aliases(parsed.tree))
        if cell.index < self.last_step:
            self.problems += settings_in_step(parsed, self.aliases)
        flow = analyze_tree(parsed.tree)
        item = options.foreach.item if options.foreach else None
        step = BuiltStep(parsed, flow, [item] if item else [], {}, {})
        if options.foreach:
            self._foreach_list(parsed, step)
        implicit = self._implicit_changes(parsed, flow)
        if options.inputs is not None:
            reads: list[tuple[str, bool]] = [(n, True) for n in options.inputs]
        else:
            reads = [(n, True) for n in flow.reads] + [(n, False) for n in flow.maybe_reads]
        reads += [(n, True) for n in implicit if n not in {r for r, _ in reads}]
        unresolved = []
        for name, definite in reads:
            if name != item and name not in step.inputs:
                try:
                    self._resolve(step, name, definite)
                except NotebookError as err:
                    unresolved.append(err)
        # the step still writes what it writes: a typo here is one error, not one more in
        # every step below that reads this step's values
        self._writes(parsed, step, implicit)
        self._link(parsed.options.name, step)
        if trailing_display(parsed.body, parsed.tree) is not None:
            step.show_last = True
            self._need_implicit("display")
        self.steps[options.name] = step
        self.problems += unresolved

    def _implicit_changes(self, parsed: StepCell, flow: CellFlow) -> list[str]:
        """In-place changes the code does not show: what the kernel observed, and objects
        shared (by an earlier step's ``b = a`` / ``data = [a, b]``) with what the code changes."""
        fresh = set(flow.bound) - set(flow.reads) - set(flow.maybe_reads)
        found = [n for n in dict.fromkeys(parsed.observed) if n not in fresh]  # else: a write
        declared = parsed.options.outputs
        for name in found:
            if declared is not None and name not in declared:
                self.problems.append(observed_not_declared(parsed.cell, parsed.options.name, name))
        changed = [n for n in (*flow.mutated, *found) if n not in flow.bound or n in flow.reads]
        for name in changed:
            for other in self._shared_with(name):
                if other not in found and other not in flow.writes:
                    found.append(other)
        return found

    def _shared_with(self, name: str) -> list[str]:
        """Names still sharing objects with ``name`` (see sharing.py); the step that linked
        them hands them all on, so the changing step gets them from one task."""
        out: list[str] = []
        for step, group in self.sharing.groups(name, self.current.get):
            for member in group:
                self._pass_through(step, member)
            out += [m for m in group if m != name]
        return out

    def _pass_through(self, step_name: str, name: str) -> None:
        writer = self.current.get(name)
        if writer is not None and writer.step == step_name:
            return
        step = self.steps[step_name]
        step.writes.setdefault(name, "value")
        self.write(name, _Writer("step", step.cell.cell, step=step_name))

    def _link(self, name: str, step: BuiltStep) -> None:
        """Remember ``b = a`` / ``data = [a, b]`` of a step, with each name's writer then."""
        if step.cell.options.outputs is not None:
            return  # declared outputs are exactly what the step hands on
        for bound, refs in step.flow.links:
            if bound not in step.writes:
                continue
            members: dict[str, _Writer] = {bound: self.current[bound]}
            for other in refs:
                writer = self.current.get(other)
                if writer is not None and writer.kind == "step":
                    members[other] = writer
            self.sharing.record(name, bound, members)

    def _foreach_list(self, parsed: StepCell, step: BuiltStep) -> None:
        assert parsed.options.foreach is not None
        items = parsed.options.foreach.items
        writer = self.current.get(items)
        if writer is None or writer.kind not in ("step", "param"):
            where = (
                f" (it is set by cell {writer.cell.index}, which is not a step)" if writer else ""
            )
            raise parsed.cell.error(
                f"--foreach list {items!r} is not written by an earlier step or a parameter{where}",
                line=1,
                hint=f"compute {items!r} in a %%step cell above, or declare it in %%params",
            )
        self._resolve(step, items, True, as_input=False)  # implied by foreach=

    def _resolve(
        self, step: BuiltStep, name: str, definite: bool, *, as_input: bool = True
    ) -> None:
        cell = step.cell.cell
        line = (step.flow.line_of(name) or 1) + step.cell.body_line - 1
        writer = self._settle(name) if name in self.current else None
        if writer is None:
            if name in BUILTINS or not definite:
                return
            if self.broken.get(name, cell.index) < cell.index:
                return  # that cell's own error says what to fix; this one may not be true
            if name in IMPLICIT:
                self._need_implicit(name)
                return
            raise self._undefined(cell, name, line)
        if writer.kind in ("step", "param"):
            if writer.kind == "step":
                assert writer.step is not None
                self.steps[writer.step].outputs.add(name)
            if as_input:
                step.inputs.append(name)
            step.sources[name] = writer.step or PARAMS
            return
        if not definite and writer.kind != "def":
            return
        if writer.kind == "def":
            assert writer.definition is not None
            if name in step.flow.bound and name in step.flow.reads:
                raise cell.error(
                    f"the step changes {name!r}, a module-level name defined in cell "
                    f"{writer.cell.index}",
                    line=line,
                    hint=f"declare {name!r} in %%params, or give the step's value another name",
                )
            self._need(writer.definition, cell, set())
            return
        raise self._unexportable(cell, name, line, writer)

    def _unexportable(self, cell: Cell, name: str, line: int, writer: _Writer) -> NotebookError:
        return unexportable(cell, name, line, writer.kind, writer.cell, writer.step, writer.blocker)

    def _undefined(self, cell: Cell, name: str, line: int) -> NotebookError:
        below = [c.index for c in self.all_writers.get(name, []) if c.index > cell.index]
        if not below:
            later = [c for c in self.cells if c.cell.index > cell.index]
            below = [c.cell.index for c in later if name in _bound_names(c)]
        return undefined(cell, name, line, below, {n: w.kind for n, w in self.current.items()})

    def _need(self, found: Definition, user: Cell, seen: set[str]) -> None:
        """The definition and, transitively, the module-level names its code uses."""
        if found.key in seen:
            return
        seen.add(found.key)
        self.needed[found.order] = found
        for name in found.free:
            writer = self._settle(name) if name in self.current else None
            if writer is None:
                if name in IMPLICIT:
                    self._need_implicit(name)
                continue
            if writer.kind == "def":
                assert writer.definition is not None
                self._need(writer.definition, user, seen)
            elif writer.kind != "hidden":
                what = f"step {writer.step!r}" if writer.step else f"cell {writer.cell.index}"
                raise found.cell.error(
                    f"{found.names[0]!r} uses {name!r}, which {what} sets; in the flow a "
                    "module-level function cannot see step values",
                    line=found.line,
                    hint=f"pass {name!r} to {found.names[0]!r} as an argument",
                )

    def _need_implicit(self, name: str) -> None:
        cell = Cell(0, None, IMPLICIT[name])
        order = (sys.maxsize, sorted(IMPLICIT).index(name))  # after the notebook's imports
        self.needed[order] = Definition(cell, order, IMPLICIT[name], (name,), "import", (), 1)

    def _writes(self, parsed: StepCell, step: BuiltStep, implicit: list[str]) -> None:
        name, cell, flow = parsed.options.name, parsed.cell, step.flow
        declared = parsed.options.outputs
        lines = parsed.body.split("\n")
        for i, stmt in enumerate(parsed.tree.body):  # imports are shared at module level
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                found = definition(cell, parsed.body, lines, i, stmt)
                if found is not None:
                    for bound in found.names:
                        self.write(bound, _Writer("def", cell, definition=found))
        seen = {n: self._writer_kind(n) for n in (*flow.reads, *flow.maybe_reads)}
        classes = []
        for out in [*flow.writes, *(n for n in implicit if n not in flow.writes)]:
            kind = flow.kind(out)
            if kind == "import":
                continue
            prior = self.current.get(out)
            if out not in flow.bound and prior is not None and prior.kind == "def":
                # plt.rcParams.update(...), sys.path.append(...): changes a module-level
                # object, not data; the module is not an artifact
                assert prior.definition is not None
                if prior.definition.kind != "const":
                    continue
            if declared is not None and out not in declared:
                self.write(out, _Writer("hidden", cell, step=name))
            elif kind in ("def", "class"):  # may move to module level: decided when used
                self.write(out, _Writer("lazydef", cell, step=name, pending=(parsed, flow, seen)))
                if kind == "class":
                    classes.append(out)
            else:
                step.writes[out] = kind
                self.write(out, _Writer("step", cell, step=name))
        for out in classes:  # its instances may be artifacts, and pickle finds classes
            writer = self._settle(out)  # at module level only: it moves whenever it can
            if writer.kind == "def" and writer.definition is not None:
                self._need(writer.definition, cell, set())
        for out in declared or ():
            if out not in step.writes:
                step.writes[out] = "value"
                self.write(out, _Writer("step", cell, step=name))
            step.outputs.add(out)
        for gone in flow.deleted:
            if declared is None or gone not in declared:
                self.write(gone, _Writer("deleted", cell, step=name))

    def _writer_kind(self, name: str) -> str | None:
        writer = self.current.get(name)
        return None if writer is None else writer.kind

    def _settle(self, name: str) -> _Writer:
        """The writer of ``name``, a step's def decided (module-level or not) on first use."""
        writer = self.current[name]
        if writer.kind != "lazydef" or writer.pending is None:
            return writer
        parsed, flow, seen = writer.pending
        key = parsed.options.name
        if key not in self.step_defs:
            self.step_defs[key] = {
                bound: (found.definition, found.blocker)
                for found in step_definitions(parsed, flow, seen.get)
                for bound in found.definition.names
            }
        made, why = self.step_defs[key].get(name, (None, ("", "step")))
        if made is not None and why is None:
            settled = _Writer("def", writer.cell, step=writer.step, definition=made)
        else:
            settled = _Writer("stepdef", writer.cell, step=writer.step, blocker=why)
        self.current[name] = settled
        return settled

    # -- whole notebook
    def build(self) -> None:
        for parsed in self.cells:
            if isinstance(parsed, StepCell):
                star_imports(parsed.cell, parsed.tree, parsed.body_line, self.problems)
            elif isinstance(parsed, CodeCell) and parsed.tree is not None:
                star_imports(parsed.cell, parsed.tree, 1, self.problems)
            try:
                if isinstance(parsed, StepCell):
                    self.step_cell(parsed)
                elif isinstance(parsed, ParamsCell):
                    self.params_cell(parsed)
                else:
                    self.code_cell(parsed)
            except NotebookError as err:
                self.problems.append(err)
        for name, writer in self.current.items():  # final values a user wants at the end
            if writer.kind == "step" and writer.step and not name.startswith("_"):
                step = self.steps[writer.step]
                if step.writes.get(name) not in HIDDEN_KINDS:
                    step.outputs.add(name)

    def hoisted(self) -> dict[str, tuple[int, ...]]:
        """Per step, the statements of its cell that moved to module level."""
        by_cell = {s.cell.cell.index: n for n, s in self.steps.items()}
        out: dict[str, list[int]] = {}
        for found in self.needed.values():
            step = by_cell.get(found.cell.index)
            if step is not None and found.kind in ("def", "class"):
                out.setdefault(step, []).append(found.order[1])
        return {step: tuple(sorted(idx)) for step, idx in out.items()}


def _bound_names(parsed: ParsedCell) -> set[str]:
    if isinstance(parsed, ParamsCell):
        return {n for n, _ in parsed.values}
    if isinstance(parsed, StepCell) or parsed.tree is not None:
        tree = parsed.tree
        assert tree is not None
        return set(analyze_tree(tree).bound)
    return set()


def build_graph(
    cells: list[ParsedCell],
    *,
    flow_name: str,
    notebook_name: str,
    broken: Mapping[str, int] | None = None,
) -> tuple[StepGraph, list[NotebookError]]:
    """The graph and every problem found (export refuses when there is any). ``broken``:
    name -> the first cell that could not be read and may bind it (``broken.py``)."""
    builder = _Builder(cells, broken or {})
    builder.build()
    steps = order_steps(builder.steps, builder.hoisted(), builder.problems)
    if not steps and not builder.problems:
        builder.problems.append(
            NotebookError(
                "the notebook has no %%step cells",
                hint="add '%%step NAME' as the first line of the cells that form the flow",
            )
        )
    taken = {n: d for d in builder.needed.values() for n in d.names}
    builder.problems += module_name_clashes(steps, taken, prelude=bool(builder.prelude))
    definitions = dedupe(builder.needed, builder.problems)
    graph = StepGraph(
        flow_name=flow_name,
        notebook_name=notebook_name,
        parameters=tuple(builder.params.items()),
        definitions=definitions,
        steps=tuple(steps),
        prelude=tuple(builder.prelude),
    )
    return graph, builder.problems
