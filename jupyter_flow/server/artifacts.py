"""A run's artifacts over HTTP, for the Lab's run page: the list, and a preview of one.

The list comes from the task records (name, type, size, summary: no value is loaded). A
preview loads the value in a child process (``jupyter_flow.preview``), bounded in time and
output, so a big or odd value never loads into the server.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from jupyter_flow.errors import RunNotFound

from .base import endpoint, in_thread
from .errors import BadRequest
from .runs import AUTH_RESOURCE, NAME, RUN_ID, RunsBase

PREVIEW_SECONDS = 60.0
PREVIEW_BYTES = 4 << 20


def list_artifacts(pathspec: str, *, root: str) -> list[dict[str, Any]]:
    """Each step's outputs in flow order; a foreach step's output is one entry per task."""
    from jupyter_flow import client

    run = client.Run(pathspec, root=root)
    record = run.record
    found: list[dict[str, Any]] = []
    for info in record.steps:
        for task in run[info.name].tasks:
            for art in task.record.artifacts:
                found.append(
                    {
                        "step": info.name,
                        "index": task.record.index,
                        "foreach": info.foreach is not None,
                        "name": art.name,
                        "type": art.type,
                        "size": art.size,
                        "summary": art.summary,
                        "final": record.final.get(art.name) == info.name,
                    }
                )
    return found


async def preview_artifact(
    root: str, pathspec: str, step: str, index: int, name: str, cwd: Path
) -> dict[str, Any]:
    """The child's JSON answer; a timeout or a crash is an error answer, not a 500."""
    command = [sys.executable, "-m", "jupyter_flow.preview", root, pathspec, step, str(index)]
    child = await asyncio.create_subprocess_exec(
        *command,
        name,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(), PREVIEW_SECONDS)
    except asyncio.TimeoutError:
        child.kill()
        await child.wait()
        return {"kind": "error", "message": f"loading {name} took over {PREVIEW_SECONDS:.0f} s"}
    if child.returncode != 0 or len(out) > PREVIEW_BYTES:
        why = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        if len(out) > PREVIEW_BYTES:
            why = [f"the preview is over {PREVIEW_BYTES >> 20} MB"]
        return {"kind": "error", "message": f"cannot preview {name}: {why[0]}"}
    answer: dict[str, Any] = json.loads(out)
    return answer


class ArtifactsHandler(RunsBase):
    """GET ?path=: the run's artifacts (no values loaded)."""

    @endpoint(AUTH_RESOURCE)
    async def get(self, flow: str, run_id: str) -> None:
        root = await self.store_root(self.notebook_dir())
        found = await in_thread(list_artifacts, f"{flow}/{run_id}", root=root)
        self.reply({"id": run_id, "flow": flow, "artifacts": found})


class PreviewHandler(RunsBase):
    """GET ?path=&index=: a bounded preview of one artifact of one task."""

    @endpoint(AUTH_RESOURCE)
    async def get(self, flow: str, run_id: str, step: str, name: str) -> None:
        index = self.int_argument("index", 0) or 0
        if index < 0:
            raise BadRequest(f"index must be 0 or more, not {index}")
        notebook_dir = self.notebook_dir()
        root = await self.store_root(notebook_dir)
        pathspec = f"{flow}/{run_id}"
        await in_thread(_check_exists, pathspec, root, step, name)
        answer = await preview_artifact(root, pathspec, step, index, name, notebook_dir)
        self.reply({"step": step, "index": index, "name": name, **answer})


def _check_exists(pathspec: str, root: str, step: str, name: str) -> None:
    """404 for a run, step or artifact that is not there (before starting a process)."""
    for art in list_artifacts(pathspec, root=root):
        if art["step"] == step and art["name"] == name:
            return
    raise RunNotFound(f"{pathspec} has no artifact {name!r} in step {step!r}")


_RUN = rf"runs/(?P<flow>{NAME})/(?P<run_id>{RUN_ID})"
ROUTES = [
    (rf"{_RUN}/artifacts", ArtifactsHandler),
    (rf"{_RUN}/artifacts/(?P<step>{NAME})/(?P<name>{NAME})", PreviewHandler),
]
