"""What a cell reads, binds and mutates, from its code alone (``ast``), with Python's scoping.

A cell runs at module scope, so a name is an *input* when it is loaded at a point where
the cell has not definitely bound it yet. Comprehensions, lambdas, nested ``def``/``class``
have their own scopes: their free variables are reads of the cell. A name is *mutated* when
the cell changes the object in place (``x[k] = v``, ``x.a = v``, ``del x[k]``, ``x += v``,
``x.append(v)``, ``x.fit(X)``, ``x.method(..., inplace=True)``, ...): the step then writes it,
so the flow hands the changed object downstream exactly as the kernel does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from .display import value_kind
from .mutation import loop_refs, mutated_root, root_name, value_refs
from .scopes import Kind, def_outer_exprs, free_of, walk_store


@dataclass(frozen=True)
class CellFlow:
    """The dataflow of one cell's code. Tuples keep first-seen order (deterministic output)."""

    reads: tuple[str, ...]  # loaded before the cell definitely binds them
    maybe_reads: tuple[str, ...]  # free in a nested scope, but bound later in the cell
    bound: tuple[str, ...]  # (re)bound at cell scope and still bound at the end
    kinds: tuple[tuple[str, Kind], ...]  # how each bound name was last bound
    mutated: tuple[str, ...]  # changed in place
    deleted: tuple[str, ...]  # unbound by ``del`` at the end of the cell
    read_lines: tuple[tuple[str, int], ...]  # first line (1-based) each read happens on
    # bound names that may share objects with others: ``b = a``, ``data = [a, b]``
    links: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def writes(self) -> tuple[str, ...]:
        """Names whose value after the cell may differ from before: bound or mutated."""
        out = list(self.bound)
        out += [n for n in self.mutated if n not in self.bound and n not in self.deleted]
        return tuple(out)

    @cached_property
    def _kinds(self) -> dict[str, Kind]:
        return dict(self.kinds)

    @cached_property
    def _lines(self) -> dict[str, int]:
        return dict(self.read_lines)

    def kind(self, name: str) -> Kind:
        return self._kinds.get(name, "value")

    def line_of(self, name: str) -> int | None:
        return self._lines.get(name)


