"""A corpus of tricky cells and the reads/writes each must produce.

Reads are what a step function takes as parameters, writes what it can return: a wrong
read is a wrong DAG edge, a missed write is a notebook and a flow that silently differ.
"""

from __future__ import annotations

import builtins

import pytest

from jupyter_flow.notebook.dataflow import analyze

B = set(dir(builtins))

# (id, source, reads, writes) -- reads exclude builtins; writes = bound + mutated inputs
CORPUS = [
    ("assign", "y = x + 1", {"x"}, {"y"}),
    ("read-after-write", "a = 1\nb = a + c", {"c"}, {"a", "b"}),
    ("augmented", "total += step", {"total", "step"}, {"total"}),
    ("subscript-store", 'df["c"] = df.a * 2', {"df"}, {"df"}),
    ("attribute-store", "cfg.lr = 0.1", {"cfg"}, {"cfg"}),
    ("subscript-augmented", 'counts["a"] += 1', {"counts"}, {"counts"}),
    ("del-subscript", "del cache[key]", {"cache", "key"}, {"cache"}),
    ("append", "items.append(x)", {"items", "x"}, {"items"}),
    ("nested-attribute-append", "state.history.append(loss)", {"state", "loss"}, {"state"}),
    ("update", "params.update(lr=0.1)", {"params"}, {"params"}),
    ("sort", "xs.sort()", {"xs"}, {"xs"}),
    ("pop", "last = stack.pop()", {"stack"}, {"stack", "last"}),
    ("inplace-true", "df.dropna(inplace=True)", {"df"}, {"df"}),
    ("inplace-false", "clean = df.dropna(inplace=False)", {"df"}, {"clean"}),
    ("fit", "model.fit(X, y)", {"model", "X", "y"}, {"model"}),
    ("fit-on-fresh-object", "m = Ridge(alpha=a).fit(X, y)", {"Ridge", "a", "X", "y"}, {"m"}),
    ("torch-inplace", "w.add_(g)", {"w", "g"}, {"w"}),
    ("shuffle-function", "rng.shuffle(order)", {"rng", "order"}, {"order"}),
    ("setattr", "setattr(obj, 'x', 1)", {"obj"}, {"obj"}),
    ("method-call-no-mutation", "s = df.sum()", {"df"}, {"s"}),
    ("aliasing-static-view", "b = a\nb.append(1)", {"a"}, {"a", "b"}),
    ("mutate-local", "xs = []\nxs.append(1)", set(), {"xs"}),
    # a change through an alias changes what it aliases
    ("alias-subscript", 'b = a\nb["x"] = 1', {"a"}, {"a", "b"}),
    ("alias-inplace", "b = a\nb.fillna(0, inplace=True)", {"a"}, {"a", "b"}),
    ("alias-attribute", "b = a\nb.attr = 1", {"a"}, {"a", "b"}),
    ("alias-of-alias", "b = a\nc = b\nc.append(1)", {"a"}, {"a", "b", "c"}),
    ("loop-over-list", 'for d in [a, b]:\n    d["x"] = 1', {"a", "b"}, {"a", "b", "d"}),
    (
        "loop-over-tuple",
        "for d in (a, b):\n    d.fillna(0, inplace=True)",
        {"a", "b"},
        {"a", "b", "d"},
    ),
    (
        "loop-over-bound-list",
        'data = [a, b]\nfor d in data:\n    d["x"] = 1',
        {"a", "b"},
        {"a", "b", "d", "data"},
    ),
    (
        "loop-over-dict-values",
        'data = {"k": a}.values()\nfor d in data:\n    d["x"] = 1',
        {"a"},
        {"a", "d", "data"},
    ),
    (
        "loop-enumerate",
        "for i, d in enumerate([a, b]):\n    d.append(i)",
        {"a", "b"},
        {"a", "b", "i", "d"},
    ),
    (
        "loop-zip",
        "for name, d in zip(names, [a, b]):\n    d.append(name)",
        {"names", "a", "b"},
        {"a", "b", "name", "d"},
    ),
    (
        "loop-items",
        'for k, d in {"tr": a, "te": b}.items():\n    d.append(k)',
        {"a", "b"},
        {"a", "b", "k", "d"},
    ),
    (
        "loop-over-an-input",
        "for m in models:\n    m.fit(X, y)",
        {"models", "X", "y"},
        {"models", "m"},
    ),
    ("element-alias", 'x = data[0]\nx["c"] = 1', {"data"}, {"data", "x"}),
    (
        "element-of-bound-container",
        'data = (a, b)\nx = data[0]\nx["c"] = 1',
        {"a", "b"},
        {"a", "b", "data", "x"},
    ),
    ("comprehension-alias", "[d.append(1) for d in [a, b]]", {"a", "b"}, {"a", "b"}),
    ("pairwise-unpack", "x, y = a, b\nx.append(1)", {"a", "b"}, {"a", "x", "y"}),
    ("rebinding-a-copy-is-no-alias", "b = a.copy()\nb.append(1)", {"a"}, {"b"}),
    ("comprehension-scope", "ys = [x * k for x in xs]", {"xs", "k"}, {"ys"}),
    ("comprehension-shadows-outer", "x = 1\nys = [x for x in range(3)]", set(), {"x", "ys"}),
    ("nested-comprehension", "m = [[i * j for j in cols] for i in rows]", {"rows", "cols"}, {"m"}),
    ("dict-comprehension", "d = {k: v * w for k, v in pairs}", {"pairs", "w"}, {"d"}),
    ("generator-first-iter", "g = sum(v for v in data if v > t)", {"data", "t"}, {"g"}),
    ("walrus", "if (n := len(xs)) > 3:\n    big = n", {"xs"}, {"n", "big"}),
    ("walrus-in-comprehension", "ok = [y for x in xs if (y := f(x))]", {"xs", "f"}, {"ok", "y"}),
    ("lambda-closure", "key = lambda r: r[col] * w", {"col", "w"}, {"key"}),
    ("lambda-bound-later", "f = lambda: z\nz = 1", set(), {"f", "z"}),
    ("lambda-default", "f = lambda r, c=col: r[c]", {"col"}, {"f"}),
    (
        "def-free-vars",
        "def score(m):\n    return metric(m, X_test)",
        {"metric", "X_test"},
        {"score"},
    ),
    ("def-args-not-reads", "def f(a, *args, b=dflt, **kw):\n    return a + b", {"dflt"}, {"f"}),
    ("def-decorator", "@cache\ndef f():\n    pass", {"cache"}, {"f"}),
    ("def-local-shadowing", "def f():\n    df = load()\n    return df", {"load"}, {"f"}),
    ("global-in-def", "def f():\n    global G\n    G = H + 1", {"H"}, {"f", "G"}),
    ("global-mutation-in-def", "def f(v):\n    log.append(v)", {"log"}, {"f", "log"}),
    (
        "class",
        "class Net(Base):\n    size = N\n    def forward(self, x):\n        return x * scale",
        {"Base", "N", "scale"},
        {"Net"},
    ),
    ("shadowing", "df = df.dropna()\ndf2 = df", {"df"}, {"df", "df2"}),
    ("loop-carried", "for i in range(n):\n    total = total + i", {"n", "total"}, {"i", "total"}),
    ("loop-defines-then-reads", "acc = 0\nfor v in vals:\n    acc += v", {"vals"}, {"acc", "v"}),
    ("while", "while err > tol:\n    err = step(err)", {"err", "tol", "step"}, {"err"}),
    ("if-both-branches", "if c:\n    y = 1\nelse:\n    y = 2\nz = y", {"c"}, {"y", "z"}),
    ("if-one-branch-read-after", "if c:\n    y = 1\nz = y", {"c"}, {"y", "z"}),
    (
        "try-except",
        "try:\n    v = parse(s)\nexcept ValueError as e:\n    v = None\n    msg = str(e)",
        {"parse", "s"},
        {"v", "msg"},
    ),
    ("try-finally", "try:\n    r = go()\nfinally:\n    done = True", {"go"}, {"r", "done"}),
    ("with", "with open(p) as fh:\n    text = fh.read()", {"p"}, {"fh", "text"}),
    (
        "import",
        "import numpy as np\nimport os.path\nfrom a import b as c",
        set(),
        {"np", "os", "c"},
    ),
    ("del-name", "tmp = 1\ndel tmp", set(), set()),
    ("del-input", "del big", {"big"}, set()),
    ("annotated", "n: int = k", {"k"}, {"n"}),
    ("tuple-unpack", "a, (b, *c) = f()", {"f"}, {"a", "b", "c"}),
    ("star-target-subscript", "x[0], y = 1, 2", {"x"}, {"x", "y"}),
    (
        "match",
        "match cmd:\n    case {'go': speed}:\n        v = speed\n"
        "    case Point(x=px):\n        v = px",
        {"cmd", "Point"},
        {"speed", "v", "px"},
    ),
    ("fstring", 'msg = f"{name}: {score:.{digits}f}"', {"name", "score", "digits"}, {"msg"}),
]


