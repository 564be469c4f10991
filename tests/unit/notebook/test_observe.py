"""Runtime observation in the kernel: fingerprints catch in-place changes the code hides."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from jupyter_flow.kernel import observe
from jupyter_flow.notebook.dataflow import analyze


class Model:
    def __init__(self) -> None:
        self.coef = None


def scale(a: np.ndarray) -> None:
    a *= 2


def add_column(df: pd.DataFrame) -> None:
    df["new"] = 1


def fill_some(df: pd.DataFrame) -> None:
    df.loc[df.index % 2 == 0, "v"] = -1.0


def fit(m: Model) -> None:
    m.coef = np.ones(3)


CHANGES = [
    ("big-array-scaled", lambda: np.arange(3_000_000, dtype=float), scale),
    ("small-array-one-value", lambda: np.zeros(10), lambda a: a.__setitem__(3, 1)),
    ("frame-new-column", lambda: pd.DataFrame({"v": np.arange(100_000.0)}), add_column),
    ("frame-half-the-rows", lambda: pd.DataFrame({"v": np.arange(100_000.0)}), fill_some),
    (
        "frame-fillna-in-place",
        lambda: pd.DataFrame({"v": np.where(np.arange(10_000) % 3 == 0, np.nan, 1.0)}),
        lambda d: d.fillna(0.0, inplace=True),
    ),
    (
        "frame-strings-edited",
        lambda: pd.DataFrame({"s": ["a"] * 20_000}),
        lambda d: d.loc.__setitem__((slice(None, None, 2), "s"), "b"),
    ),
    (
        "frame-index-relabelled",
        lambda: pd.DataFrame({"v": range(10_000)}, index=[f"r{i}" for i in range(10_000)]),
        lambda d: setattr(d, "index", [f"x{i}" for i in range(10_000)]),
    ),
    (
        "series-nullable-ints",
        lambda: pd.Series(range(50_000), dtype="Int64"),
        lambda s: s.__setitem__(slice(None), 7),
    ),
    ("list-append", lambda: [1, 2], lambda xs: xs.append(3)),
    ("nested-list", lambda: [[1], [2]], lambda xs: xs[0].append(9)),
    ("dict-update", lambda: {"a": 1}, lambda d: d.update(b=2)),
    ("object-attribute", Model, fit),
    ("set-add", lambda: {1}, lambda s: s.add(2)),
]


@pytest.mark.parametrize(("make", "change"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_in_place_changes_are_seen(make: Any, change: Any) -> None:
    ns = {"x": make()}
    before = observe.fingerprints(ns, ["x"])
    assert observe.changed(before, observe.fingerprints(ns, ["x"])) == ()
    change(ns["x"])
    assert observe.changed(before, observe.fingerprints(ns, ["x"])) == ("x",)


def test_rebinding_is_seen_and_reading_is_not() -> None:
    ns: dict[str, Any] = {"a": np.arange(10), "b": 5}
    before = observe.fingerprints(ns, ["a", "b"])
    _ = ns["a"].sum()
    ns["b"] = 6
    assert observe.changed(before, observe.fingerprints(ns, ["a", "b"])) == ("b",)


def test_inputs_of_user_functions_are_watched_too() -> None:
    ns: dict[str, Any] = {"data": [1], "np": np}
    exec("def helper():\n    data.append(2)", ns)
    flow = analyze("helper()\nn = 1")
    assert observe.watched_inputs(flow, ns) == ["data"]


def test_visible_writes_and_code_objects_are_not_watched() -> None:
    ns: dict[str, Any] = {"xs": [1], "np": np, "f": len, "_hidden": [1]}
    flow = analyze("xs.append(1)\ny = np.sum(f(_hidden))")
    assert observe.watched_inputs(flow, ns) == []


def test_foreach_joins_restores_and_copies() -> None:
    ns: dict[str, Any] = {"items": [1, 2, 3], "acc": [0], "x": "before"}
    body = observe.compile_body("acc.append(x)\nsquare = x * x", "<cell>")
    observe.run_foreach(body, ns, "x", ns["items"], ("acc", "square"), ("acc",))
    assert ns["square"] == [1, 4, 9]
    assert ns["acc"] == [[0, 1], [0, 2], [0, 3]]  # each item saw its own copy, as flow tasks do
    assert ns["x"] == "before"


def test_foreach_failure_leaves_the_namespace_as_it_was() -> None:
    ns: dict[str, Any] = {"items": [1, 0], "y": "old"}
    body = observe.compile_body("y = 1 / x", "<cell>")
    with pytest.raises(ZeroDivisionError):
        observe.run_foreach(body, ns, "x", ns["items"], ("y",), ())
    assert ns["y"] == "old" and "x" not in ns


def test_trailing_expression_is_the_value_unless_quiet() -> None:
    ns: dict[str, Any] = {}
    assert observe.run_body(observe.compile_body("a = 2\na * 3", "<c>"), ns) == 6
    assert observe.run_body(observe.compile_body("a * 3", "<c>", quiet=True), ns) is None


def test_changing_a_module_in_place_is_not_an_output() -> None:
    import sys

    from jupyter_flow.notebook.cells import StepOptions

    flow = analyze("sys.path.append('x')\nitems.append(1)")
    ns = {"sys": sys, "items": []}
    assert observe.step_outputs(flow, StepOptions("s"), ns) == ("items",)
