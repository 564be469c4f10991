"""Pre-flight of a one-cell remote run: what travels, what is reported, nothing submitted."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from jupyter_flow.kernel import preflight, remote_cell
from jupyter_flow.notebook.cells import Cell, parse_step_line


def opts(line: str):  # type: ignore[no-untyped-def]
    return parse_step_line(line, Cell(1, None, f"%%step {line}"))


def helper(v):  # type: ignore[no-untyped-def]
    return v * 2 + math.pi


helper.__module__ = "__main__"  # as if defined in a notebook cell


class Local:
    pass


Local.__module__ = "__main__"


def test_on_is_a_kernel_only_option_of_the_step_line() -> None:
    assert opts("train --gpu 1 --on kubernetes").on == "kubernetes"
    assert opts("train --on=batch --cpu 2").on == "batch"
    assert opts("train --cpu 2").on is None


def test_names_are_sorted_into_inputs_imports_and_sent_functions() -> None:
    ns = {"np": np, "data": np.arange(3), "helper": helper, "math": math, "sqrt": math.sqrt}
    code, needs, inputs, outputs = remote_cell.plan(
        opts("calc"), "out = helper(data) + sqrt(2)\ntotal = float(np.sum(out))", ns, "local"
    )
    assert inputs == ("data",)
    assert outputs == ("out", "total")
    assert needs.imports == {
        "np": "import numpy as np",
        "sqrt": "from math import sqrt",
        "math": "import math",  # what the sent function uses travels with it
    }
    assert "def helper" in needs.functions["helper"]
    source = remote_cell.module_source(opts("calc"), code, needs, inputs, outputs)
    compile(source, "cell.py", "exec")
    assert "import math" in source and "def calc(data):" in source


def test_every_problem_is_reported_at_once() -> None:
    with open(__file__) as fh:
        ns = {"fh": fh, "obj": Local(), "Local": Local, "lock": threading.Lock()}
        with pytest.raises(preflight.PreflightError) as info:
            remote_cell.plan(
                opts("bad"),
                "import pandas\nx = missing + 1\ny = str(fh) + str(obj) + str(Local)\nz = lock",
                ns,
                "kubernetes",
            )
    text = str(info.value)
    assert "nothing was submitted" in text
    assert "name 'missing' is not defined" in text
    assert "input 'fh' of type _io.TextIOWrapper cannot be sent" in text
    assert "input 'lock' of type _thread.lock cannot be sent" in text
    assert "input 'obj' is a Local, a class defined in the notebook" in text
    assert "class 'Local' is defined in the notebook" in text
    assert "pandas (from pandas)" in text and "--packages auto" in text


def test_packages_auto_pins_the_kernels_versions_of_what_the_cell_uses() -> None:
    from importlib.metadata import version

    _, needs, _, _ = remote_cell.plan(
        opts("fit --packages auto"),
        "import pandas as pd\ns = pd.Series(data)",
        {"data": np.ones(2)},
        "batch",
    )
    assert f"pandas=={version('pandas')}" in needs.packages
    assert f"numpy=={version('numpy')}" in needs.packages  # to load the input array
    assert "auto" not in needs.packages


def test_declared_packages_or_an_image_satisfy_the_check() -> None:
    cell = "import pandas as pd\ns = pd.Series([1])"
    _, needs, _, _ = remote_cell.plan(opts("fit --packages 'pandas>=2'"), cell, {}, "kubernetes")
    assert needs.packages == ("pandas>=2",)
    remote_cell.plan(opts("fit --image my/image:1"), cell, {}, "kubernetes")
    remote_cell.plan(opts("fit"), cell, {}, "local")  # same machine: nothing to install


def test_a_function_reading_kernel_data_is_refused_with_the_fix() -> None:
    def scaled(v):  # type: ignore[no-untyped-def]
        return v * factor  # noqa: F821

    scaled.__module__ = "__main__"
    with pytest.raises(preflight.PreflightError, match="reads the kernel variable 'factor'"):
        remote_cell.plan(opts("s"), "y = scaled(2)", {"scaled": scaled, "factor": 3}, "local")


def test_foreach_item_is_bound_by_the_step_not_shipped() -> None:
    _, needs, inputs, outputs = remote_cell.plan(
        opts("sq --foreach x in xs"), "y = x * k", {"xs": [1, 2], "k": 3, "x": 99}, "local"
    )
    assert inputs == ("x", "k")
    assert set(needs.inputs) == {"xs", "k"}
    assert outputs == ("y",)
