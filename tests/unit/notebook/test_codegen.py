"""Generated modules: golden files, determinism, compiles, valid flow, ruff-format clean.

Regenerate the golden files after an intended change with
``JUPYTER_FLOW_UPDATE_GOLDEN=1 pytest tests/unit/notebook/test_codegen.py`` and review the diff.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.notebook.api import export_source
from jupyter_flow.notebook.formatting import ruff_binary

from .conftest import make_nb

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "notebook"

NOTEBOOKS: dict[str, tuple[Any, ...]] = {
    "basic": (
        ("md", "# Taxi trips"),
        "%load_ext jupyter_flow\n%matplotlib inline\nimport numpy as np\nimport pandas as pd",
        "THRESHOLD = 3\nunused = 4\n\n\ndef clean(s):\n    # keep comments\n    return s.strip()",
        "def never_used():\n    pass",
        ("parameters", "n_rows = 1000\nlr = 0.1\ncity = 'nyc'"),
        "%%step load --cpu 2 --memory 16G --gpu 1 --retries 2 --timeout 30m\n"
        "!pip install -q pyarrow\n"
        "rng = np.random.default_rng(0)\n"
        "df = pd.DataFrame({'x': rng.normal(size=n_rows)})\n"
        "df['y'] = df.x * 2 + THRESHOLD\n"
        "df",
        "df.describe()",
        "%%step label\n"
        "query = '''\n"
        "select *\n"
        "  from trips\n"
        "'''\n"
        "name = clean(f'  {city} ')\n"
        "for _i in range(3):\n"
        "    pass\n"
        "display(name)",
    ),
    "foreach_join": (
        "import math",
        "%%params\nalphas = [0.1, 1.0, 10.0]\nseed = 0",
        "%%step prepare\nbase = seed + 1",
        "%%step sweep --foreach alpha in alphas --catch --image python:3.11\n"
        "score = math.log(alpha) * base\n"
        "steps = 0\n"
        "for i in range(3):\n"
        "    steps += i",
        "%%step pick\nbest = max(score)\nbest_alpha = alphas[score.index(best)]",
        "%%step rescore\nscore = [s * 2 for s in score]",
    ),
    "branches_mutation": (
        "import pandas as pd",
        "%%step load\n"
        "import json\n"
        "df = pd.DataFrame({'a': [1, 2, 3], 'b': [3.0, None, 1.0]})\n"
        "meta = json.dumps({'rows': 3})",
        "%%step clean\ndf.dropna(inplace=True)\ndf['c'] = df.a * 2",
        "%%step left --packages 'numpy scipy'\nleft_sum = int(df.a.sum())\n_scratch = 1",
        "%%step right --outputs right_max\nright_max = float(df.c.max())\ntmp = json.loads(meta)",
        "%%step join --after left --memory 512M "
        "--inputs left_sum,right_max,a_rather_long_input_name_to_force_wrapping\n"
        "total = left_sum + right_max",
        "%%step extra\na_rather_long_input_name_to_force_wrapping = 1",
    ),
    "prelude": (
        "import random\nimport warnings\nimport numpy as np\nimport pandas as pd",
        "SEED = 42\nnp.random.seed(SEED)\nrandom.seed(0)\n"
        "pd.set_option('display.max_columns', 50)\n"
        "warnings.filterwarnings('ignore', category=FutureWarning)",
        "%%step draw\nx = np.random.rand(3)\ny = random.random()",
        "np.random.seed(1)",
    ),
    "hoisted": (
        "import math",
        "%%step features\n"
        "def scale(v, factor=2):\n"
        "    # a helper the next step uses too\n"
        "    return math.sqrt(v) * factor\n"
        "\n"
        "\n"
        "def _local(v):\n"
        "    return v + 1\n"
        "\n"
        "\n"
        "x = _local(scale(16))",
        "%%step report\ny = scale(x)",
    ),
    "display": (
        "import pandas as pd\nimport matplotlib.pyplot as plt",
        "%%step load\ndf = pd.DataFrame({'a': [1, 2]})\ndf.head()",
        "%%step chart\nfig, ax = plt.subplots()\nax.plot(df.a)\nplt.show()",
        "%%step quiet\nn = len(df)\nn;",
        "%%step summary\nm = df.a.max()\n(df\n  .describe())",
    ),
}


def generate(name: str, fmt: bool = False) -> str:
    nb = make_nb(*NOTEBOOKS[name])
    path = f"{name}.ipynb"
    if name == "branches_mutation":  # a later step writes a name join reads: give it up front
        nb.cells.insert(
            1, make_nb("%%step first\na_rather_long_input_name_to_force_wrapping = 0").cells[0]
        )
        nb.cells[1].id = "c0"
    _, source = export_source(nb, notebook_path=path, module_path=f"{name}_flow.py", fmt=fmt)
    return source


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_golden(name: str) -> None:
    source = generate(name)
    golden = GOLDEN / f"{name}_flow.py"
    if os.environ.get("JUPYTER_FLOW_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(source)
    assert source == golden.read_text(), f"regenerate with JUPYTER_FLOW_UPDATE_GOLDEN=1: {golden}"


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_same_notebook_same_bytes(name: str) -> None:
    assert generate(name, fmt=True) == generate(name, fmt=True)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_module_loads_as_a_valid_flow(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}_flow.py"
    path.write_text(generate(name, fmt=True))
    spec = importlib.util.spec_from_file_location(f"golden_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        dag = module.flow.dag()
    finally:
        sys.modules.pop(spec.name, None)
    assert list(dag.order) == list(module.flow.steps)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_ruff_format_finds_nothing_to_change(name: str, tmp_path: Path) -> None:
    ruff = ruff_binary()
    if ruff is None:
        pytest.skip("ruff is not installed")
    path = tmp_path / f"{name}_flow.py"
    path.write_text(generate(name, fmt=True))
    done = subprocess.run(
        [ruff, "format", "--check", "--isolated", "--diff", str(path)],
        capture_output=True,
        check=False,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_unformatted_cells_are_formatted_by_ruff_when_available() -> None:
    if ruff_binary() is None:
        pytest.skip("ruff is not installed")
    nb = make_nb("%%step a\nx = {'k':[1,2 ,3]}")
    _, source = export_source(nb, notebook_path="d.ipynb", module_path="d_flow.py")
    assert '    x = {"k": [1, 2, 3]}\n' in source


def test_provenance_comment_names_the_cell() -> None:
    source = generate("basic")
    assert "# cell 6 (id: c6)\n@flow.step(" in source


def body_of(*cells: str) -> str:
    nb = make_nb("import pandas as pd\nimport matplotlib.pyplot as plt", *cells)
    _, source = export_source(nb, notebook_path="d.ipynb", module_path="d_flow.py", fmt=False)
    start = source.index("# cell 2")
    return source[start : source.index("\n\n\n", start)]


def test_a_trailing_value_is_displayed_as_the_notebook_showed_it() -> None:
    assert "    display(df.head())\n" in body_of("%%step a\ndf = pd.DataFrame()\ndf.head()")
    assert "    display(df)\n" in body_of("%%step a\ndf = pd.DataFrame()\ndf")


def test_a_trailing_line_that_shows_nothing_or_shows_itself_is_not_displayed() -> None:
    shown_by_itself = ("print(df)", "plt.plot(df.a)", "df.plot()", "fig.show()", "df.info()")
    returns_none = ("df.fillna(0, inplace=True)", "rows.append(1)", "df.to_csv('x.csv')")
    for last in ("df.head();", *shown_by_itself, *returns_none):
        body = body_of(f"%%step a\ndf = pd.DataFrame()\nrows = []\nfig = plt.figure()\n{last}")
        assert "display(" not in body, last
    assert "df\n" not in body_of("%%step a\ndf = pd.DataFrame()\ndf;").split("def a():")[1]


def test_only_the_last_top_level_line_is_displayed() -> None:
    body = body_of("%%step a\ndf = pd.DataFrame()\nif True:\n    df.head()")
    assert "display(" not in body
    body = body_of("%%step a\ndf = pd.DataFrame()\ndf.head()\nn = 1")
    assert "display(" not in body


def test_a_hoisted_definition_leaves_the_step_and_keeps_its_comments() -> None:
    source = generate("hoisted")
    module, steps = source.split("flow = Flow(")
    assert "def scale(v, factor=2):\n    # a helper the next step uses too\n" in module
    assert "def _local" not in module and "    def _local(v):" in steps  # used only there
    assert "def scale" not in steps


def test_a_class_defined_in_a_step_moves_out_so_its_instances_can_be_stored() -> None:
    nb = make_nb("%%step a\nclass Box:\n    pass\nbox = Box()")
    _, source = export_source(nb, notebook_path="d.ipynb", module_path="d_flow.py", fmt=False)
    module, steps = source.split("flow = Flow(")
    assert "class Box:\n    pass\n" in module and "class Box" not in steps
