"""One cell elsewhere with the live kernel's data: ``%%step NAME --on local`` in a real kernel,
and the same path on the fake Kubernetes API server and the fake Batch endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jupyter_flow.config import Settings
from jupyter_flow.kernel import remote_cell
from jupyter_flow.notebook.cells import Cell, parse_step_line
from tests.fakes.backends import AWS_TEST_ENV, batch_settings, kube_settings
from tests.fakes.batch_api import FakeBatchAPI
from tests.fakes.k8s_api import FakeKubeAPI

from .conftest import LOAD, bundle_of, text_of


def test_in_a_kernel_unsaved_steps_and_failures_are_reported_and_a_cell_runs_elsewhere(
    save_notebook: Callable[[list[str]], Path], execute: Callable[..., Any], tmp_path: Path
) -> None:
    saved = [LOAD, "%%step load\nxs = [1, 2]", "%%step boom\nz = xs[5]"]
    save_notebook(saved)
    nb = execute(
        [
            LOAD,
            "%%step load\nxs = [1, 2, 3]",  # edited, not saved
            "%flow run",
            saved[1],
            "%flow run",
            "import os\nimport numpy as np\n"
            "data = np.arange(5)\nscale = 3\nkernel_pid = os.getpid()\n"
            "def helper(v):\n    return v * 2",
            "%%step calc --cpu 1 --on local\n"
            "import os\n"
            "import matplotlib.pyplot as plt\n"
            "out = helper(data) * scale\n"
            "total = int(out.sum())\n"
            "pid = os.getpid()\n"
            "print('computed', total)\n"
            "plt.plot(out)",
            "print(total, pid != kernel_pid, type(out).__name__)",
            "%%step bad --on kubernetes\ny = missing + data\nimport pandas",
            "%flow steps",
        ],
        allow_errors=True,
    )
    unsaved, failed, run_cell, check, bad, steps = (nb.cells[i] for i in (2, 4, 6, 7, 8, 9))

    error = text_of(unsaved)
    assert "older than this kernel" in error and "save the notebook" in error
    assert "Run " not in error  # refused before anything ran

    text = bundle_of(failed)["text/plain"]
    assert "✗ boom" in text and "IndexError: list index out of range" in text
    assert "z = xs[5]" in text  # the user's line, not our frames
    assert "jupyter_flow/runtime" not in text
    error = text_of(failed)
    assert "step 'boom' failed (cell 3, line 2: \"z = xs[5]\"): IndexError" in error
    assert "%flow run --resume" in error

    assert text_of(check).split() == ["60", "True", "ndarray"]  # ran elsewhere, bound here
    bundle = bundle_of(run_cell)
    assert "✓ calc" in bundle["text/plain"] and "CalcCell/" in bundle["text/plain"]
    assert "data:image/png;base64," in bundle["text/html"]  # its figure, shown in the cell

    error = text_of(bad)
    assert "nothing was submitted" in error
    assert "name 'missing' is not defined" in error
    assert "pandas (from pandas)" in error and "--packages auto" in error
    assert not list((tmp_path / "store").glob("runs/BadCell"))
    assert "calc" in text_of(steps) and "data, scale" in text_of(steps)


@pytest.fixture(scope="module")
def kube_api() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI() as api:
        yield api


@pytest.fixture(scope="module")
def batch_api() -> Iterator[FakeBatchAPI]:
    with FakeBatchAPI() as api:
        yield api


@pytest.fixture(params=["kubernetes", "batch"])
def remote(
    request: pytest.FixtureRequest, root: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, Settings]:
    if request.param == "kubernetes":
        return "kubernetes", kube_settings(request.getfixturevalue("kube_api"), root)
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    return "batch", batch_settings(request.getfixturevalue("batch_api"), root)


def test_a_cell_runs_remotely_on_the_fake_backends(remote: tuple[str, Settings]) -> None:
    on, settings = remote
    options = parse_step_line("fit --cpu 1 --memory 256M --image python:3", Cell(1, None, ""))
    ns: dict[str, Any] = {"np": np, "data": np.arange(4.0), "offset": 1.5}
    handle, values = remote_cell.run_cell(
        options,
        "fitted = np.polyfit(data, data * 2 + offset, 1)\nprint('fitted')",
        ns,
        on=on,
        settings=settings,
    )
    np.testing.assert_allclose(ns["fitted"], [2.0, 1.5], atol=1e-9)
    assert values.keys() == {"fitted"}
    assert handle.run.record.executor == on
    assert "[fit/0#1 stdout] fitted" in handle.run.logs()  # its print, captured remotely
