"""Steps run by an engine that owns the DAG (Argo), with no jupyter_flow driver.

The test plays Argo: it renders the WorkflowTemplate for a schedule, then runs each DAG task's
container command as a subprocess, in DAG order, fanning out over the index lists the tasks
write (``withParam``) and ending with the ``onExit`` task. So the argv the renderer emits is
the argv that is tested.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.client import Run
from jupyter_flow.runtime import driverless
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.runtime.package import ensure_package
from jupyter_flow.schedule import argo_render
from jupyter_flow.schedule.model import FlowShape, Schedule
from jupyter_flow.schedule.run_history import refresh_from_runs
from jupyter_flow.schedule.store import ScheduleStore
from jupyter_flow.store import open_store
from tests.conftest import REPO

FLOW = """
from jupyter_flow import Flow

flow = Flow("ArgoLike", parameters={"n": 2, "regions": ["eu", "us"]})


@flow.step(outputs="xs")
def make(n):
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return list(range(n))


@flow.step(foreach="region in regions", outputs="label")
def tag(region, n):
    return f"{region}-{n}"


@flow.step(foreach="x in xs", outputs="y", retries=2)
def square(x):
    print("squaring", x)
    return x * x


@flow.step(foreach="sq in y", outputs="tenfold")
def scale(sq):
    return sq * 10


@flow.step(outputs="total")
def join(y, label, tenfold):
    return sum(y) + len(label) + sum(tenfold)
"""
VARIABLE = re.compile(r"\{\{([^}]+)\}\}")


def _schedule(module: Path, root: str, params: Mapping[str, str]) -> Schedule:
    store = open_store(root)
    key = ensure_package(store, module).package_key
    store.close()
    assert key is not None
    shape = FlowShape.of(load_flow(module), str(module), key)
    return Schedule(name="argo-like", flow=shape, target="argo", params=dict(params), root=root)


def _substitute(args: list[str], values: Mapping[str, str]) -> list[str]:
    """Argo's variable substitution; an unknown variable fails the test (the two drifted)."""
    return [VARIABLE.sub(lambda m: values[m.group(1)], arg) for arg in args]


class PlayArgo:
    """Just enough of Argo's DAG semantics to run a rendered template."""

    def __init__(self, template: dict[str, Any], workdir: Path, run_id: str) -> None:
        spec = template["spec"]
        self.templates = {t["name"]: t for t in spec["templates"]}
        self.dag = self.templates[spec["entrypoint"]]["dag"]["tasks"]
        self.on_exit = spec["onExit"]
        self.workdir = workdir
        self.values = {"workflow.name": run_id, "retries": "0"}
        for param in spec["arguments"]["parameters"]:
            self.values[f"workflow.parameters.{param['name']}"] = param["value"]
        self.outputs: dict[str, dict[str, str]] = {}  # dag task -> output parameter -> value
        self.logs: list[subprocess.CompletedProcess[str]] = []

    def _local(self, path: str) -> str:
        """Where this machine keeps a container path (tests run two at a time)."""
        return path.replace(argo_render.FOREACH_DIR, str(self.workdir / "foreach"))

    def _run(self, name: str, extra: Mapping[str, str]) -> bool:
        template = self.templates[name]
        command = _substitute(template["container"]["command"], {**self.values, **extra})
        assert command[:3] == ["python", "-m", "jupyter_flow.task"]
        command = [sys.executable, *command[1:]]
        command = [self._local(a) for a in command]
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "JUPYTER_FLOW_CACHE": str(self.workdir / "cache"),
        }
        done = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            env=env,
            cwd=self.workdir,
            timeout=120,
        )
        self.logs.append(done)
        for param in template.get("outputs", {}).get("parameters", []):
            file = Path(self._local(param["valueFrom"]["path"]))
            if done.returncode == 0:
                self.outputs.setdefault(name, {})[param["name"]] = file.read_text()
        return done.returncode == 0

    def run(self) -> str:
        """Every DAG task in order (the rendered list is topological); stop at a failure;
        then the exit handler. Returns the workflow status."""
        status = "Succeeded"
        for task in self.dag:
            if "withParam" in task:
                ref = re.fullmatch(r"\{\{tasks\.([^.]+)\.outputs\.parameters\.([^}]+)\}\}",
                                   task["withParam"])  # fmt: skip
                assert ref is not None
                items = json.loads(self.outputs[ref.group(1)][ref.group(2)])
                ok = all(
                    self._run(task["template"], {"inputs.parameters.index": str(i)}) for i in items
                )
            else:
                ok = self._run(task["template"], {})
            if not ok:
                status = "Failed"
                break
        self._run(self.on_exit, {"workflow.status": status})
        return status


