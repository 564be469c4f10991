"""What a task reads, from the done upstream records: the rules driver and Argo tasks share."""

from __future__ import annotations

import pytest

from jupyter_flow.errors import RunFailed
from jupyter_flow.flow.dag import PARAMS
from jupyter_flow.flow.spec import Flow
from jupyter_flow.runtime.inputs import foreach_count, step_inputs, task_inputs
from jupyter_flow.runtime.taskspec import Input
from jupyter_flow.store.records import Artifact, TaskRecord

flow = Flow("Shapes", parameters={"xs": [1, 2, 3], "tags": {"a", "b"}}, module_file="shapes.py")


@flow.step(foreach="x in xs", outputs="y")
def each(x):
    return x * 10


@flow.step(foreach="v in y", outputs="z")
def again(v):
    return v + 1


@flow.step(foreach="t in tags", outputs="u")
def unordered(t):
    return t


def _artifact(name: str, type_: str = "int", length: int | None = None, key: str = "") -> Artifact:
    return Artifact(name, type_, 1, f"{name}!", key=key or f"key-{name}", length=length)


def _task(step: str, index: int, *artifacts: Artifact) -> TaskRecord:
    return TaskRecord("Shapes", "r1", step, index, "done", 1, 0.0, 0.0, artifacts)


PARAMS_DONE = {
    PARAMS: {
        0: _task(PARAMS, 0, _artifact("xs", "list", 3), _artifact("tags", "set", 2)),
    }
}


def test_a_foreach_over_a_list_has_one_task_per_item_each_reading_its_item():
    dag = flow.dag()
    inputs = step_inputs(flow, dag, flow.steps["each"], PARAMS_DONE)

    assert foreach_count(flow.steps["each"], inputs["xs"]) == 3
    (item,) = task_inputs(flow.steps["each"], inputs, 2)
    assert (item.name, item.item, item.artifacts[0].name) == ("x", 2, "xs")


def test_a_foreach_over_a_join_takes_the_producers_tasks_in_item_order():
    dag = flow.dag()
    ys = {i: _artifact("y", key=f"y{i}") for i in (2, 0, 1)}  # finished out of order
    done = {**PARAMS_DONE, "each": {i: _task("each", i, y) for i, y in ys.items()}}
    inputs = step_inputs(flow, dag, flow.steps["again"], done)

    assert inputs["y"].join and [a.key for a in inputs["y"].artifacts] == ["y0", "y1", "y2"]
    assert foreach_count(flow.steps["again"], inputs["y"]) == 3
    assert task_inputs(flow.steps["again"], inputs, 1) == (Input("v", (ys[1],)),)


def test_a_set_has_no_order_to_split_so_the_step_is_named_with_a_fix():
    inputs = step_inputs(flow, flow.dag(), flow.steps["unordered"], PARAMS_DONE)

    with pytest.raises(RunFailed) as err:
        foreach_count(flow.steps["unordered"], inputs["tags"])
    assert "unordered" in err.value.format() and "sorted(...)" in err.value.format()
