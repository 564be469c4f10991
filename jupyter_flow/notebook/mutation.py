"""Which calls and statements change an object in place: the mutation rules of the analysis.

Calling one of these on a name (``xs.append(1)``, ``model.fit(X)``, ``df.fillna(0,
inplace=True)``, ``w.add_(g)``) makes the cell write that name, as does passing it first to
one of the functions (``rng.shuffle(order)``). A call on a fresh object
(``Ridge().fit(X, y)``) changes nothing the cell had.
"""

from __future__ import annotations

import ast

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