@pytest.fixture
def module(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "argo_like.py"
    path.parent.mkdir()
    path.write_text(FLOW)
    return path


def test_a_workflow_of_driverless_tasks_gives_the_same_data_as_a_local_run(module, tmp_path):
    root = str(tmp_path / "store")
    schedule = _schedule(module, root, {"n": "3"})
    template = argo_render.render_template(schedule, argo_render.ArgoOptions())
    argo = PlayArgo(template, tmp_path, "argo-like-x7k2p")

    assert argo.run() == "Succeeded", "\n".join(p.stderr for p in argo.logs)

    # the fan-outs got their index lists: 2 regions from the parameters, 3 xs from `make`
    assert argo.outputs["start"] == {"foreach-tag": "[0, 1]"}
    assert argo.outputs["make"] == {"foreach-square": "[0, 1, 2]"}
    assert any("squaring 2" in p.stdout for p in argo.logs)  # pod logs show the step's output
    run = Run("ArgoLike/argo-like-x7k2p", root=root)
    local = load_flow(module).run({"n": 3}, root=str(tmp_path / "local"), max_workers=1)
    names = ["n", "regions", "xs", "label", "y", "tenfold", "total"]
    assert {k: run.data[k] for k in names} == {k: local.data[k] for k in names}
    # `scale` loops over the joined output of the foreach `square`: one task per square task
    assert run.data["tenfold"] == [0, 10, 40]
    assert run.data["total"] == 0 + 1 + 4 + 2 + 50
    assert run.status == "done"
    assert run.record.schedule == "argo-like"  # so `schedule history` finds the workflow
    assert run.record.executor == "argo"  # said by the rendered start, not built into the runtime
    assert [t.index for t in run["square"].tasks] == [0, 1, 2]
    assert "squaring 1" in run["square"].tasks[1].stdout


def test_a_failing_step_then_finish_failed_leaves_the_run_failed(module, tmp_path):
    root = str(tmp_path / "store")
    schedule = _schedule(module, root, {"n": "-1"})
    template = argo_render.render_template(schedule, argo_render.ArgoOptions())
    argo = PlayArgo(template, tmp_path, "argo-like-f00")

    assert argo.run() == "Failed"

    failed = argo.logs[-2]
    assert failed.returncode == 1
    assert "ValueError: n must be >= 0, got -1" in failed.stderr
    assert argo.logs[-1].returncode == 0, argo.logs[-1].stderr  # the exit handler
    run = Run("ArgoLike/argo-like-f00", root=root)
    assert run.status == "failed"
    assert run.record.failed_step == "make"
    assert run.record.error is not None and "n must be >= 0" in run.record.error.message
    store = ScheduleStore(str(tmp_path / "schedules"))
    refresh_from_runs(store, schedule)
    assert [(e.run_id, e.status) for e in store.history("argo-like")] == [
        ("argo-like-f00", "failed")
    ]
    assert "n must be >= 0" in store.history("argo-like")[0].reason


def test_every_command_argo_render_emits_is_accepted(module, tmp_path):
    schedule = _schedule(module, str(tmp_path / "store"), {"n": "3"})
    template = argo_render.render_template(schedule, argo_render.ArgoOptions())
    values = {
        "workflow.name": "wf-1",
        "workflow.parameters.n": "3",
        "inputs.parameters.index": "1",
        "workflow.status": "Error",
        "retries": "2",
    }
    verbs = {}
    for t in template["spec"]["templates"]:
        if "container" in t:
            args = driverless.parse_args(_substitute(t["container"]["command"][3:], values))
            verbs[t["name"]] = args
            assert (args.flow, args.run_id) == ("ArgoLike", "wf-1")
            assert args.package == schedule.flow.package_key
    assert verbs["start"].param == ["n=3"]
    assert verbs["start"].foreach_out == [f"regions={argo_render.FOREACH_DIR}/foreach-tag.json"]
    assert (verbs["square"].step, verbs["square"].index, verbs["square"].attempt) == (
        "square",
        1,
        2,
    )
    assert verbs["join"].attempt == 0  # no retryStrategy: Argo has no {{retries}} there
    assert verbs["finish"].status == "Error"
    assert set(verbs) == {"start", "make", "tag", "square", "scale", "join", "finish"}


def test_run_takes_the_flow_from_a_stored_code_package(module, tmp_path):
    root = str(tmp_path / "store")
    key = _schedule(module, root, {}).flow.package_key
    module.unlink()  # only the package has the code now
    env = {**os.environ, "JUPYTER_FLOW_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "jupyter_flow", "run", "argo_like.py", "--package", key]
    command += ["--root", root, "--param", "n=2", "--max-workers", "1", "--quiet"]

    done = subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert "total = 13" in done.stdout  # squares 0 + 1, two labels, tenfold 0 + 10
