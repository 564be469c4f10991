"""Which calls and statements change an object in place: the mutation rules of the analysis.

Calling one of these on a name (``xs.append(1)``, ``model.fit(X)``, ``df.fillna(0,
inplace=True)``, ``w.add_(g)``) makes the cell write that name, as does passing it first to
one of the functions (``rng.shuffle(order)``). A call on a fresh object
(``Ridge().fit(X, y)``) changes nothing the cell had.

A change through an alias is a change of what it aliases: after ``b = a``, ``data = [a, b]``,
``x = data[0]`` or ``for d in data:``, changing ``b``/``x``/``d`` changes ``a`` (and ``data``).
``value_refs`` says which names' objects a value may be or hold; the analysis records it per
bound name and spreads every change to them (an over-approximation: an extra write is an
extra artifact, a missed one a silent difference).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

# Methods that change their receiver. Calling one on a name makes the step write that name.
MUTATING_METHODS = frozenset(
    {
        # list / dict / set / deque / bytearray
        "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update",
        "setdefault", "sort", "reverse", "add", "discard", "difference_update",
        "intersection_update", "symmetric_difference_update", "appendleft", "extendleft",
        "popleft", "rotate",
        # numpy arrays (pandas: inplace=True, or item/attribute assignment, below)
        "resize", "fill", "put", "itemset", "setflags",
        # scikit-learn style estimators, PyTorch modules
        "fit", "partial_fit", "fit_transform", "fit_predict", "fit_resample", "set_params",
        "set_output", "load_state_dict", "train", "eval",
    }
)  # fmt: skip
# Functions that change their first argument.
MUTATING_FUNCTIONS = frozenset({"shuffle", "copyto", "fill_diagonal", "heappush", "heappop",
                                "heapify", "heapreplace", "setattr", "delattr"})  # fmt: skip


def root_name(node: ast.expr) -> str | None:
    """``a`` for ``a``, ``a.b``, ``a[0].c``; None past a call (``f().x`` is a new object)."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        else:
            return None


def mutated_root(call: ast.Call) -> str | None:
    """The name a call changes in place, if the call is a known mutation."""
    func = call.func
    if isinstance(func, ast.Attribute):
        if func.attr in MUTATING_METHODS or any(
            kw.arg == "inplace" and isinstance(kw.value, ast.Constant) and kw.value.value is True
            for kw in call.keywords
        ):
            return root_name(func.value)
        if func.attr.endswith("_") and not func.attr.startswith("_"):  # torch: x.add_(1)
            return root_name(func.value)
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name in MUTATING_FUNCTIONS and call.args:
        return root_name(call.args[0])
    return None


# Calls whose result holds the same objects as their arguments (``list(data)``), and methods
# of a container whose result does (``d.values()``).
_SAME_ELEMENTS = frozenset({"list", "tuple", "set", "sorted", "reversed", "iter", "enumerate",
                            "zip", "dict", "frozenset"})  # fmt: skip
_VIEW_METHODS = frozenset({"values", "items", "keys"})

Refs = Mapping[str, set[str]]


def value_refs(node: ast.expr, refs: Refs) -> set[str]:
    """Names whose objects ``node``'s value is or holds (``[a, b]`` -> a, b; ``data[0]`` ->
    data and what data holds)."""
    if isinstance(node, ast.Name):
        return {node.id} | refs.get(node.id, set())
    if isinstance(node, ast.Starred):
        return value_refs(node.value, refs)
    if isinstance(node, ast.Subscript | ast.Attribute):
        return value_refs(node.value, refs)
    parts: list[ast.expr] = []
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        parts = list(node.elts)
    elif isinstance(node, ast.Dict):
        parts = list(node.values)
    elif isinstance(node, ast.IfExp):
        parts = [node.body, node.orelse]
    elif isinstance(node, ast.BoolOp):
        parts = list(node.values)
    elif isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in _SAME_ELEMENTS:
            parts = list(node.args)
        elif isinstance(func, ast.Attribute) and func.attr in _VIEW_METHODS:
            parts = [func.value]
    found: set[str] = set()
    for part in parts:
        found |= value_refs(part, refs)
    return found


def loop_refs(target: ast.expr, iterable: ast.expr, refs: Refs) -> dict[str, set[str]]:
    """What each loop variable may alias: ``for i, d in enumerate([a, b])`` -> d: a, b;
    ``for k, d in zip(keys, [a, b])`` -> k: keys, d: a, b; ``for k, d in m.items()`` -> d: m."""
    out: dict[str, set[str]] = {}
    if isinstance(target, ast.Tuple | ast.List) and isinstance(iterable, ast.Call):
        func, args = iterable.func, iterable.args
        parts: list[ast.expr] | None = None
        if isinstance(func, ast.Name) and func.id == "zip" and len(args) == len(target.elts):
            parts = list(args)
        elif isinstance(func, ast.Name) and func.id == "enumerate" and args:
            parts = [ast.Constant(0), args[0]]
        elif isinstance(func, ast.Attribute) and func.attr == "items" and not args:
            values = func.value
            inner = (
                ast.List(list(values.values), ast.Load())
                if isinstance(values, ast.Dict)
                else values
            )
            parts = [ast.Constant(0), inner]
        if parts is not None and len(parts) == len(target.elts):
            for elt, part in zip(target.elts, parts, strict=True):
                out.update(loop_refs(elt, part, refs) if not isinstance(elt, ast.Name) else {})
                if isinstance(elt, ast.Name):
                    out[elt.id] = value_refs(part, refs)
            return out
    found = value_refs(iterable, refs)
    for sub in ast.walk(target):
        if isinstance(sub, ast.Name):
            out[sub.id] = set(found)
    return out