class _Cell(ast.NodeVisitor):
    """Module-scope analysis, flow-sensitive enough for "read before definitely bound"."""

    def __init__(self) -> None:
        self.defined: set[str] = set()
        self.reads: dict[str, int] = {}
        self.nested_free: dict[str, int] = {}
        self.bound: dict[str, Kind] = {}
        self.mutated: dict[str, int] = {}
        self.deleted: set[str] = set()
        self.comp_locals: list[set[str]] = []
        self.refs: dict[str, set[str]] = {}  # name -> names a change through it also changes
        self.comp_refs: dict[str, set[str]] = {}

    # -- primitives
    def load(self, name: str, line: int) -> None:
        if name in self.defined or name in self.reads:
            return
        if name in self.bound:  # bound on some path before (a branch, a try): maybe unbound
            self.nested_free.setdefault(name, line)
        else:
            self.reads[name] = line

    def bind(self, name: str, kind: Kind) -> None:
        self.defined.add(name)
        self.bound.pop(name, None)
        self.bound[name] = kind
        self.deleted.discard(name)

    def mutate(self, name: str, line: int) -> None:
        self.load(name, line)
        self.mutated.setdefault(name, line)
        for other in sorted(self.refs.get(name, ())):  # through an alias: what it aliases
            if other not in self.mutated:
                self.load(other, line)
                self.mutated[other] = line

    def link(self, found: dict[str, set[str]]) -> None:
        """Record aliasing, flow-insensitively (a rebinding does not undo it: safe side)."""
        for name, refs in found.items():
            refs = refs - {name}
            if refs:
                self.refs.setdefault(name, set()).update(refs)

    def nested(self, node: ast.AST) -> None:
        free, global_writes, mutated = free_of(node)
        for name, line in free.items():
            if name not in self.defined:
                self.nested_free.setdefault(name, line)
        for name, kind in global_writes.items():
            self.bound.setdefault(name, kind)
        for name, line in mutated.items():
            self.mutated.setdefault(name, line)
            if name not in self.defined:
                self.nested_free.setdefault(name, line)

    def branches(self, *blocks: Iterable[ast.stmt]) -> None:
        """Run alternative blocks from the same state; afterwards only what all bound is sure."""
        before = set(self.defined)
        after: set[str] | None = None
        for block in blocks:
            self.defined = set(before)
            self.block(block)
            after = set(self.defined) if after is None else after & self.defined
        self.defined = before | (after or set())

    def block(self, stmts: Iterable[ast.stmt]) -> None:
        for stmt in stmts:
            self.visit(stmt)

    def store(self, target: ast.expr, kind: Kind) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, kind)
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self.store(elt, kind)
        elif isinstance(target, ast.Starred):
            self.store(target.value, kind)
        elif isinstance(target, ast.Attribute | ast.Subscript):
            self.visit(target)  # loads the object, the index
            root = root_name(target)
            if root is not None:
                self.mutate(root, target.lineno)

    # -- expressions
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and not any(node.id in s for s in self.comp_locals):
            self.load(node.id, node.lineno)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.visit(node.value)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.visit(node.value)
        self.visit(node.slice)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        root = mutated_root(node)
        if root is None:
            return
        if not any(root in s for s in self.comp_locals):
            self.mutate(root, node.lineno)
        else:  # [d.fillna(0, inplace=True) for d in data] changes data
            for other in sorted(self.comp_refs.get(root, ())):
                self.mutate(other, node.lineno)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.bind(node.target.id, "value")

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for expr in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(expr)
        self.nested(node)

    def _comp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        # Comprehensions run now: their free names are immediate reads.
        local: set[str] = set()
        self.visit(node.generators[0].iter)
        self.comp_locals.append(local)
        try:
            for i, gen in enumerate(node.generators):
                if i:
                    self.visit(gen.iter)
                walk_store(gen.target, local)
                for name, refs in loop_refs(gen.target, gen.iter, self.refs).items():
                    self.comp_refs.setdefault(name, set()).update(refs - local)
                for cond in gen.ifs:
                    self.visit(cond)
            if isinstance(node, ast.DictComp):
                self.visit(node.key)
                self.visit(node.value)
            else:
                self.visit(node.elt)
        finally:
            self.comp_locals.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comp

    # -- statements
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        kind = "def" if isinstance(node.value, ast.Lambda) else value_kind(node.value)
        for target in node.targets:
            self.store(target, kind)
            value = node.value
            if isinstance(target, ast.Name):
                self.link({target.id: value_refs(value, self.refs)})
            elif (  # a, b = x, y: pairwise
                isinstance(target, ast.Tuple | ast.List)
                and isinstance(value, ast.Tuple | ast.List)
                and len(target.elts) == len(value.elts)
            ):
                for elt, part in zip(target.elts, value.elts, strict=True):
                    self.link(loop_refs(elt, ast.List([part], ast.Load()), self.refs))
            elif isinstance(target, ast.Tuple | ast.List):
                self.link(loop_refs(target, value, self.refs))
            elif isinstance(target, ast.Attribute | ast.Subscript):  # box.data = df
                root = root_name(target)
                if root is not None:
                    self.link({root: value_refs(value, self.refs)})

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self.store(node.target, "value")

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        target = node.target
        if isinstance(target, ast.Name):
            self.load(target.id, node.lineno)
            self.mutated.setdefault(target.id, node.lineno)
            self.bind(target.id, "value")
        else:
            self.store(target, "value")

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.load(target.id, node.lineno)
                self.defined.discard(target.id)
                self.bound.pop(target.id, None)
                self.deleted.add(target.id)
            elif isinstance(target, ast.Tuple | ast.List):
                self.visit_Delete(ast.Delete(targets=list(target.elts), lineno=node.lineno))
            else:
                self.store(target, "value")

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.bind(alias.asname or alias.name.split(".")[0], "import")

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for expr in def_outer_exprs(node):
            self.visit(expr)
        self.nested(node)
        self.bind(node.name, "def")

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self.nested(node)
        self.bind(node.name, "class")

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        self.branches(node.body, node.orelse)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        before = set(self.defined)
        self.store(node.target, "loop")
        self.link(loop_refs(node.target, node.iter, self.refs))
        self.block(node.body)
        self.defined = before  # the loop may run zero times
        self.block(node.orelse)

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        self.visit(node.test)
        self.branches(node.body, [])
        self.block(node.orelse)

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.store(item.optional_vars, "with")
                self.link(loop_refs(item.optional_vars, item.context_expr, self.refs))
        self.block(node.body)

    visit_AsyncWith = visit_With

    def visit_Try(self, node: ast.Try) -> None:
        before = set(self.defined)
        self.block(node.body)
        self.block(node.orelse)
        after = set(self.defined)
        for handler in node.handlers:
            self.defined = set(before)
            if handler.type is not None:
                self.visit(handler.type)
            if handler.name:
                self.defined.add(handler.name)  # unbound again when the handler ends
            self.block(handler.body)
            if handler.name:
                self.defined.discard(handler.name)
            after &= self.defined
        self.defined = before | after
        self.block(node.finalbody)

    visit_TryStar = visit_Try

    def visit_Match(self, node: ast.Match) -> None:
        self.visit(node.subject)
        blocks = []
        for case in node.cases:
            captures: list[ast.stmt] = [
                ast.Assign(targets=[ast.Name(n, ast.Store())], value=ast.Constant(None), lineno=0)
                for n in _captures(case.pattern)
            ]
            guard = [ast.Expr(case.guard)] if case.guard is not None else []
            for sub in ast.walk(case.pattern):
                if isinstance(sub, ast.MatchValue | ast.MatchClass):
                    guard.append(
                        ast.Expr(sub.value if isinstance(sub, ast.MatchValue) else sub.cls)
                    )
            blocks.append([*captures, *guard, *case.body])
        self.branches(*blocks, [])

    def visit_Global(self, node: ast.Global) -> None:
        """``global`` at cell scope changes nothing."""


