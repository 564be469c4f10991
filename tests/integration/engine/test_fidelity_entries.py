"""The prelude and shared outputs through the other two ways a task runs: the container entry
(``python -m jupyter_flow.task SPEC``) and Argo's driverless tasks. Both go through
``run_task``, so both must start every task from the prelude and load groups together."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from jupyter_flow.client import Run
from jupyter_flow.flow.dag import PARAMS
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.taskspec import CodeRef, Input, TaskSpec
from jupyter_flow.schedule import argo_render
from jupyter_flow.store import artifacts, open_store
from jupyter_flow.store.records import Records
from tests.conftest import REPO
from tests.integration.test_driverless import PlayArgo, _schedule

FLOW = """
import numpy as np
from jupyter_flow import Flow

flow = Flow("Entries", parameters={"items": [0, 1, 2]})


@flow.prelude
def prelude():
    np.random.seed(7)


@flow.step(outputs=("data", "first", "draw"))
def split():
    first = {"rows": [1, 2]}
    return [first, {"rows": [3]}], first, np.random.rand(3).tolist()


@flow.step(foreach="item in items", outputs="checks")
def each(item, data, first):
    shared = data[0] is first
    first["rows"].append(item)
    return [shared, data[0]["rows"], np.random.rand(3).tolist()]
"""


def fresh() -> list[float]:
    np.random.seed(7)
    return list(np.random.rand(3))


def expected_checks() -> list[list[object]]:
    return [[True, [1, 2, i], fresh()] for i in range(3)]


def test_argo_driverless_tasks_run_the_prelude_and_keep_identity(tmp_path):
    module = tmp_path / "project" / "entries.py"
    module.parent.mkdir()
    module.write_text(FLOW)
    root = str(tmp_path / "store")
    template = argo_render.render_template(_schedule(module, root, {}), argo_render.ArgoOptions())
    argo = PlayArgo(template, tmp_path, "entries-a1")
    assert argo.run() == "Succeeded", "\n".join(p.stderr for p in argo.logs)
    run = Run("Entries/entries-a1", root=root)
    assert run.data.draw == fresh()
    assert run.data.checks == expected_checks()


def test_the_container_entry_runs_the_prelude_and_loads_a_group_together(write_flow, root):
    path = write_flow(FLOW, "entries.py")
    local = load_flow(path).run(root=root, max_workers=1)
    split = local["split"].task.record
    params = Records(open_store(root)).read_task("Entries", local.id, PARAMS, 0)
    assert params is not None
    found = {n: split.artifact(n) for n in ("data", "first")} | {"items": params.artifact("items")}
    saved = {n: a for n, a in found.items() if a is not None}
    assert saved["data"].group is not None  # data and first were saved together
    spec = TaskSpec(
        flow="Entries",
        run_id="container-1",
        step="each",
        index=1,
        attempt=1,
        store_url=root,
        code=CodeRef(str(path), "entries"),
        inputs=(
            Input("data", (saved["data"],)),
            Input("first", (saved["first"],)),
            Input("item", (saved["items"],), item=1),
        ),
        outputs=("checks",),
        foreach_count=3,
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_flow.task", spec.to_json()],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    store = open_store(root)
    task = Records(store).read_task("Entries", "container-1", "each", 1)
    assert task is not None
    assert artifacts.load(store, task.artifacts[0]) == expected_checks()[1]
