"""Parsed cells -> StepGraph: which step reads what from whom, checked cell by cell.

The rule is the kernel's: walking the notebook top to bottom, a step reads the latest value
of each name written above it. The writer may be a step (an artifact edge), the parameters
cell, a pure definition (exported at module level), or something the flow cannot reproduce
(an untagged cell's code, a ``del``, a function defined inside a step): that last case is a
located error, because the flow would compute something else than the kernel did.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import NotebookError
from .cells import Cell, CodeCell, ParamsCell, ParsedCell, StepCell, StepOptions
from .dataflow import CellFlow, analyze_tree
from .definitions import Definition, definition, is_ignorable

PARAMS = "_parameters"
BUILTINS = frozenset(dir(builtins)) | {"__name__", "__doc__", "__file__"}
NOTEBOOK_ONLY = re.compile(r"^(get_ipython|In|Out|_+|_\d+|_i+\d*|_[ido]h)$")
HIDDEN_KINDS = frozenset({"loop", "with"})  # bound as a side effect: not a final artifact
# Names IPython gives every kernel that a plain module has to import.
IMPLICIT = {"display": "from IPython.display import display"}


AUTO_PACKAGES = (
    "--packages auto is resolved by the kernel when the cell runs with --on, not on export"
)
AUTO_HINT = 'list the requirements, e.g. --packages "pandas==2.2" (--on local shows the pins)'


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

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        return tuple((up, s.name) for s in self.steps for up in s.upstream)


@dataclass(frozen=True)
class _Writer:
    kind: str  # "step" | "param" | "def" | "code" | "stepdef" | "deleted" | "hidden"
    cell: Cell
    step: str | None = None
    definition: Definition | None = None


@dataclass
class _Step:
    cell: StepCell
    flow: CellFlow
    inputs: list[str]
    sources: dict[str, str]
    writes: dict[str, str]  # artifact name -> kind
    outputs: set[str] = field(default_factory=set)


class _Builder:
    def __init__(self, cells: list[ParsedCell]) -> None:
        self.cells = cells
        self.current: dict[str, _Writer] = {}
        self.params: dict[str, Any] = {}
        self.steps: dict[str, _Step] = {}
        self.needed: dict[tuple[int, int], Definition] = {}
        self.problems: list[NotebookError] = []
        self.all_writers: dict[str, list[Cell]] = {}
        self.step_names = [c.options.name for c in cells if isinstance(c, StepCell)]

    def write(self, name: str, writer: _Writer) -> None:
        self.current[name] = writer
        self.all_writers.setdefault(name, []).append(writer.cell)

    # -- cells
    def code_cell(self, parsed: CodeCell) -> None:
        if parsed.tree is None:
            return
        lines = parsed.code.split("\n")
        for i, stmt in enumerate(parsed.tree.body):
            if is_ignorable(stmt):
                continue
            found = definition(parsed.cell, parsed.code, lines, i, stmt)
            if found is not None:
                for name in found.names:
                    self.write(name, _Writer("def", parsed.cell, definition=found))
                continue
            flow = analyze_tree(ast.Module(body=[stmt], type_ignores=[]))
            for name in (*flow.writes, *flow.deleted):
                self.write(name, _Writer("code", parsed.cell))

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
        flow = analyze_tree(parsed.tree)
        item = options.foreach.item if options.foreach else None
        step = _Step(parsed, flow, [item] if item else [], {}, {})
        if options.foreach:
            self._foreach_list(parsed, step)
        if options.inputs is not None:
            reads: list[tuple[str, bool]] = [(n, True) for n in options.inputs]
        else:
            reads = [(n, True) for n in flow.reads] + [(n, False) for n in flow.maybe_reads]
        for name, definite in reads:
            if name != item and name not in step.inputs:
                self._resolve(step, name, definite)
        self._writes(parsed, step)
        self.steps[options.name] = step

    def _foreach_list(self, parsed: StepCell, step: _Step) -> None:
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

    def _resolve(self, step: _Step, name: str, definite: bool, *, as_input: bool = True) -> None:
        cell = step.cell.cell
        line = (step.flow.line_of(name) or 1) + step.cell.body_line - 1
        writer = self.current.get(name)
        if writer is None:
            if name in BUILTINS or not definite:
                return
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
        src = writer.cell
        if writer.kind == "code":
            return cell.error(
                f"reads {name!r}, which was last set by cell {src.index} "
                f"({src.first_line.strip()[:50]!r}), a cell that is not a step",
                line=line,
                hint=f"tag cell {src.index} with %%step NAME, or move that code into this step",
            )
        if writer.kind == "stepdef":
            return cell.error(
                f"reads {name!r}, a function or class defined inside step {writer.step!r} "
                f"(cell {src.index}), which the flow cannot hand to another step",
                line=line,
                hint=f"move the definition of {name!r} to an untagged cell above",
            )
        if writer.kind == "hidden":
            return cell.error(
                f"reads {name!r}, which step {writer.step!r} (cell {src.index}) sets but does "
                "not list in its --outputs",
                line=line,
                hint=f"add {name!r} to --outputs of step {writer.step!r}",
            )
        return cell.error(
            f"reads {name!r}, which step {writer.step!r} (cell {src.index}) deleted with del",
            line=line,
            hint=f"remove the del, or stop reading {name!r} here",
        )

    def _undefined(self, cell: Cell, name: str, line: int) -> NotebookError:
        if NOTEBOOK_ONLY.match(name):
            return cell.error(
                f"{name!r} exists only in a notebook kernel",
                line=line,
                hint="use a variable name instead of IPython's history and helpers",
            )
        below = [c.index for c in self.all_writers.get(name, []) if c.index > cell.index]
        later = [c for c in self.cells if c.cell.index > cell.index]
        if not below:
            below = [c.cell.index for c in later if name in _bound_names(c)]
        if below:
            hint = f"it is set further down, in cell {below[0]}: move that cell above this one"
        else:
            close = difflib.get_close_matches(name, list(self.current), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "define it in a cell above"
        return cell.error(f"reads {name!r}, which no cell above defines", line=line, hint=hint)

    def _need(self, found: Definition, user: Cell, seen: set[str]) -> None:
        """The definition and, transitively, the module-level names its code uses."""
        if found.key in seen:
            return
        seen.add(found.key)
        self.needed[found.order] = found
        for name in found.free:
            writer = self.current.get(name)
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

    def _writes(self, parsed: StepCell, step: _Step) -> None:
        name, cell, flow = parsed.options.name, parsed.cell, step.flow
        declared = parsed.options.outputs
        lines = parsed.body.split("\n")
        for i, stmt in enumerate(parsed.tree.body):  # imports are shared at module level
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                found = definition(cell, parsed.body, lines, i, stmt)
                if found is not None:
                    for bound in found.names:
                        self.write(bound, _Writer("def", cell, definition=found))
        for out in flow.writes:
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
            elif kind in ("def", "class"):
                self.write(out, _Writer("stepdef", cell, step=name))
            else:
                step.writes[out] = kind
                self.write(out, _Writer("step", cell, step=name))
        for out in declared or ():
            if out not in step.writes:
                step.writes[out] = "value"
                self.write(out, _Writer("step", cell, step=name))
            step.outputs.add(out)
        for gone in flow.deleted:
            if declared is None or gone not in declared:
                self.write(gone, _Writer("deleted", cell, step=name))

    # -- whole notebook
    def build(self) -> None:
        for parsed in self.cells:
            if isinstance(parsed, StepCell):
                _check_star(parsed.cell, parsed.tree, parsed.body_line, self.problems)
            elif isinstance(parsed, CodeCell) and parsed.tree is not None:
                _check_star(parsed.cell, parsed.tree, 1, self.problems)
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


def _bound_names(parsed: ParsedCell) -> set[str]:
    if isinstance(parsed, ParamsCell):
        return {n for n, _ in parsed.values}
    if isinstance(parsed, StepCell) or parsed.tree is not None:
        tree = parsed.tree
        assert tree is not None
        return set(analyze_tree(tree).bound)
    return set()


def _check_star(
    cell: Cell, tree: ast.Module, body_line: int, problems: list[NotebookError]
) -> None:
    for node in tree.body:  # Python allows ``import *`` only at module level
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            problems.append(
                cell.error(
                    f"'from {node.module} import *' hides which names the cell uses",
                    line=node.lineno + body_line - 1,
                    hint=f"import the names you use: from {node.module} import a, b",
                )
            )


def _order(builder: _Builder) -> list[GraphStep]:
    """Steps with outputs in write order, implied orderings, and cycle detection."""
    order = list(builder.steps)
    ancestors: dict[str, set[str]] = {}
    writers: dict[str, list[str]] = {}
    result: list[GraphStep] = []
    for name in order:
        step = builder.steps[name]
        opts = step.cell.options
        outputs = tuple(n for n in step.writes if n in step.outputs)
        after = list(opts.after)
        for bad in [a for a in after if a not in builder.steps]:
            close = difflib.get_close_matches(bad, order, n=1)
            builder.problems.append(
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
            builder.problems.append(step.cell.cell.error(AUTO_PACKAGES, line=1, hint=AUTO_HINT))
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
            )
        )
    _check_cycles(result, builder.problems)
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


def build_graph(
    cells: list[ParsedCell], *, flow_name: str, notebook_name: str
) -> tuple[StepGraph, list[NotebookError]]:
    """The graph and every problem found (export refuses when there is any)."""
    builder = _Builder(cells)
    builder.build()
    steps = _order(builder)
    if not steps and not builder.problems:
        builder.problems.append(
            NotebookError(
                "the notebook has no %%step cells",
                hint="add '%%step NAME' as the first line of the cells that form the flow",
            )
        )
    taken = {n: d for d in builder.needed.values() for n in d.names}
    for step in steps:
        if step.name in taken or step.name in ("flow", "Flow"):
            builder.problems.append(
                step.cell.error(
                    f"step name {step.name!r} is also a module-level name"
                    + (f" (cell {taken[step.name].cell.index})" if step.name in taken else ""),
                    line=1,
                    hint="rename the step",
                )
            )
    definitions = _dedupe(builder.needed, builder.problems)
    graph = StepGraph(
        flow_name=flow_name,
        notebook_name=notebook_name,
        parameters=tuple(builder.params.items()),
        definitions=definitions,
        steps=tuple(steps),
    )
    return graph, builder.problems


def _dedupe(
    needed: dict[tuple[int, int], Definition], problems: list[NotebookError]
) -> tuple[Definition, ...]:
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
