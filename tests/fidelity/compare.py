"""Exact deep comparison of two canonical values (``canon.py``): the differences, as text.

Exact means what a user would call "the same value": pandas ``equals`` plus dtypes, column
order, index and ``attrs``; numpy ``array_equal`` including dtype and shape (NaN equal to
NaN); floats exact; containers element by element, in order; types must match.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

MAX_DIFFS = 5
REPR = 160


def short(value: Any) -> str:
    try:
        text = repr(value).replace("\n", " ")
    except Exception as err:  # a user object whose repr fails is still a value to report
        text = f"<{type(value).__name__}: repr failed: {err}>"
    return text if len(text) <= REPR else text[: REPR - 3] + "..."


def differences(kernel: Any, flow: Any, path: str = "") -> list[str]:
    """Where ``flow`` differs from ``kernel``: ``path: what`` lines, at most a few."""
    out: list[str] = []
    _diff(kernel, flow, path, out)
    return out[:MAX_DIFFS]


def _diff(k: Any, f: Any, path: str, out: list[str]) -> None:
    if len(out) >= MAX_DIFFS:
        return
    if type(k) is not type(f):
        out.append(f"{path}: type {type(k).__name__} in the kernel, {type(f).__name__} in the flow")
        return
    if isinstance(k, pd.DataFrame):
        _frame(k, f, path, out)
    elif isinstance(k, pd.Series):
        _series(k, f, path, out)
    elif isinstance(k, pd.Index):
        if k.dtype != f.dtype or not k.equals(f):
            out.append(f"{path}: index {short(k)} in the kernel, {short(f)} in the flow")
    elif isinstance(k, np.ndarray):
        _array(k, f, path, out)
    elif isinstance(k, list | tuple):
        if len(k) != len(f):
            out.append(f"{path}: length {len(k)} in the kernel, {len(f)} in the flow")
            return
        for i, (a, b) in enumerate(zip(k, f, strict=True)):
            _diff(a, b, f"{path}[{i}]", out)
    elif isinstance(k, dict):
        if list(k) != list(f):
            out.append(f"{path}: keys {short(list(k))} in the kernel, {short(list(f))} in the flow")
            return
        for key in k:
            _diff(k[key], f[key], f"{path}[{key!r}]", out)
    elif not _same_scalar(k, f):
        out.append(f"{path}: {short(k)} in the kernel, {short(f)} in the flow")


def _same_scalar(k: Any, f: Any) -> bool:
    if isinstance(k, float | np.floating | complex | np.complexfloating):
        return bool(k == f) or (_isnan(k) and _isnan(f))
    try:
        same = k == f
        return bool(same) if not isinstance(same, np.ndarray) else bool(same.all())
    except Exception:
        return repr(k) == repr(f)


def _isnan(x: Any) -> bool:
    try:
        return bool(np.isnan(x))
    except TypeError:
        return isinstance(x, float) and math.isnan(x)


def _array(k: np.ndarray, f: np.ndarray, path: str, out: list[str]) -> None:
    if k.dtype != f.dtype or k.shape != f.shape:
        out.append(
            f"{path}: array {k.dtype}{list(k.shape)} in the kernel, {f.dtype}{list(f.shape)} "
            "in the flow"
        )
        return
    nan_ok = k.dtype.kind in "fc"
    if not np.array_equal(k, f, equal_nan=nan_ok):
        unequal = ~((k == f) | (np.isnan(k) & np.isnan(f))) if nan_ok else np.asarray(k != f)
        where = np.argwhere(unequal)
        first = tuple(int(i) for i in where[0]) if len(where) else ()
        out.append(
            f"{path}: arrays differ at {len(where)} places, first {list(first)}: "
            f"{short(k[first] if first else k)} in the kernel, "
            f"{short(f[first] if first else f)} in the flow"
        )


def _frame(k: pd.DataFrame, f: pd.DataFrame, path: str, out: list[str]) -> None:
    if list(k.columns) != list(f.columns):
        out.append(
            f"{path}: columns {short(list(k.columns))} in the kernel, "
            f"{short(list(f.columns))} in the flow"
        )
        return
    if list(k.dtypes) != list(f.dtypes):
        out.append(f"{path}: dtypes {short(dict(k.dtypes))} vs {short(dict(f.dtypes))} (flow)")
        return
    if k.index.dtype != f.index.dtype or not k.index.equals(f.index):
        out.append(f"{path}: index {short(k.index)} in the kernel, {short(f.index)} in the flow")
        return
    if k.attrs != f.attrs:
        out.append(f"{path}: attrs {short(k.attrs)} in the kernel, {short(f.attrs)} in the flow")
        return
    if not k.equals(f):
        for col in k.columns:
            if not k[col].equals(f[col]):
                _series(k[col], f[col], f"{path}[{col!r}]", out)
                return


def _series(k: pd.Series, f: pd.Series, path: str, out: list[str]) -> None:
    if k.name != f.name or k.dtype != f.dtype:
        out.append(f"{path}: series {k.name!r} {k.dtype} vs {f.name!r} {f.dtype} (flow)")
        return
    if k.index.dtype != f.index.dtype or not k.index.equals(f.index):
        out.append(f"{path}: index {short(k.index)} in the kernel, {short(f.index)} in the flow")
        return
    if not k.equals(f):
        diff = k.ne(f) & ~(k.isna() & f.isna())
        first = diff[diff].index[0] if diff.any() else None
        if first is None:
            out.append(f"{path}: {short(k)} in the kernel, {short(f)} in the flow")
        else:
            out.append(
                f"{path}: {int(diff.sum())} values differ, first at {first!r}: "
                f"{short(k[first])} in the kernel, {short(f[first])} in the flow"
            )
