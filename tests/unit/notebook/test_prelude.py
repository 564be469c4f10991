"""State set outside steps: seeds and options of untagged cells become the flow's prelude,
replayed before every task, or a located refusal; never silently dropped."""

from __future__ import annotations

import ast

from jupyter_flow.notebook.api import analyze, export_source
from jupyter_flow.notebook.prelude import prelude_statements

from .conftest import make_nb

IMPORTS = "import random\nimport numpy as np\nimport pandas as pd\nimport warnings"


def export(*cells: str | tuple[str, str]) -> tuple[object, str]:
    return export_source(
        make_nb(*cells), notebook_path="d.ipynb", module_path="d_flow.py", fmt=False
    )


def problems(*cells: str | tuple[str, str]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = analyze(make_nb(*cells), notebook_path="d.ipynb")["problems"]
    return found


def classified(code: str, constants: tuple[str, ...] = ()) -> list[str]:
    tree = ast.parse(code)
    return [e.source for _, e in prelude_statements(tree, code, constants=constants)]


def test_constant_arguments_are_replayable() -> None:
    code = "import numpy as np\nSEED = 42\nnp.random.seed(SEED)\nnp.random.seed(other)"
    assert classified(code, constants=("SEED",)) == ["np.random.seed(SEED)"]
    assert classified(code) == []  # without knowing SEED is a constant, nothing replays


def test_builtins_and_module_attributes_are_replayable_arguments() -> None:
    code = (
        "import warnings, logging\n"
        "warnings.filterwarnings('ignore', category=FutureWarning)\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "pd.set_option('display.float_format', lambda x: f'{x:.2f}')\n"
        "pd.set_option('display.max_rows', rows)"
    )
    assert classified(code) == [
        "warnings.filterwarnings('ignore', category=FutureWarning)",
        "logging.basicConfig(level=logging.INFO)",
        "pd.set_option('display.float_format', lambda x: f'{x:.2f}')",
    ]


def test_seeds_and_options_become_the_prelude_in_notebook_order() -> None:
    graph, source = export(
        IMPORTS,
        "SEED = 7\nnp.random.seed(SEED)\npd.set_option('display.max_columns', 50)",
        "%%step a\nx = np.random.rand(2)",
        "random.seed(1)",
        "%%step b\ny = random.random() + x.sum()",
    )
    entries = [(e.cell.index, e.statement.source) for e in graph.prelude]  # type: ignore[attr-defined]
    assert entries == [
        (2, "np.random.seed(SEED)"),
        (2, "pd.set_option('display.max_columns', 50)"),
        (4, "random.seed(1)"),
    ]
    seeds = graph.seeds()  # type: ignore[attr-defined]
    assert {g: e.statement.source for g, e in seeds.items()} == {
        "numpy": "np.random.seed(SEED)",
        "random": "random.seed(1)",
    }
    assert (
        "@flow.prelude\n"
        "def prelude():\n"
        '    """State the notebook sets outside its steps (cells 2, 4); every task starts '
        'from it."""\n'
        "    np.random.seed(SEED)\n"
        '    pd.set_option("display.max_columns", 50)\n'
    ) in source
    assert "SEED = 7\n" in source and "import random\n" in source  # what the prelude uses
    assert source.index("flow = Flow(") < source.index("@flow.prelude") < source.index("def a(")


def test_no_prelude_no_function() -> None:
    _, source = export("import numpy as np", "%%step a\nx = np.zeros(2)")
    assert "prelude" not in source


def test_a_seed_the_flow_cannot_replay_is_a_located_error() -> None:
    found = problems(
        "import numpy as np",
        ("parameters", "seed = 3"),
        "x = 1\nnp.random.seed(seed)",
        "%%step a\ny = np.random.rand()",
    )
    assert len(found) == 1
    loc = found[0]["location"]
    assert isinstance(loc, dict) and (loc["index"], loc["line"]) == (3, 2)
    assert "numpy.random.seed" in str(found[0]["message"])
    assert "constant" in str(found[0]["hint"])


def test_a_seed_inside_a_loop_of_an_untagged_cell_is_refused() -> None:
    found = problems(
        "import random\nfor i in range(3):\n    random.seed(i)", "%%step a\ny = random.random()"
    )
    assert found and "random.seed" in str(found[0]["message"])


def test_a_seed_inside_a_function_is_a_definition() -> None:
    graph, _ = export(
        "import random\ndef reset(n):\n    random.seed(n)",
        "%%step a\nreset(1)\ny = random.random()",
    )
    assert graph.prelude == ()  # type: ignore[attr-defined]


def test_state_set_after_the_last_step_changes_nothing_the_flow_computes() -> None:
    graph, source = export(
        "import numpy as np",
        "%%step a\nx = np.zeros(2)",
        "np.random.seed(n)\nnp.seterr(all='raise')",
    )
    assert graph.prelude == () and "prelude" not in source  # type: ignore[attr-defined]


def test_configuring_a_module_in_an_untagged_cell_does_not_hide_it_from_steps() -> None:
    """``plt.rcParams.update(...)`` / ``sys.path.insert(...)`` change the module, which a
    later step still imports as usual (it is not a value of the cell)."""
    graph, source = export(
        "import sys\nimport matplotlib.pyplot as plt",
        "plt.rcParams.update({'figure.dpi': 80})\nsys.path.insert(0, 'lib')",
        "%%step a\nfig = plt.figure()\nn = len(sys.path)",
    )
    assert [e.statement.source for e in graph.prelude] == [  # type: ignore[attr-defined]
        "plt.rcParams.update({'figure.dpi': 80})",
        "sys.path.insert(0, 'lib')",
    ]
    assert "def a():" in source


def test_os_environ_assignment_is_replayed() -> None:
    graph, _ = export(
        "import os\nos.environ['OMP_NUM_THREADS'] = '1'",
        "%%step a\nn = os.environ['OMP_NUM_THREADS']",
    )
    assert [e.statement.kind for e in graph.prelude] == ["config"]  # type: ignore[attr-defined]


def test_a_step_named_prelude_clashes_only_when_there_is_one() -> None:
    assert problems("%%step prelude\nx = 1") == []
    found = problems("import random\nrandom.seed(0)", "%%step prelude\nx = random.random()")
    assert found and "module-level name" in str(found[0]["message"])


def test_a_setting_changed_inside_a_step_for_later_steps_is_refused() -> None:
    # in the kernel step b sees MODE; in the flow it would depend on which worker ran a
    found = problems(
        "import os\nimport pandas as pd",
        "%%step a\nx = 1\nos.environ['MODE'] = str(x)",
        "%%step b\nmode = os.environ.get('MODE')",
    )
    assert [(p["location"]["index"], p["location"]["line"]) for p in found] == [(2, 3)]
    assert "process-wide setting (os.environ)" in str(found[0]["message"])
    assert "untagged cell above" in str(found[0]["hint"])
    last = problems("import pandas as pd", "%%step a\npd.set_option('display.precision', 2)")
    assert last == []  # the last step: nothing after it can see the setting


def test_a_setting_between_steps_is_refused() -> None:
    # the prelude runs before every task: step a would see what it did not see in the kernel
    found = problems(
        IMPORTS,
        "%%step a\nx = 1",
        "warnings.filterwarnings('error')",
        "%%step b\ny = x + 1",
    )
    assert [(p["location"]["index"], p["location"]["line"]) for p in found] == [(3, 1)]
    assert "after step 'a' (cell 2) ran" in str(found[0]["message"])
