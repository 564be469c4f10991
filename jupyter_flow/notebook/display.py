"""What a notebook shows rather than computes: figures, and the value of a cell's last line.

In a notebook, ``fig, ax = plt.subplots()`` binds names whose only purpose is drawing, and a
cell ending in ``df.head()`` shows that value as Out[]. In a flow a figure is a display, not
an artifact, and a bare expression in a function shows nothing: the module calls
``display(...)`` instead, which the runtime records for the run view.
"""

from __future__ import annotations

import ast

# Calls that return a figure, axes or artists (never data), on pyplot or any object:
# ``plt.subplots()``, ``fig.add_subplot(...)``, ``ax.scatter(...)``, ``df.plot(...)``.
# Not ``hist``: ``counts, edges, _ = ax.hist(x)`` returns data. Misfiling data as a figure
# would lose a final value, so this table stays small.
FIGURE_METHODS = frozenset(
    {
        "figure", "subplots", "subplot", "subplot2grid", "subplot_mosaic", "axes", "gca",
        "gcf", "add_subplot", "add_axes", "inset_axes", "twinx", "twiny", "plot", "scatter",
        "imshow", "bar", "barh", "boxplot", "violinplot", "pie", "get_figure",
    }
)  # fmt: skip
PYPLOT = frozenset({"plt", "pyplot"})
# seaborn: ``sns.<x>plot(...)`` and these return axes or grids; the rest (``load_dataset``,
# ``color_palette``) return data.
SEABORN = frozenset({"sns", "seaborn"})
SEABORN_FIGURES = frozenset({"heatmap", "clustermap", "FacetGrid", "PairGrid", "JointGrid"})
# A trailing call to one of these draws or prints by itself: no Out[] worth recording.
SELF_SHOWING_FUNCTIONS = frozenset({"print", "display", "pprint"})
SELF_SHOWING_METHODS = frozenset({"show", "info", "plot", "savefig"})
# ... and these return None, which the notebook does not show as Out[] (``display`` would).
NONE_METHODS = frozenset(
    {
        "append", "extend", "insert", "remove", "sort", "reverse", "clear", "update", "add",
        "discard", "shuffle", "seed", "manual_seed", "set_option", "filterwarnings",
        "simplefilter", "to_csv", "to_parquet", "to_pickle", "dump", "write", "close",
    }
)  # fmt: skip


def _call_root(node: ast.expr) -> tuple[str | None, list[str]]:
    """``plt.gca().twinx`` -> ("plt", ["gca", "twinx"]): the root name and the attributes."""
    attrs: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            break
    return (node.id if isinstance(node, ast.Name) else None), attrs[::-1]


def is_figure_call(node: ast.expr) -> bool:
    """A call that returns a figure or axes: ``plt.subplots()``, ``sns.histplot(...)``,
    ``df.plot(...)``, ``df["x"].plot.hist()``, ``fig.add_subplot(...)``."""
    if not isinstance(node, ast.Call):
        return False
    root, attrs = _call_root(node.func)
    if not attrs:
        return False
    if root in SEABORN:
        return attrs[0].endswith("plot") or attrs[0] in SEABORN_FIGURES
    return attrs[-1] in FIGURE_METHODS or "plot" in attrs[:-1]  # df.plot.hist(): pandas


def value_kind(value: ast.expr) -> str:
    """ "figure" for a value that only draws (not an artifact unless a later step reads it)."""
    return "figure" if is_figure_call(value) else "value"


def _self_showing(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in SELF_SHOWING_FUNCTIONS
    root, attrs = _call_root(func)
    if attrs and attrs[-1] in NONE_METHODS:
        return True
    if any(k.arg == "inplace" for k in node.keywords):  # df.fillna(0, inplace=True)
        return True
    return root in PYPLOT or bool(SELF_SHOWING_METHODS & set(attrs)) or is_figure_call(node)


def trailing_display(code: str, tree: ast.Module) -> ast.Expr | None:
    """The cell's last statement when the notebook shows its value as Out[]: an expression
    at the top level, not ended by ``;``, not a call that prints or draws by itself."""
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or last.col_offset:
        return None
    value = last.value
    if isinstance(value, ast.Constant) and (value.value is None or value.value is Ellipsis):
        return None
    if isinstance(value, ast.Await | ast.Yield | ast.YieldFrom) or _self_showing(value):
        return None
    lines = code.split("\n")
    end = last.end_lineno or last.lineno
    rest = lines[end - 1][last.end_col_offset or 0 :]
    rest += "\n".join(lines[end:])
    if rest.lstrip().startswith(";") or _ends_with_semicolon(lines, end):
        return None
    return last


def _ends_with_semicolon(lines: list[str], end: int) -> bool:
    """IPython hides Out[] when the cell's last code line ends with ``;``."""
    for line in reversed(lines[end - 1 :]):
        text = line.split("#", 1)[0].rstrip()
        if text:
            return text.endswith(";")
    return False
