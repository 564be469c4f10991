"""Pure definitions: the statements of untagged cells a module may carry at top level.

Imports, ``def``/``class`` and constants built from literals have no effect beyond binding
names, so running them once at import of the flow module gives every step the same names
the kernel had. Anything else in an untagged cell is exploration and is not exported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .cells import Cell
from .dataflow import analyze_tree


@dataclass(frozen=True)
class Definition:
    """One exportable module-level statement and what it needs when it is used."""

    cell: Cell
    order: tuple[int, int]  # (cell index, statement index): notebook order
    source: str
    names: tuple[str, ...]
    kind: str  # "import" | "def" | "class" | "const"
    free: tuple[str, ...]  # names a def/class uses from module scope
    line: int  # line in the cell

    @property
    def key(self) -> str:
        """Two definitions with the same key are the same statement (e.g. a repeated import)."""
        return self.source.strip()


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) for k in node.keys) and all(
            _is_literal(v) for v in node.values
        )
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_literal(node.left) and _is_literal(node.right)
    return False


def _target_names(target: ast.expr) -> list[str] | None:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        names: list[str] = []
        for elt in target.elts:
            sub = _target_names(elt)
            if sub is None:
                return None
            names += sub
        return names
    return None


def _segment(source: str, lines: list[str], stmt: ast.stmt) -> str:
    """Whole lines (keeping comments inside a def) when the statement owns them."""
    start = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
    end = stmt.end_lineno or stmt.lineno
    if stmt.col_offset == 0:
        tail = lines[end - 1][stmt.end_col_offset or 0 :] if stmt.end_col_offset else ""
        if not tail.strip() or tail.strip().startswith("#"):
            return "\n".join(lines[start - 1 : end]).rstrip()
    return ast.get_source_segment(source, stmt) or ""


def classify(stmt: ast.stmt) -> tuple[str, list[str]] | None:
    """``(kind, names)`` when the statement is a pure definition, else None."""
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        if any(a.name == "*" for a in stmt.names):
            return None
        return "import", [a.asname or a.name.split(".")[0] for a in stmt.names]
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return "def", [stmt.name]
    if isinstance(stmt, ast.ClassDef):
        return "class", [stmt.name]
    if isinstance(stmt, ast.Assign) and _is_literal(stmt.value):
        names: list[str] = []
        for target in stmt.targets:
            sub = _target_names(target)
            if sub is None:
                return None
            names += sub
        return "const", names
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and _is_literal(stmt.value):
        sub = _target_names(stmt.target)
        return ("const", sub) if sub else None
    return None


def definition(
    cell: Cell, code: str, lines: list[str], i: int, stmt: ast.stmt
) -> Definition | None:
    found = classify(stmt)
    if found is None:
        return None
    kind, names = found
    free: tuple[str, ...] = ()
    if kind in ("def", "class"):
        flow = analyze_tree(ast.Module(body=[stmt], type_ignores=[]))
        free = tuple(n for n in (*flow.reads, *flow.maybe_reads) if n not in names)
    return Definition(
        cell=cell,
        order=(cell.index, i),
        source=_segment(code, lines, stmt),
        names=tuple(names),
        kind=kind,
        free=free,
        line=stmt.lineno,
    )


def is_ignorable(stmt: ast.stmt) -> bool:
    """Docstrings, ``pass`` and bare literals neither define nor change anything."""
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
    )
