"""Running flows end to end on the local executor, read back through the client."""

from __future__ import annotations

import pytest

from jupyter_flow.client import Run, latest_run, list_runs
from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.loader import load_flow

from .flows import EXPECTED_SWEEP, LINEAR, SWEEP


def test_linear_flow_results_are_readable_through_the_client(write_flow, root):
    flow = load_flow(write_flow(LINEAR))
    run = flow.run(root=root, params={"n": 5})
    assert run.status == "done"
    assert run.data.a == 6
    assert run.data.c == [6, 6]
    assert run.data.total == 12 + 12 + 5
    assert run.data.n == 5  # parameters are artifacts too

    again = Run(run.pathspec, root=root)
    assert again.data.total == 29
    assert "one says 5" in again["one"].task.stdout
    assert latest_run("Linear", root=root).id == run.id
    assert [r.id for r in list_runs("Linear", root=root, status="done")] == [run.id]
    assert "three" in again._repr_html_()


def test_foreach_outputs_join_in_item_order_not_completion_order(write_flow, root):
    flow = load_flow(write_flow(SWEEP))
    run = flow.run(root=root, max_workers=3)
    assert run.data.result == EXPECTED_SWEEP
    assert run.data.label == [f"#{i}" for i in range(6)]
    tasks = run["each"].tasks
    assert [t.index for t in tasks] == list(range(6))
    assert tasks[4].stdout.strip() == "item 4"


def test_foreach_over_an_empty_list_gives_empty_joins(write_flow, root):
    flow = load_flow(write_flow(SWEEP))
    run = flow.run(root=root, params={"items": []})
    assert run.data.result == {}
    assert run.data.square == []


def test_foreach_over_a_set_is_refused_with_a_hint(write_flow, root):
    source = """
    from jupyter_flow import Flow
    flow = Flow("SetFlow")

    @flow.step(outputs="xs")
    def make():
        return {"b", "a"}

    @flow.step(foreach="x in xs", outputs="y")
    def each(x):
        return x
    """
    flow = load_flow(write_flow(source))
    with pytest.raises(RunFailed) as err:
        flow.run(root=root)
    assert "no stable order" in str(err.value) and "sorted" in str(err.value)
    assert latest_run("SetFlow", root=root).status == "failed"  # not left "running"


def test_independent_branches_run_at_the_same_time(write_flow, root):
    source = """
    import time
    from jupyter_flow import Flow
    flow = Flow("Branches")

    @flow.step(outputs="a")
    def left():
        time.sleep(1.0)
        return 1

    @flow.step(outputs="b")
    def right():
        time.sleep(1.0)
        return 2

    @flow.step(outputs="c")
    def both(a, b):
        return a + b
    """
    run = load_flow(write_flow(source)).run(root=root, max_workers=2)
    assert run.data.c == 3
    left = run["left"].attempts[0]
    right = run["right"].attempts[0]
    assert left.finished is not None and right.finished is not None
    # the two intervals overlap: neither finished before the other started
    assert left.started < right.finished and right.started < left.finished


def test_classes_defined_in_the_flow_module_load_back(write_flow, root):
    source = """
    from dataclasses import dataclass
    from jupyter_flow import Flow

    @dataclass
    class Model:
        weight: float

    flow = Flow("Classy")

    @flow.step(outputs="model")
    def train():
        return Model(2.5)
    """
    run = load_flow(write_flow(source, "classy_flow.py")).run(root=root)
    assert run.data.model.weight == 2.5
    assert type(run.data.model).__module__ == "classy_flow"
