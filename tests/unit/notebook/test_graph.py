"""The DAG export infers: the kernel's top-to-bottom semantics, as steps, edges and outputs."""

from __future__ import annotations

from typing import Any

from jupyter_flow.notebook.api import analyze, export_source, flow_name_for, module_path_for

from .conftest import make_nb


def graph(*cells: str | tuple[str, str]) -> dict[str, Any]:
    result = analyze(make_nb(*cells), notebook_path="work/demo.ipynb")
    assert result["problems"] == []
    return result


def steps(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in result["steps"]}


def test_a_step_reads_the_latest_value_written_above() -> None:
    g = graph("%%step a\nx = 1", "%%step b\nx = 2", "%%step c\ny = x")
    assert ["b", "c"] in g["edges"] and ["a", "c"] not in g["edges"]


def test_independent_steps_are_parallel_branches() -> None:
    g = graph(
        "%%step a\nx = 1", "%%step b\ny = x + 1", "%%step c\nz = x * 2", "%%step d\nw = y + z"
    )
    assert sorted(g["edges"]) == [["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"]]


def test_two_writers_of_a_final_value_are_ordered() -> None:
    g = graph("%%step a\nx = 1", "%%step b\ny = x", "%%step c\nx = 5")
    assert steps(g)["c"]["after"] == ["a"]


def test_in_place_change_is_a_write_and_an_edge() -> None:
    g = graph("%%step a\nxs = [1]", "%%step b\nxs.append(2)", "%%step c\nn = len(xs)")
    s = steps(g)
    assert s["b"]["inputs"] == ["xs"] and s["b"]["outputs"] == ["xs"]
    assert ["b", "c"] in g["edges"] and ["a", "c"] not in g["edges"]


def test_outputs_are_what_is_needed_or_final() -> None:
    g = graph(
        "%%step a\ntmp = 1\nx = tmp + 1\n_private = 2\nfor i in range(2):\n    pass",
        "%%step b\ntmp = 3\ny = x",
    )
    s = steps(g)
    assert s["a"]["outputs"] == ["x"]  # tmp is overwritten by b; _private and i are scratch
    assert s["b"]["outputs"] == ["tmp", "y"]


def test_declared_outputs_and_inputs_override_inference() -> None:
    g = graph(
        "%%step a\nx = 1\ny = 2",
        "%%step b --outputs y\ny = x + 1\nz = 0",
        "%%step c --inputs y\nw = eval('y')",
    )
    s = steps(g)
    assert s["b"]["outputs"] == ["y"] and s["c"]["inputs"] == ["y"]


def test_foreach_item_comes_first_and_the_list_is_implied() -> None:
    g = graph(
        ("parameters", "xs = [1, 2]"), "%%step a\nk = 3", "%%step f --foreach x in xs\ny = x * k"
    )
    s = steps(g)["f"]
    assert s["inputs"] == ["x", "k"] and s["foreach"] == "x in xs"
    assert g["parameters"] == {"xs": [1, 2]}


def test_parameters_and_module_definitions_are_not_edges() -> None:
    g = graph(
        "import math\nLIMIT = 3\n\n\ndef f(v):\n    return math.sqrt(v) + LIMIT",
        "%%params\nn = 4",
        "%%step a\ny = f(n)",
    )
    assert steps(g)["a"]["inputs"] == ["n"] and g["edges"] == []


def test_import_inside_a_step_is_shared_with_later_steps() -> None:
    g = graph("%%step a\nimport json\ns = json.dumps(1)", "%%step b\nt = json.loads(s)")
    assert steps(g)["b"]["inputs"] == ["s"]


def test_a_closure_over_a_later_binding_is_not_an_input() -> None:
    g = graph("%%step a\nz = 0", "%%step b\nf = lambda: w\nw = 1\nv = f()")
    assert steps(g)["b"]["inputs"] == []


def test_a_closure_over_an_upstream_value_is_an_input() -> None:
    g = graph("%%step a\nscale = 2", "%%step b\nf = lambda v: v * scale\nys = [f(1)]")
    assert steps(g)["b"]["inputs"] == ["scale"]


def test_resources_and_options_in_the_table() -> None:
    g = graph(
        "%%step t --cpu 500m --memory 2G --gpu 1 --retries 3 --timeout 1h --packages 'a b'\nx = 1"
    )
    s = steps(g)["t"]
    assert s["resources"] == {"cpu": 0.5, "memory_mb": 2048, "gpu": 1}
    assert (s["retries"], s["timeout"], s["packages"]) == (3, 3600.0, ["a", "b"])
    assert s["cell_index"] == 1 and s["cell_id"] == "c1"


