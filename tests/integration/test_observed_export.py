"""What the kernel observed reaches every export path, with one verdict.

Each notebook runs in a real kernel (nbclient + ipykernel) the way JupyterLab runs it
(``JPY_SESSION_NAME`` set), ending with ``%flow export``; then ``jupyter flow export``,
``jupyter nbconvert --to flow`` (subprocesses) and the server's export route (in-process
jupyter_server) export the saved notebook. All must give the same module, or the same
refusal, or the same note; where a module is written, its run gives the kernel's values.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.slow
pytest_plugins = ["pytest_jupyter.jupyter_server"]

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SAVE = "import json\njson.dump({NAMES}, open('kernel.json', 'w'))"

MUTATES = [
    "%load_ext jupyter_flow\nimport pandas as pd",
    "def add_col(frame):\n    frame['w'] = frame['v'] * 2",
    "%%step make\ndf = pd.DataFrame({'v': range(5)})",
    "%%step prep\nadd_col(df)\nn = len(df)",
    "%%step total\ns = int(df['w'].sum()) + n",
    SAVE.replace("{NAMES}", "{'s': s, 'cols': list(df.columns)}"),
    "%flow export",
]
TWO_DRAWS = [
    "%load_ext jupyter_flow\nimport numpy as np",
    "np.random.seed(0)",
    "%%step a\nx = float(np.random.rand())",
    "%%step b\ny = float(np.random.rand())",
    "%flow run",
    "%flow export",
]
ONE_DRAW = [
    "%load_ext jupyter_flow\nimport numpy as np",
    "np.random.seed(0)",
    "%%step a\nx = float(np.random.rand())",
    SAVE.replace("{NAMES}", "{'x': x}"),
    "%flow export",
]
NEVER_RUN = ["import math", "%%step a\nx = math.sqrt(4)", "%%step b\ny = x + 1"]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


def write(folder: Path, name: str, cells: list[str]) -> Path:
    nb = new_notebook(
        cells=[new_code_cell(c) for c in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    path = folder / name
    nbformat.write(nb, path)
    return path


async def run_in_kernel(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run the saved notebook top to bottom; what each cell printed or raised."""
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    monkeypatch.delenv("JUPYTER_FLOW_ROOT", raising=False)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(path.parent)}},
    )
    await client.async_execute()
    texts = []
    for cell in nb.cells:
        parts = []
        for out in cell.outputs:
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
        texts.append(ANSI.sub("", "".join(parts)))
    return texts


def shell(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


class Paths:
    """The outcome of each export path: module source (or None) and what it said."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.module = path.with_name(path.stem + "_flow.py")
        self.sources: dict[str, str | None] = {}
        self.said: dict[str, str] = {}

    def take(self, where: str, said: str) -> None:
        self.sources[where] = self.module.read_text() if self.module.exists() else None
        self.said[where] = said
        self.module.unlink(missing_ok=True)

    async def every_other_path(self, jp_fetch: Any) -> None:
        folder, name = self.path.parent, self.path.name
        done = shell("jupyter", "flow", "export", name, cwd=folder)
        self.take("cli", done.stderr)
        done = shell("nbconvert", "--to", "flow", name, cwd=folder)
        self.take("nbconvert", done.stderr)
        body = json.dumps({"path": f"{folder.name}/{name}"})
        try:
            answer = await jp_fetch("jupyter-flow", "export", method="POST", body=body)
            reply = json.loads(answer.body)
            said = "\n".join(reply.get("notes", []))
        except HTTPClientError as err:
            assert err.response is not None and err.code == 422
            reply = json.loads(err.response.body)
            said = f"{reply['message']} {reply.get('location')}"
        self.take("server", said)


def flow_values(module: Path, source: str, names: list[str]) -> dict[str, Any]:
    """Run the exported module locally; the final values of ``names``."""
    from jupyter_flow.client import latest_run

    module.write_text(source)
    store = module.parent / "store"
    done = subprocess.run(
        [sys.executable, module.name, "run", "--root", str(store)],
        check=False,
        cwd=module.parent,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    flow = re.search(r'Flow\("(\w+)"', source)
    assert flow is not None
    run = latest_run(flow.group(1), root=str(store))
    return {n: getattr(run.data, n) for n in names}


@pytest.fixture
def folder(jp_root_dir: Path) -> Path:
    made = jp_root_dir / "work"
    made.mkdir()
    return made


async def test_a_change_inside_a_function_reaches_every_path(
    jp_fetch: Any, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = Paths(write(folder, "mutates.ipynb", MUTATES))
    paths.take("magic", (await run_in_kernel(paths.path, monkeypatch))[-1])
    await paths.every_other_path(jp_fetch)
    kernel = json.loads((folder / "kernel.json").read_text())
    assert kernel == {"s": 25, "cols": ["v", "w"]}
    sources = set(paths.sources.values())
    assert len(sources) == 1, paths.said  # one module, whichever path wrote it
    (source,) = sources
    assert source is not None and "def total(df, n):" in source.replace("n, df", "df, n")
    assert not any("not run with the extension" in said for said in paths.said.values())
    values = flow_values(paths.module, source, ["s", "df"])
    assert values["s"] == kernel["s"] and list(values["df"].columns) == kernel["cols"]


async def test_two_steps_drawing_after_one_seed_refuse_everywhere(
    jp_fetch: Any, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = Paths(write(folder, "draws.ipynb", TWO_DRAWS))
    *_, flow_run, flow_export = await run_in_kernel(paths.path, monkeypatch)
    paths.take("magic", flow_export)
    paths.said["%flow run"] = flow_run
    await paths.every_other_path(jp_fetch)
    assert set(paths.sources.values()) == {None}  # nothing written by any path
    for where, said in paths.said.items():
        assert "step 'b' draws from numpy's global random generator" in said, where
        assert "step 'a' (cell 3)" in said and "cell 2" in said, where
    assert "cell 4" in paths.said["cli"]  # located at the drawing step


async def test_one_step_drawing_from_the_seed_reproduces(
    jp_fetch: Any, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = Paths(write(folder, "draw.ipynb", ONE_DRAW))
    paths.take("magic", (await run_in_kernel(paths.path, monkeypatch))[-1])
    await paths.every_other_path(jp_fetch)
    (source,) = set(paths.sources.values())
    assert source is not None, paths.said
    kernel = json.loads((folder / "kernel.json").read_text())
    assert flow_values(paths.module, source, ["x"]) == kernel


async def test_a_never_run_notebook_says_so_on_every_path(
    jp_fetch: Any, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = Paths(write(folder, "fresh.ipynb", NEVER_RUN))
    run, export = "%flow run --notebook fresh.ipynb", "%flow export fresh.ipynb"
    cells = ["%load_ext jupyter_flow", run, export]
    kernel_nb = write(folder, "other.ipynb", cells)
    *_, flow_run, flow_export = await run_in_kernel(kernel_nb, monkeypatch)
    assert "cells 2 and 3 were not run with the extension" in flow_run
    assert "Error" not in flow_run, flow_run  # a note, not a refusal: the run went on
    paths.take("magic", flow_export)
    await paths.every_other_path(jp_fetch)
    assert None not in paths.sources.values() and len(set(paths.sources.values())) == 1
    for where, said in paths.said.items():
        assert "cells 2 and 3 were not run with the extension" in said, where
