"""A value's canonical form: what the kernel and the flow must agree on, in plain data.

The kernel's objects of notebook classes are ``__main__.X``, the flow's are ``x_flow.X``, so
raw objects cannot be compared (or even unpickled) across the two. Both sides turn their final
values into this form *where they live* (in the kernel; in a reader process with the flow's
module importable) and pickle it: builtins, numpy and pandas values stay as they are (compared
exactly later), other objects become ``("__obj__", type name, canonical state)``.

This file is run inside user kernels with ``runpy.run_path``: standard library only at import,
no package-relative imports.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

ATOMS = (type(None), bool, int, float, complex, str, bytes)
MAX_DEPTH = 40
FIGURE_TYPES = ("matplotlib.figure.Figure", "matplotlib.axes._axes.Axes")


def type_name(t: type) -> str:
    """Library types by module and name; notebook/flow classes by name only (their module
    is ``__main__`` in the kernel and the exported module in the flow)."""
    module = getattr(t, "__module__", "") or ""
    if module in ("__main__", "builtins") or module.endswith("_flow") or module.startswith("<"):
        return t.__qualname__
    return f"{module}.{t.__qualname__}"


def _is_figure(value: Any) -> bool:
    try:
        import matplotlib.artist
    except ImportError:
        return False
    return isinstance(value, matplotlib.artist.Artist)


def canon(value: Any, depth: int = 0) -> Any:
    """The canonical form of ``value``; never raises (an error becomes a marker)."""
    try:
        return _canon(value, depth)
    except Exception as err:  # a value we cannot read is itself a finding
        return ("__error__", type_name(type(value)), f"{type(err).__name__}: {err}"[:300])


def _canon(value: Any, depth: int) -> Any:
    t = type(value)
    if t in ATOMS:
        return value
    if depth > MAX_DEPTH:
        return ("__deep__", type_name(t))
    module = getattr(t, "__module__", "") or ""
    if module.startswith(("numpy", "pandas")):
        return _canon_library(value, depth)
    if t in (list, tuple):
        items = [canon(v, depth + 1) for v in value]
        return items if t is list else ("__tuple__", *items)
    if t is dict:
        return {k if type(k) in ATOMS else repr(k): canon(v, depth + 1) for k, v in value.items()}
    if t in (set, frozenset):
        return ("__set__", sorted(repr(canon(v, depth + 1)) for v in value))
    if _is_figure(value):
        return ("__figure__",)
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return ("__callable__", getattr(value, "__qualname__", repr(value)))
    if t.__name__ == "module":
        return ("__module__", value.__name__)
    return ("__obj__", type_name(t), canon(_state(value), depth + 1))


def _canon_library(value: Any, depth: int) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("__objarray__", value.shape, [canon(v, depth + 1) for v in value.ravel()])
        return value
    if isinstance(value, np.generic):
        return value
    if isinstance(value, np.random.Generator):
        return ("__obj__", "numpy.random.Generator", canon(value.bit_generator.state, depth + 1))
    if isinstance(value, np.random.RandomState):
        state = value.get_state()
        return ("__obj__", "numpy.random.RandomState", canon(list(state), depth + 1))
    return value  # pandas objects, dtypes and the rest: compared with their own equality


def _state(value: Any) -> Any:
    """What pickle would save of a generic object: its __reduce_ex__ args and state."""
    if hasattr(value, "__dict__"):
        state = dict(vars(value))
        for cls in type(value).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if hasattr(value, slot):
                    state[slot] = getattr(value, slot)
        return state
    reduced = value.__reduce_ex__(4)
    if isinstance(reduced, str):
        return reduced
    args = reduced[1] if len(reduced) > 1 else ()
    saved = reduced[2] if len(reduced) > 2 else None
    return {"args": args, "state": saved}


def dump(values: dict[str, Any], missing: list[str], path: str, **extra: Any) -> None:
    """Pickle the canonical form of ``values`` (and what was missing) to ``path``."""
    payload = {
        "values": {name: canon(v) for name, v in values.items()},
        "missing": list(missing),
        **extra,
    }
    with open(path, "wb") as fh:
        pickle.dump(payload, fh, protocol=4)


def dump_namespace(ns: dict[str, Any], names: list[str], path: str) -> None:
    """The kernel side: the final values of ``names`` in the user namespace."""
    present = {n: ns[n] for n in names if n in ns}
    dump(present, [n for n in names if n not in ns], path, python=sys.version)