def test_names_and_paths() -> None:
    assert flow_name_for("data/01-taxi trips.ipynb") == "TaxiTripsFlow"
    assert flow_name_for("my_flow.ipynb") == "MyFlow"
    assert module_path_for("data/01-taxi trips.ipynb") == "data/01_taxi_trips_flow.py"
    g = graph("%%step a\nx = 1")
    assert (g["flow"], g["module_path"]) == ("DemoFlow", "work/demo_flow.py")


def test_analyze_accepts_a_plain_dict_from_the_browser() -> None:
    nb = make_nb("%%step a\nx = 1")
    raw = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": "x1",
                "metadata": {},
                "source": ["%%step a\n", "x = 1"],
                "outputs": [],
                "execution_count": None,
            }
        ],
    }
    assert analyze(raw, notebook_path="d.ipynb")["steps"][0]["cell_id"] == "x1"
    assert analyze(nb, notebook_path="d.ipynb")["steps"][0]["outputs"] == ["x"]


def test_analyze_never_raises_for_garbage() -> None:
    result = analyze({"cells": "nope"}, notebook_path="d.ipynb")
    assert result["steps"] == [] and result["problems"]


def test_changing_a_module_in_place_is_not_data() -> None:
    g = graph(
        "import sys\nimport matplotlib as mpl",
        "%%step a\nsys.path.append('lib')\nmpl.rcParams.update({'figure.dpi': 80})\nx = 1",
    )
    assert steps(g)["a"]["outputs"] == ["x"]


def test_analyze_is_json_for_the_browser() -> None:
    import json

    g = graph(("parameters", "a = {1, 2}\nb = b'x'\nc = (1, 2)\nd = 1j"), "%%step s\nx = a")
    assert json.loads(json.dumps(g))["parameters"] == {
        "a": "{1, 2}",
        "b": "b'x'",
        "c": [1, 2],
        "d": "1j",
    }


def observed(nb: Any, **names: tuple[str, ...]) -> tuple[Any, list[Any]]:
    """Build the graph as export does after the kernel recorded in-place changes."""
    from dataclasses import replace

    from jupyter_flow.notebook.api import _parse_cells
    from jupyter_flow.notebook.cells import StepCell
    from jupyter_flow.notebook.graph import build_graph

    problems: list[Any] = []
    cells = [
        replace(c, observed=names[c.options.name])
        if isinstance(c, StepCell) and c.options.name in names
        else c
        for c in _parse_cells(nb, problems)
    ]
    return build_graph(cells, flow_name="DemoFlow", notebook_name="demo.ipynb")


def test_a_change_the_kernel_observed_is_a_read_and_a_write() -> None:
    nb = make_nb(
        "%%step load\ndf = {'a': 1}",
        "%%step prep\nadd_features(df)\nn = 1",
        "%%step use\nm = len(df)",
        "def add_features(d):\n    d['b'] = 2",
    )
    nb.cells.insert(0, nb.cells.pop())  # the helper above the steps
    g, problems = observed(nb, prep=("df",))
    assert problems == []
    prep = next(s for s in g.steps if s.name == "prep")
    assert prep.inputs == ("df",) and "df" in prep.outputs
    assert ("prep", "use") in g.edges and ("load", "use") not in g.edges


def test_an_observed_change_missing_from_declared_outputs_is_refused_at_the_step_line() -> None:
    nb = make_nb("%%step load\ndf = {'a': 1}", "%%step prep --outputs n\nmutate(df)\nn = 1")
    _, problems = observed(nb, prep=("df",))
    assert len(problems) >= 1
    err = problems[0]
    assert err.location.index == 2 and err.location.line == 1
    assert "step 'prep' changed 'df' in place when it ran in the kernel" in err.headline
    assert "its --outputs do not list it" in err.headline
    assert err.hint == "add df to --outputs, or remove --outputs and let export find the outputs"


CONTAINER = (
    "%%step load\ntrain = [1]\ntest = [2]",
    "%%step group\ndata = [train, test]",
    "%%step feat\nfor d in data:\n    d.append(0)",
    "%%step fit\nn = len(train) + len(test)",
)


