"""(Not tests.) Small stand-ins for the notebook API and the run client, for handler tests.

They follow the documented contracts (``analyze`` returns the graph dict, ``export_notebook``
writes the module beside the notebook or raises a located ``NotebookError``), so the
handler tests do not depend on the whole engine.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_flow.errors import CellLocation, NotebookError, RunNotFound

STEP = re.compile(r"^%%step\s+(\S+)(.*)$")


def _cells(nb: Any) -> list[dict[str, Any]]:
    return [dict(cell) for cell in nb["cells"]]


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def fake_analyze(nb: Any, *, notebook_path: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for index, cell in enumerate(_cells(nb), start=1):
        first = _source(cell).split("\n", 1)[0]
        match = STEP.match(first)
        if not match:
            continue
        name = match.group(1)
        if not name.isidentifier():
            err = NotebookError(
                f"{name!r} is not a valid step name",
                location=CellLocation(index, first, cell.get("id")),
                hint="use a Python identifier",
            )
            problems.append(err.to_json())
            continue
        steps.append(
            {
                "name": name,
                "cell_index": index,
                "cell_id": cell.get("id"),
                "inputs": [],
                "outputs": [],
                "resources": {"cpu": 1, "memory_mb": None, "gpu": 0},
                "foreach": None,
                "after": [],
                "retries": 0,
                "timeout": None,
                "packages": [],
            }
        )
    edges = [[a["name"], b["name"]] for a, b in itertools.pairwise(steps)]
    stem = Path(notebook_path).stem
    return {
        "flow": "FakeFlow",
        "module_path": str(Path(notebook_path).with_name(f"{stem}_flow.py")),
        "parameters": [],
        "steps": steps,
        "edges": edges,
        "problems": problems,
    }


@dataclass(frozen=True)
class FakeExport:
    module_path: str
    source: str
    steps: tuple[str, ...]
    flow_name: str
    parameters: tuple[tuple[str, object], ...] = (("n", 1),)  # (name, default), as declared


def fake_export(notebook_path: str, output: Any = None, *, check: bool = False) -> FakeExport:
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    graph = fake_analyze(nb, notebook_path=notebook_path)
    if graph["problems"]:
        first = graph["problems"][0]
        loc = first["location"]
        raise NotebookError(
            first["message"],
            location=CellLocation(loc["index"], loc["first_line"], loc["cell_id"]),
            hint=first["hint"],
        )
    names = tuple(step["name"] for step in graph["steps"])
    source = "flow = Flow('FakeFlow')\n" + "".join(f"def {n}():\n    pass\n" for n in names)
    Path(graph["module_path"]).write_text(source)
    return FakeExport(graph["module_path"], source, names, "FakeFlow")


class FakeRun:
    def __init__(self, pathspec: str, root: str | None = None) -> None:
        self.flow, _, self.id = pathspec.partition("/")
        if self.id not in RUNS:
            raise RunNotFound(f"run {pathspec!r} not found", hint="list runs to see ids")
        self.root = root

    def summary(self) -> dict[str, Any]:
        return dict(RUNS[self.id], root=self.root)

    def logs(self, step: str | None = None, tail: int = 200) -> str:
        lines = [f"{step or 'all'} line {i}" for i in range(500)]
        return "\n".join(lines[-tail:])


RUNS: dict[str, dict[str, Any]] = {
    "r1": {
        "id": "r1",
        "flow": "FakeFlow",
        "status": "done",
        "created": "2026-01-01T00:00:00Z",
        "finished": "2026-01-01T00:00:05Z",
        "params": {},
        "steps": [
            {
                "name": "load",
                "status": "done",
                "tasks_total": 1,
                "tasks_done": 1,
                "tasks_running": 0,
                "tasks_failed": 0,
            }
        ],
    }
}


def fake_list_runs(
    flow_name: str | None = None,
    *,
    status: str | None = None,
    root: str | None = None,
    limit: int | None = None,
) -> list[FakeRun]:
    runs = [FakeRun(f"{r['flow']}/{r['id']}", root) for r in RUNS.values()]
    runs = [r for r in runs if flow_name in (None, r.flow)]
    runs = [r for r in runs if status in (None, RUNS[r.id]["status"])]
    return runs[:limit] if limit is not None else runs
