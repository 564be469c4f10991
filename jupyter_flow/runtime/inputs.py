"""A task's inputs from the finished upstream tasks: one rule for every way a flow runs.

The driver (``runner.py``) and the driverless tasks an engine such as Argo schedules
(``driverless.py``) must agree exactly on what a step reads: a single artifact, the join of a
foreach step's outputs (in item order), or one item of a foreach list. Both build the
``Input``s here, from the done task records of each upstream step.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import RunFailed, StepLocation
from ..flow.dag import PARAMS, Dag
from ..flow.spec import Flow, StepSpec
from ..store.records import TaskRecord
from .taskspec import Input

UNORDERED = ("set", "frozenset", "dict")
# iterating these gives column names, while len() counts rows (pandas 3, pandas 2, polars)
DATAFRAMES = ("pandas.DataFrame", "pandas.core.frame.DataFrame", "polars.dataframe.frame.DataFrame")

Done = Mapping[str, Mapping[int, TaskRecord]]  # step -> task index -> its done record


def step_input(flow: Flow, dag: Dag, step: StepSpec, name: str, done: Done) -> Input:
    """What ``step`` reads as ``name``: the producer's artifact, or the join of a foreach."""
    producer = dag.sources[step.name][name]
    tasks = done[producer]
    if producer != PARAMS and flow.steps[producer].foreach:
        found = [tasks[i].artifact(name) for i in sorted(tasks)]
        return Input(name, tuple(a for a in found if a is not None), join=True)
    task = tasks.get(0)
    artifact = task.artifact(name) if task is not None else None
    if artifact is None:
        raise RunFailed(
            f"step {producer!r} finished without saving {name!r}",
            location=StepLocation(step.name),
            hint="re-run the flow; the store may have been modified",
        )
    return Input(name, (artifact,))


def step_inputs(flow: Flow, dag: Dag, step: StepSpec, done: Done) -> dict[str, Input]:
    """Every name ``step`` reads (the foreach list rather than its item)."""
    return {name: step_input(flow, dag, step, name, done) for name in step.reads}


def foreach_count(step: StepSpec, source: Input) -> int:
    """How many tasks a foreach over ``source`` has; a list without order is refused."""
    if source.join:
        return len(source.artifacts)
    artifact = source.artifacts[0]
    if artifact.type in ("str", "bytes"):
        raise RunFailed(
            f"the foreach list {artifact.name!r} is a {artifact.type}: a foreach over it would "
            "split it into characters",
            location=StepLocation(step.name),
            hint=f"make it a list, e.g. {artifact.name} = [{artifact.name}] or .split()",
        )
    if artifact.type in DATAFRAMES:
        raise RunFailed(
            f"the foreach list {artifact.name!r} is a DataFrame: iterating it gives its column "
            "names, not its rows, so its length does not count its items",
            location=StepLocation(step.name),
            hint=f"make it a list: list({artifact.name}.columns), or "
            f"{artifact.name}.to_dict('records') for its rows",
        )
    if artifact.length is None and artifact.type not in UNORDERED:
        raise RunFailed(
            f"the foreach list {artifact.name!r} is a {artifact.type}, which has no length "
            "(len() of it fails), so it cannot be split into tasks",
            location=StepLocation(step.name),
            hint=f"make it a list, e.g. {artifact.name} = list(...)",
        )
    if artifact.length is None or artifact.type in UNORDERED:
        raise RunFailed(
            f"the foreach list {artifact.name!r} is a {artifact.type}, which has no stable "
            "order to split into tasks",
            location=StepLocation(step.name),
            hint=f"make it a list, e.g. {artifact.name} = sorted(...) or list(...)",
        )
    return artifact.length


def split_outputs(flow: Flow, dag: Dag, step: StepSpec) -> tuple[str, ...]:
    """The outputs of ``step`` that a later step's foreach iterates: saved item by item so
    that each foreach task loads only its own item."""
    iterated = {
        other.foreach.items
        for other in flow.steps.values()
        if other.foreach and dag.sources[other.name].get(other.foreach.items) == step.name
    }
    return tuple(name for name in step.outputs if name in iterated)


def task_inputs(step: StepSpec, inputs: Mapping[str, Input], index: int) -> tuple[Input, ...]:
    """The inputs of task ``index`` of ``step``: its reads plus, for a foreach, its item."""
    result = [inputs[n] for n in step.inputs if n in inputs]
    if step.foreach:
        source = inputs[step.foreach.items]
        item = step.foreach.item
        if source.join:
            result.append(Input(item, (source.artifacts[index],)))
        else:
            result.append(Input(item, source.artifacts, item=index))
    return tuple(result)
