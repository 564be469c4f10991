"""Free variables of the scopes a cell can create: ``def``, ``lambda``, ``class``, comprehensions.

Their bodies run later (or, for comprehensions, in their own scope), so what they use from
the cell's scope is a read of the cell, and what they bind stays theirs, except names
declared ``global`` and a walrus inside a comprehension, which bind in the enclosing scope.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from .mutation import mutated_root, root_name

Kind = str  # "import" | "def" | "class" | "loop" | "with" | "value"


class _Free(ast.NodeVisitor):
    """Free variables of a delayed scope (def body, lambda, class body), flow-insensitive."""

    def __init__(self) -> None:
        self.assigned: set[str] = set()
        self.loaded: dict[str, int] = {}
        self.globals: set[str] = set()
        self.global_writes: dict[str, Kind] = {}
        self.mutated: dict[str, int] = {}

    def result(self) -> tuple[dict[str, int], dict[str, Kind], dict[str, int]]:
        local = self.assigned - self.globals
        free = {n: ln for n, ln in self.loaded.items() if n not in local}
        mutated = {n: ln for n, ln in self.mutated.items() if n not in local}
        return free, self.global_writes, mutated

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loaded.setdefault(node.id, node.lineno)
        else:
            self.assigned.add(node.id)
            if node.id in self.globals:
                self.global_writes[node.id] = "value"
            if isinstance(node.ctx, ast.Del):
                self.loaded.setdefault(node.id, node.lineno)

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.globals.update(node.names)  # free in this scope either way

    def _nested(self, node: ast.AST, name: str | None) -> None:
        free, gw, mutated = free_of(node)
        for n, ln in free.items():
            self.loaded.setdefault(n, ln)
        for n, ln in mutated.items():
            self.mutated.setdefault(n, ln)
        self.global_writes.update(gw)
        if name is not None:
            self.assigned.add(name)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for expr in def_outer_exprs(node):
            self.visit(expr)
        self._nested(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self._nested(node, node.name)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for expr in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(expr)
        self._nested(node, None)

    def _comp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        self.visit(node.generators[0].iter)
        free, walrus, mutated = free_of(node)
        for n, ln in free.items():
            self.loaded.setdefault(n, ln)
        for n, ln in mutated.items():
            self.mutated.setdefault(n, ln)
        for n in walrus:  # binds in this (the enclosing) scope
            self.assigned.add(n)
            if n in self.globals:
                self.global_writes[n] = "value"

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comp

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            self.assigned.add(bound)
            if bound in self.globals:
                self.global_writes[bound] = "import"

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.assigned.add(node.name)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        root = mutated_root(node)
        if root is not None:
            self.mutated.setdefault(root, node.lineno)
        self.generic_visit(node)

    def _target_mutation(self, target: ast.expr) -> None:
        if isinstance(target, ast.Subscript | ast.Attribute):
            root = root_name(target)
            if root is not None:
                self.mutated.setdefault(root, target.lineno)
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self._target_mutation(elt)
        elif isinstance(target, ast.Starred):
            self._target_mutation(target.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target_mutation(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target_mutation(node.target)
        if isinstance(node.target, ast.Name):
            self.loaded.setdefault(node.target.id, node.lineno)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target_mutation(target)
        self.generic_visit(node)


def free_of(node: ast.AST) -> tuple[dict[str, int], dict[str, Kind], dict[str, int]]:
    """Free names of a scope-introducing node, names it writes via ``global``, and mutations."""
    inner = _Free()
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                inner.assigned.add(arg.arg)
        body: Sequence[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else node.body
        for stmt in body:
            inner.visit(stmt)
    elif isinstance(node, ast.ClassDef):
        for stmt in node.body:
            inner.visit(stmt)
    else:  # comprehension: the first iterable is evaluated outside, by the caller
        comp = node
        assert isinstance(comp, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp)
        for i, gen in enumerate(comp.generators):
            if i:
                inner.visit(gen.iter)
            walk_store(gen.target, inner.assigned)
            for cond in gen.ifs:
                inner.visit(cond)
        elts = [comp.key, comp.value] if isinstance(comp, ast.DictComp) else [comp.elt]
        for elt in elts:
            inner.visit(elt)
        # A walrus in a comprehension binds in the enclosing scope.
        for sub in ast.walk(comp):
            if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                inner.global_writes[sub.target.id] = "value"
                inner.assigned.discard(sub.target.id)
    return inner.result()


def def_outer_exprs(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    """Expressions of a ``def`` that are evaluated where it is defined, not when called."""
    args = node.args
    exprs: list[ast.expr] = [*node.decorator_list, *args.defaults]
    exprs += [d for d in args.kw_defaults if d is not None]
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None and arg.annotation is not None:
            exprs.append(arg.annotation)
    if node.returns is not None:
        exprs.append(node.returns)
    return exprs


def walk_store(target: ast.AST, into: set[str]) -> None:
    for sub in ast.walk(target):
        if isinstance(sub, ast.Name):
            into.add(sub.id)
