"""One notebook in one real kernel (nbclient + ipykernel): the truth, then the kernel paths.

The kernel runs every cell as a user's Run All would (errors recorded, not raised), the
notebook is saved, and then, in the same kernel, harness cells pickle the compared values,
run ``%flow export`` and ``%flow run``, as a user would after saving.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

CANON = Path(__file__).resolve().parent / "canon.py"
READ_RUN = Path(__file__).resolve().parent / "read_run.py"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL_TIMEOUT = 120
USAGE = "UsageError: "


@dataclass(frozen=True)
class CellError:
    index: int  # 1-based, counting markdown cells, as JupyterLab shows them
    ename: str
    evalue: str
    traceback: str


def kernel_env(notebook: Path) -> dict[str, str]:
    """What JupyterLab gives a kernel: its notebook's name; no store root of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_FLOW_")}
    env["JPY_SESSION_NAME"] = str(notebook)
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def error_of(cell: NotebookNode) -> tuple[str, str, str] | None:
    """(ename, evalue, traceback text) of a cell's error, if it failed. IPython shows a
    magic's ``UsageError`` as ``UsageError: ...`` on stderr, with no error output."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            tb = ANSI.sub("", "\n".join(out.get("traceback", [])))
            return out.get("ename", ""), ANSI.sub("", out.get("evalue", "")), tb
    stderr = "".join(
        out.get("text", "")
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    )
    at = stderr.find(USAGE)
    if at >= 0:
        text = ANSI.sub("", stderr[at + len(USAGE) :]).strip()
        return "UsageError", text, ""
    return None


def text_of(cell: NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return ANSI.sub("", "".join(parts))


class KernelSession:
    """A kernel started for one notebook; ``run_all`` then ``cell`` for harness cells."""

    def __init__(self, notebook: Path) -> None:
        self.notebook = notebook
        self.nb = nbformat.read(notebook, as_version=4)
        self.client = NotebookClient(
            self.nb,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            allow_errors=True,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(notebook.parent)}},
        )
        self._context: Any = None

    def __enter__(self) -> KernelSession:
        self._context = self.client.setup_kernel(env=kernel_env(self.notebook))
        self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)

    def run_all(self) -> list[CellError]:
        """Every cell in order; the errors, and the notebook saved with its outputs."""
        errors = []
        for i, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code":
                continue
            self.client.execute_cell(cell, i)
            found = error_of(cell)
            if found:
                errors.append(CellError(i + 1, *found))
        nbformat.write(self.nb, self.notebook)  # the user saves, then exports
        return errors

    def cell(self, source: str) -> NotebookNode:
        """Run a harness cell (not part of the saved notebook); the cell with its outputs."""
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)  # nbclient stores the cell back at its index
        try:
            self.client.execute_cell(cell, len(self.nb.cells) - 1)
        finally:
            self.nb.cells.pop()
        return cell

    def dump_values(self, names: list[str], out: Path) -> None:
        cell = self.cell(
            "import runpy as _fidelity_runpy\n"
            f"_fidelity_runpy.run_path({str(CANON)!r})['dump_namespace']"
            f"(globals(), {names!r}, {str(out)!r})\n"
            "del _fidelity_runpy"
        )
        found = error_of(cell)
        if found:
            raise RuntimeError(f"harness: could not save the kernel's values: {found[2]}")

    def dump_run(self, root: Path, flow: str, names: list[str], out: Path) -> None:
        """The latest run's final values, read in this kernel with ``jupyter_flow.client``
        (as ``%flow pull`` would) and pickled in canonical form."""
        cell = self.cell(
            "import runpy as _fidelity_runpy\n"
            f"_fidelity_runpy.run_path({str(READ_RUN)!r})['read']"
            f"({str(root)!r}, {flow!r}, {str(out)!r}, {names!r})\n"
            "del _fidelity_runpy"
        )
        found = error_of(cell)
        if found:
            raise RuntimeError(f"harness: could not read the run in the kernel: {found[2]}")
