"""The promise of the project: a notebook run top to bottom in a real kernel and its exported
flow end with the same values. Each example notebook is executed with nbclient, exported,
run as a flow, and every final artifact of the flow is compared with the kernel's value."""

from __future__ import annotations

import importlib.util
import json
import pickle
import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

from jupyter_flow.notebook.api import export_notebook

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "notebooks"
NOTEBOOKS = sorted(p.stem for p in EXAMPLES.glob("*.ipynb"))

pytestmark = pytest.mark.slow


def kernel_values(notebook: Path, names: list[str], dump: Path) -> dict[str, Any]:
    """Execute the notebook in a fresh kernel, then pickle the final value of each name."""
    nb = nbformat.read(notebook, as_version=4)
    grab = (
        "import pickle as _p\n"
        f"with open({str(dump)!r}, 'wb') as _f:\n"
        f"    _p.dump({{_n: globals()[_n] for _n in {names!r}}}, _f)"
    )
    nb.cells.append(nbformat.v4.new_code_cell(grab))
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(notebook.parent)}},
    ).execute()
    with dump.open("rb") as fh:
        values: dict[str, Any] = pickle.load(fh)
    return values


def assert_same(flow_value: Any, kernel_value: Any, where: str) -> None:
    assert type(flow_value) is type(kernel_value), where
    if isinstance(kernel_value, pd.DataFrame):
        pd.testing.assert_frame_equal(flow_value, kernel_value, obj=where)
    elif isinstance(kernel_value, pd.Series):
        pd.testing.assert_series_equal(flow_value, kernel_value, obj=where)
    elif isinstance(kernel_value, np.ndarray):
        np.testing.assert_array_equal(flow_value, kernel_value, err_msg=where)
    elif isinstance(kernel_value, list | tuple):
        assert len(flow_value) == len(kernel_value), where
        for i, (a, b) in enumerate(zip(flow_value, kernel_value, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(kernel_value, dict):
        assert list(flow_value) == list(kernel_value), where
        for key in kernel_value:
            assert_same(flow_value[key], kernel_value[key], f"{where}[{key!r}]")
    elif isinstance(kernel_value, np.random.Generator):  # same draws consumed, same state
        assert flow_value.bit_generator.state == kernel_value.bit_generator.state, where
    elif hasattr(kernel_value, "get_params"):  # a scikit-learn estimator: same fit, same params
        assert repr(flow_value.get_params()) == repr(kernel_value.get_params()), where
        fitted = {k for k in vars(kernel_value) if k.endswith("_") and not k.startswith("_")}
        for attr in sorted(fitted):
            assert_same(getattr(flow_value, attr), getattr(kernel_value, attr), f"{where}.{attr}")
    elif hasattr(kernel_value, "__dict__") and not callable(kernel_value):
        assert_same(vars(flow_value), vars(kernel_value), where)
    else:
        assert flow_value == kernel_value, where


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_flow_ends_with_the_notebooks_values(name: str, tmp_path: Path) -> None:
    notebook = tmp_path / f"{name}.ipynb"
    shutil.copy(EXAMPLES / f"{name}.ipynb", notebook)
    result = export_notebook(str(notebook))
    finals: dict[str, str] = {}
    for step in result.steps:  # the last writer of a name holds its final value
        for out in step["outputs"]:
            finals[out] = step["name"]
    names = sorted(finals)
    assert names, "an example without artifacts proves nothing"

    expected = kernel_values(notebook, names, tmp_path / "kernel.pkl")

    spec = importlib.util.spec_from_file_location(f"{name}_flow", result.module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        run = module.flow.run(root=str(tmp_path / "store"))
        for artifact in names:
            assert_same(getattr(run.data, artifact), expected[artifact], f"{name}: {artifact}")
    finally:
        sys.modules.pop(spec.name, None)


def test_examples_are_committed_without_outputs() -> None:
    """Clean notebooks keep diffs reviewable and CI honest (it runs them itself)."""
    for path in EXAMPLES.glob("*.ipynb"):
        nb = json.loads(path.read_text())
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), path
    assert len(NOTEBOOKS) >= 3
