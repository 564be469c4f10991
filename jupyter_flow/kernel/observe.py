"""What a ``%%step`` cell really did in the kernel: run it, and catch hidden in-place changes.

Static analysis sees ``df["c"] = 1`` but not ``add_features(df)`` changing ``df`` inside a
function. So the step's inputs, and the names sharing an object with them (``b = a``,
``train_df`` inside ``data = [train_df, test_df]``), are fingerprinted before and after the
cell: a name that changed without the code showing it is reported, and from then on
recorded as an output.
A fingerprint is cheap on big data (a sample of the values plus shape, dtype, columns,
identity), never a copy: it costs a few milliseconds for a GiB, while a full hash would
cost a full pass over memory.
"""

from __future__ import annotations

import copy
import sys
import time
import types
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from ..notebook.cells import StepOptions
from ..notebook.dataflow import CellFlow

SAMPLES = 4096  # values sampled from a large array, column or container
SMALL_BYTES = 1 << 16  # arrays up to this size are hashed whole
MAX_DEPTH = 3
UNWATCHED = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})  # the kernel's own


@dataclass(frozen=True)
class StepRecord:
    """A step as the kernel last ran it."""

    name: str
    options: StepOptions
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    observed: tuple[str, ...] = ()  # inputs changed in place that the code does not show
    seconds: float = 0.0
    execution_count: int | None = None


@dataclass
class Session:
    """Per-kernel memory of steps and parameters, in the order they last ran."""

    steps: dict[str, StepRecord] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def observed(self, step: str) -> tuple[str, ...]:
        """Inputs this step was seen changing in place without its code showing it."""
        rec = self.steps.get(step)
        return rec.observed if rec is not None else ()

    def record(self, rec: StepRecord) -> None:
        self.steps.pop(rec.name, None)
        self.steps[rec.name] = rec


# -- fingerprints
@lru_cache(maxsize=64)
def _sample_positions(n: int) -> Any:
    import numpy as np

    positions = np.linspace(0, n - 1, num=min(n, SAMPLES), dtype=np.intp)
    positions.flags.writeable = False
    return positions


def _array_fp(arr: Any) -> tuple[Any, ...]:
    meta = (arr.shape, arr.dtype.str, arr.strides, arr.__array_interface__["data"][0])
    if arr.dtype.hasobject:
        flat = arr.reshape(-1) if arr.flags.c_contiguous else arr.flat
        sample = flat[_sample_positions(arr.size)] if arr.size else []
        return (*meta, tuple(_fp(v, MAX_DEPTH - 1) for v in sample))
    if arr.nbytes <= SMALL_BYTES:
        return (*meta, hash(arr.tobytes()))
    flat = arr.reshape(-1) if arr.flags.c_contiguous else arr.flat
    return (*meta, hash(flat[_sample_positions(arr.size)].tobytes()))


def _values_fp(values: Any, positions: Any, pd: Any, np: Any) -> int:
    """A sampled hash of one column (or index): numpy data by bytes, the rest by pandas."""
    if isinstance(values, np.ndarray) and not values.dtype.hasobject:
        return hash(values[positions].tobytes())
    sample = values[positions] if isinstance(values, np.ndarray) else values.take(positions)
    try:
        return hash(pd.util.hash_array(np.asarray(sample, dtype=object)).tobytes())
    except TypeError:  # unhashable cells (lists, dicts): identities
        return hash(tuple(id(v) for v in sample))


def _column_values(series: Any, np: Any) -> Any:
    """The column's data without copying it: numpy when it is numpy, else its array."""
    return series.to_numpy(copy=False) if isinstance(series.dtype, np.dtype) else series.array