def test_a_container_built_in_one_step_and_changed_through_in_another() -> None:
    g = graph(*CONTAINER)
    s = steps(g)
    # the kernel's fit sees the appended rows: it must read train/test from feat
    assert set(s["feat"]["inputs"]) == {"data", "train", "test"}
    assert {"train", "test", "data"} <= set(s["feat"]["outputs"])
    assert ["feat", "fit"] in g["edges"] and ["load", "fit"] not in g["edges"]
    # and feat gets all three from one task (group), so they still share objects there
    built, _ = export_source(
        make_nb(*CONTAINER), notebook_path="d.ipynb", module_path="d_flow.py", fmt=False
    )
    feat = next(st for st in built.steps if st.name == "feat")
    assert dict(feat.sources) == {"data": "group", "train": "group", "test": "group"}


def test_an_alias_made_in_one_step_and_changed_in_another() -> None:
    g = graph(
        "%%step load\na = [1]",
        "%%step alias\nb = a",
        "%%step change\nb.append(2)",
        "%%step use\nn = len(a)",
    )
    s = steps(g)
    assert set(s["change"]["outputs"]) >= {"a", "b"}
    assert ["change", "use"] in g["edges"]


def test_an_object_holding_a_value_in_an_attribute_shares_it() -> None:
    # box.data is train in the kernel: changing it through box changes train
    g = graph(
        "import types",
        "%%step load\ntrain = [1]\nbox = types.SimpleNamespace()",
        "%%step pack\nbox.data = train",
        "%%step change\nbox.data.append(2)",
        "%%step use\nn = len(train)",
    )
    s = steps(g)
    assert set(s["change"]["outputs"]) >= {"box", "train"}
    assert ["change", "use"] in g["edges"]


def test_an_alias_that_nothing_changes_adds_no_outputs() -> None:
    g = graph("%%step a\nx = 1", "%%step b\ny = x", "%%step c\nz = x + y")
    assert steps(g)["b"]["outputs"] == ["y"] and ["a", "c"] in g["edges"]


def test_a_function_a_later_step_uses_moves_to_module_level() -> None:
    result = analyze(
        make_nb(
            "import math",
            "%%step a\ndef f(v):\n    return math.sqrt(v) + g(v)\n"
            "def g(v):\n    return v\nx = f(4)",
            "%%step b\ny = f(x)",
        ),
        notebook_path="d.ipynb",
    )
    assert result["problems"] == []
    b = steps(result)["b"]
    assert b["inputs"] == ["x"]  # f is module-level now, not an artifact


def test_figures_are_not_outputs_unless_a_later_step_reads_them() -> None:
    g = graph(
        "import matplotlib.pyplot as plt",
        "%%step a\nfig, ax = plt.subplots()\nx = 1",
        "%%step b\nfig2 = plt.figure()\nax3 = fig2.add_subplot(1, 1, 1)\ny = x",
        "%%step c\nax3.set_title('t')",
    )
    s = steps(g)
    assert "fig" not in s["a"]["outputs"] and "ax" not in s["a"]["outputs"]
    assert "ax3" in s["b"]["outputs"] and "fig2" not in s["b"]["outputs"]


def test_a_module_level_function_may_use_a_function_moved_out_of_a_step() -> None:
    nb = make_nb(
        "%%step a\ndef base(v):\n    return v + 1\nx = base(1)",
        "def twice(v):\n    return base(base(v))",
        "%%step b\ny = twice(x)",
    )
    graph_, source = export_source(nb, notebook_path="d.ipynb", module_path="d_flow.py", fmt=False)
    module = source.split("flow = Flow(")[0]
    assert module.index("def base(v):") < module.index("def twice(v):")
    assert [s.inputs for s in graph_.steps] == [(), ("x",)]


def test_a_function_used_only_in_its_own_step_is_never_checked_or_moved() -> None:
    g = graph("%%step a\nk = 2\ndef f(v):\n    return v * k\nx = f(1)", "%%step b\ny = x")
    assert steps(g)["b"]["inputs"] == ["x"]


def test_an_observed_name_the_step_binds_before_reading_is_only_a_write() -> None:
    nb = make_nb("def fill(d):\n    d['b'] = 2", "%%step a\ndf = {'a': 1}\nfill(df)")
    g, problems = observed(nb, a=("df",))
    assert problems == [] and g.steps[0].inputs == () and g.steps[0].outputs == ("df",)