@pytest.mark.parametrize(
    ("source", "reads", "writes"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_corpus(source: str, reads: set[str], writes: set[str]) -> None:
    flow = analyze(source)
    assert set(flow.reads) - B == reads
    assert set(flow.writes) == writes


def test_maybe_reads_are_not_definite() -> None:
    """A name a closure uses but the cell binds later is only an input if it exists before."""
    flow = analyze("f = lambda: z\nz = 1")
    assert flow.maybe_reads == ("z",)
    flow = analyze("if c:\n    y = 1\nprint(y)")
    assert "y" in flow.maybe_reads and "y" not in flow.reads


def test_binding_kinds_tell_data_from_code() -> None:
    flow = analyze(
        "import os\ndef f():\n    pass\nclass K:\n    pass\nfor i in r:\n    pass\nx = 1"
    )
    assert [flow.kind(n) for n in ("os", "f", "K", "i", "x")] == [
        "import",
        "def",
        "class",
        "loop",
        "value",
    ]


def test_read_lines_point_at_first_use() -> None:
    assert analyze("a = 1\n\nb = c + a\nd = c").line_of("c") == 3


def test_output_order_follows_the_last_binding() -> None:
    """Deterministic order: the module returns outputs in the order the cell last set them."""
    assert analyze("b = 1\na = 2\nb = 3").bound == ("a", "b")
    assert analyze("z = 1\ny = 2\nx = z").writes == ("z", "y", "x")


def test_links_say_which_bound_names_share_objects() -> None:
    flow = analyze("data = [a, b]\nalias = a\nn = len(a)")
    assert dict(flow.links) == {"data": ("a", "b"), "alias": ("a",)}


def test_figures_are_their_own_kind() -> None:
    flow = analyze(
        "fig, ax = plt.subplots(2)\nf2 = plt.figure()\nax2 = f2.add_subplot(1, 1, 1)\n"
        "ax3 = sns.histplot(df.x)\nax4 = df.plot(x='a')\nax5 = df['x'].plot.hist()\n"
        "tips = sns.load_dataset('tips')\nimg = plt.imread('a.png')\n"
        "counts, edges, _bars = ax.hist(df.x, bins=10)\nn2, b2, p2 = plt.hist(df.x)"
    )
    kinds = {n: flow.kind(n) for n in flow.bound}
    assert {n for n, k in kinds.items() if k == "figure"} == {
        "fig",
        "ax",
        "f2",
        "ax2",
        "ax3",
        "ax4",
        "ax5",
    }
    data = ("tips", "img", "counts", "edges", "n2", "b2")
    assert {kinds[n] for n in data} == {"value"}  # data, never filed as a figure