def _pandas_fp(obj: Any, pd: Any) -> tuple[Any, ...]:
    import numpy as np

    positions = _sample_positions(len(obj)) if len(obj) else np.zeros(0, dtype=np.intp)
    index = obj.index
    if isinstance(index, pd.RangeIndex):
        index_fp: Any = (index.start, index.stop, index.step)
    else:
        index_fp = _values_fp(_column_values(index, np), positions, pd, np)
    if isinstance(obj, pd.DataFrame):
        step = max(1, obj.shape[1] // SAMPLES)
        columns = tuple(
            _values_fp(_column_values(obj.iloc[:, j], np), positions, pd, np)
            for j in range(0, obj.shape[1], step)
        )
        meta: tuple[Any, ...] = (obj.shape, tuple(obj.columns), tuple(map(str, obj.dtypes)))
    else:
        columns = (_values_fp(_column_values(obj, np), positions, pd, np),)
        meta = (obj.shape, obj.name, str(obj.dtype))
    return (*meta, index_fp, columns)


def _fp(value: Any, depth: int = 0) -> Any:
    """A cheap, comparable summary of ``value`` that changes when it is changed in place."""
    if value is None or isinstance(value, bool | int | float | complex | str | bytes | range):
        return id(value) if depth else (id(value),)  # immutable: only a rebinding changes it
    ident = id(value)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        return (ident, _array_fp(value))
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, pd.DataFrame | pd.Series):
        return (ident, _pandas_fp(value, pd))
    if depth >= MAX_DEPTH:
        return ident
    if isinstance(value, list | tuple | bytearray):
        n = len(value)
        if isinstance(value, bytearray):
            return (ident, n, hash(bytes(value[:: max(1, n // SAMPLES)])))
        step = max(1, n // SAMPLES)
        return (ident, n, tuple(_fp(v, depth + 1) for v in value[::step]))
    if isinstance(value, dict):
        items = list(value.items())
        step = max(1, len(items) // SAMPLES)
        return (ident, len(items), tuple((k, _fp(v, depth + 1)) for k, v in items[::step]))
    if isinstance(value, set | frozenset):
        return (ident, len(value), hash(frozenset(value)) if len(value) <= SAMPLES else 0)
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict):
        return (ident, type(value).__qualname__, _fp(attrs, depth + 1))
    return ident


def fingerprints(namespace: MutableMapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        if name in namespace:
            try:
                out[name] = _fp(namespace[name])
            except Exception:  # a user object whose attributes misbehave: watch identity only
                out[name] = id(namespace[name])
    return out


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    return tuple(n for n, fp in before.items() if after.get(n, fp) != fp)


def watched_inputs(flow: CellFlow, namespace: MutableMapping[str, Any]) -> list[str]:
    """Inputs worth fingerprinting: data the cell reads (directly or through a user function's
    globals) and does not visibly write."""
    writes = set(flow.writes)
    names = [n for n in (*flow.reads, *flow.maybe_reads) if n in namespace]
    extra: list[str] = []
    for name in names:
        func = namespace[name]
        if isinstance(func, types.FunctionType) and func.__globals__ is namespace:
            extra += [g for g in func.__code__.co_names if g in namespace]
    return [
        name
        for name in dict.fromkeys([*names, *extra])
        if name not in writes
        and not name.startswith("_")
        and not isinstance(namespace[name], UNWATCHED)
    ]


# -- running a cell body
@dataclass(frozen=True)
class Body:
    """A compiled cell body: statements, plus the trailing expression whose value displays."""

    statements: types.CodeType
    last: types.CodeType | None
    quiet: bool = False  # the cell ends with ';': evaluate, do not display


def compile_body(
    python: str, filename: str, compiler: Callable[..., Any] = compile, *, quiet: bool = False
) -> Body:
    import ast

    tree = ast.parse(python, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        expr = ast.Expression(tree.body.pop().value)  # type: ignore[attr-defined]
        last = compiler(expr, filename, "eval")
    return Body(compiler(tree, filename, "exec"), last, quiet)


def run_body(body: Body, namespace: MutableMapping[str, Any]) -> Any:
    __tracebackhide__ = True  # the user's traceback starts at their cell
    ns: dict[str, Any] = namespace  # type: ignore[assignment]
    exec(body.statements, ns)
    value = eval(body.last, ns) if body.last is not None else None
    return None if body.quiet else value


_MISSING = object()


def run_foreach(
    body: Body,
    namespace: MutableMapping[str, Any],
    item: str,
    items: Iterable[Any],
    joined: tuple[str, ...],
    copied: tuple[str, ...],
    before_item: Callable[[], None] | None = None,
) -> None:
    """Run the body once per item, then bind each name in ``joined`` to the list of its
    values in item order: the flow's join. Each run starts from the same bindings, and
    inputs the code changes in place get a private copy, as each flow task does;
    ``before_item`` resets the rest (global random state) the same way."""
    __tracebackhide__ = True
    saved = {n: namespace.get(n, _MISSING) for n in (*joined, *copied, item)}
    results: dict[str, list[Any]] = {n: [] for n in joined}
    try:
        for index, value in enumerate(items):
            for name in joined:
                _restore(namespace, name, saved[name])
            for name in copied:
                if saved[name] is not _MISSING:
                    try:
                        namespace[name] = copy.deepcopy(saved[name])
                    except Exception:
                        namespace[name] = saved[name]
            namespace[item] = value
            if before_item is not None:
                before_item()
            run_body(body, namespace)
            for name in joined:
                if name not in namespace:
                    raise NameError(f"{name!r} was not set for item {index} ({value!r})")
                results[name].append(namespace[name])
    except BaseException:
        for name, old in saved.items():
            _restore(namespace, name, old)
        raise
    for name in joined:
        namespace[name] = results[name]
    if item not in joined:
        _restore(namespace, item, saved[item])


def _restore(namespace: MutableMapping[str, Any], name: str, old: Any) -> None:
    if old is _MISSING:
        namespace.pop(name, None)
    else:
        namespace[name] = old


def step_outputs(
    flow: CellFlow, options: StepOptions, namespace: MutableMapping[str, Any] | None = None
) -> tuple[str, ...]:
    """What the step writes as the flow sees it (before any runtime observation). Changing
    a module or function in place (``plt.rcParams.update``) does not make it data."""
    if options.outputs is not None:
        return options.outputs
    item = options.foreach.item if options.foreach else None
    ns = namespace or {}
    return tuple(
        n
        for n in flow.writes
        if n != item
        and flow.kind(n) not in ("import", "def", "class")
        and (n in flow.bound or not isinstance(ns.get(n), UNWATCHED))
    )


def step_inputs(
    flow: CellFlow, options: StepOptions, namespace: MutableMapping[str, Any]
) -> tuple[str, ...]:
    if options.inputs is not None:
        return options.inputs
    found = [n for n in (*flow.reads, *flow.maybe_reads) if n in namespace]
    data = [n for n in found if not isinstance(namespace[n], UNWATCHED)]
    if options.foreach and options.foreach.items not in data:
        data.append(options.foreach.items)
    return tuple(data)


_OPAQUE = ("numpy", "pandas")  # their attributes are internals, never a user's data


def _members(value: Any) -> list[Any]:
    """What a value holds one level down (list/tuple items, dict values, a user object's
    attributes: ``box.data = train_df``), bounded."""
    if isinstance(value, list | tuple):
        return list(value[:SAMPLES])
    if isinstance(value, dict):
        return list(value.values())[:SAMPLES]
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict) and not type(value).__module__.startswith(_OPAQUE):
        return list(attrs.values())[:SAMPLES]
    return []


def aliases(namespace: MutableMapping[str, Any], names: Iterable[str]) -> list[str]:
    """Other names that share an object with one of ``names``: ``b = a``, ``data =
    [train_df, test_df]`` (either way round, one level inside lists, tuples, dicts and
    objects' attributes), so
    ``for d in data: d["x"] = 1`` is seen changing ``train_df`` itself."""
    given = [n for n in names if n in namespace]
    if not given:
        return []
    tops = {id(namespace[n]) for n in given}
    near = tops | {id(m) for n in given for m in _members(namespace[n])}
    found = []
    for name, value in list(namespace.items()):
        if name in given or name.startswith("_") or name in IPYTHON_NAMES:
            continue
        if isinstance(value, UNWATCHED):
            continue
        if value is None or isinstance(value, bool | int | float | str | bytes):
            continue  # immutable: shared, but never changed in place
        if id(value) in near or any(id(m) in tops for m in _members(value)):
            found.append(name)
    return found


def run_step(
    body: Body,
    flow: CellFlow,
    options: StepOptions,
    ns: MutableMapping[str, Any],
    session: Session,
    execution_count: int | None = None,
    before_item: Callable[[], None] | None = None,
) -> tuple[Any, StepRecord, tuple[str, ...]]:
    """Run a ``%%step`` body (once, or once per item), watch its inputs and the names that
    share objects with them, record the step. Returns the value to display, the record, and
    the names it changed out of sight."""
    __tracebackhide__ = True
    inputs = step_inputs(flow, options, ns)
    outputs = step_outputs(flow, options, ns)
    known = session.observed(options.name)  # hidden changes seen in earlier runs
    if options.outputs is None:
        outputs = tuple(dict.fromkeys([*outputs, *(n for n in known if n in ns)]))
    watched = [n for n in watched_inputs(flow, ns) if n not in outputs]
    artifacts = {n for r in session.steps.values() for n in r.outputs} | set(session.params)
    try:
        shared = aliases(ns, [*watched, *inputs])
    except Exception:  # a user container that misbehaves: watch the inputs alone
        shared = []
    watched += [  # only what the flow has: an exploration dict holding df is not a flow value
        n for n in shared if n not in outputs and n in artifacts
    ]
    before = fingerprints(ns, watched)
    start = time.perf_counter()
    value = None
    if options.foreach is not None:
        each = options.foreach
        copied = tuple(n for n in (*flow.mutated, *known) if n in inputs)
        run_foreach(body, ns, each.item, list(ns[each.items]), outputs, copied, before_item)
    else:
        value = run_body(body, ns)
    seconds = time.perf_counter() - start
    rec = StepRecord(options.name, options, inputs, outputs, (), seconds, execution_count)
    hidden = changed(before, fingerprints(ns, watched))
    if hidden or known:
        rec = observed_record(rec, tuple(dict.fromkeys([*known, *hidden])))
    session.record(rec)
    return value, rec, hidden


def observed_record(rec: StepRecord, extra: tuple[str, ...]) -> StepRecord:
    """The record once hidden changes are known: they become outputs."""
    outputs = tuple(dict.fromkeys([*rec.outputs, *extra]))
    return replace(rec, outputs=outputs, observed=extra)