def _captures(pattern: ast.pattern) -> list[str]:
    names = []
    for sub in ast.walk(pattern):
        if isinstance(sub, ast.MatchAs | ast.MatchStar) and sub.name:
            names.append(sub.name)
        elif isinstance(sub, ast.MatchMapping) and sub.rest:
            names.append(sub.rest)
    return names


def analyze_tree(tree: ast.Module) -> CellFlow:
    """The dataflow of already-parsed cell code."""
    cell = _Cell()
    cell.block(tree.body)
    reads = dict(cell.reads)
    maybe: dict[str, int] = {}
    for name, line in cell.nested_free.items():
        if name in reads:
            continue
        if name in cell.bound:  # bound somewhere in the cell: only an input if it exists before
            maybe[name] = line
        else:
            reads[name] = line
    return CellFlow(
        reads=tuple(reads),
        maybe_reads=tuple(maybe),
        bound=tuple(cell.bound),
        kinds=tuple(cell.bound.items()),
        mutated=tuple(cell.mutated),
        deleted=tuple(sorted(cell.deleted)),
        read_lines=tuple({**maybe, **reads}.items()),
        links=tuple(
            (name, tuple(sorted(cell.refs[name])))
            for name in dict.fromkeys([*cell.bound, *cell.mutated])
            if cell.refs.get(name) and cell.bound.get(name) != "import"
        ),
    )


def analyze(source: str) -> CellFlow:
    """The dataflow of plain Python cell code (raises ``SyntaxError``)."""
    return analyze_tree(ast.parse(source))
