"""Which outputs of a task share objects: ``data = [train_df, test_df]``, ``b = a``.

In the kernel, ``data[0] is train_df``, so a later change through one is seen through the
other. Pickling each output on its own would give two copies; outputs found here to share
are pickled together, with one memo (``artifacts.save_outputs``).

The search is cheap by design: it follows list/tuple/set elements, dict values and an
object's ``__dict__`` values to a small depth, looks at a bounded number of members per
container and objects per output, and never descends into array libraries' objects (an
array or a DataFrame counts as one object). What lies beyond those bounds is not compared:
sharing that deep or that far into a big container is not found, and those outputs are
saved apart, as before. Any error while looking (a user object's odd ``__dict__``) means
"no sharing found", never a failed task.
"""

from __future__ import annotations

import enum
import itertools
import types
from collections.abc import Iterable, Mapping
from typing import Any

DEPTH = 3  # output -> container -> member -> member's member
WIDTH = 1000  # members looked at per container
BUDGET = 20_000  # objects looked at per output

# Values whose identity carries no meaning (immutable atoms) or that are shared process-wide
# (classes, functions, modules, enum members): sharing them is not sharing state.
_ATOMS: tuple[type, ...] = (
    str,
    bytes,
    int,
    float,
    complex,
    bool,
    type(None),
    range,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
    enum.Enum,
)
# Objects of these libraries are opaque: their contents are buffers, not Python references.
_OPAQUE = frozenset({"numpy", "pandas", "torch", "scipy", "polars", "pyarrow", "tensorflow", "jax"})


def shared_groups(values: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Groups (in output order) of two or more outputs that reach a common object."""
    if len(values) < 2:
        return []
    try:
        return _groups(values)
    except Exception:  # bookkeeping never fails a task: save the outputs apart
        return []


def _groups(values: Mapping[str, Any]) -> list[tuple[str, ...]]:
    names = list(values)
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}  # object id -> first output reaching it
    for i, name in enumerate(names):
        for oid in reachable(values[name]):
            first = owner.setdefault(oid, i)
            if first != i:
                parent[root(i)] = root(first)
    groups: dict[int, list[str]] = {}
    for i, name in enumerate(names):
        groups.setdefault(root(i), []).append(name)
    return [tuple(g) for g in groups.values() if len(g) > 1]


def reachable(value: Any) -> set[int]:
    """Ids of the objects ``value`` holds within the bounds (itself included)."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(value, 0)]
    visits = 0
    while stack and visits < BUDGET:
        obj, level = stack.pop()
        visits += 1
        if isinstance(obj, _ATOMS) or id(obj) in seen:
            continue
        if not isinstance(obj, tuple | frozenset):  # immutable: only what they hold counts
            seen.add(id(obj))
        if level < DEPTH:
            stack.extend((member, level + 1) for member in _members(obj))
    return seen


def _members(obj: Any) -> Iterable[Any]:
    cls = type(obj)
    if cls is list or cls is tuple:
        return obj[:WIDTH]
    if cls is dict:
        return itertools.islice(obj.values(), WIDTH)
    if cls.__module__.partition(".")[0] in _OPAQUE:
        return ()
    if isinstance(obj, dict):  # OrderedDict, defaultdict...
        return list(itertools.islice(dict.values(obj), WIDTH))
    if isinstance(obj, list | tuple | set | frozenset):
        return list(itertools.islice(obj, WIDTH))
    try:
        state = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return ()
    if not isinstance(state, dict):
        return ()
    return list(itertools.islice(dict.values(state), WIDTH))
