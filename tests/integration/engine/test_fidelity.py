"""Issue 11 through real local runs: the prelude per task, identity across artifacts, and
bookkeeping on user objects that never fails a task."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_flow.client import Run, latest_run
from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.loader import load_flow

SEEDED = """
import sys

import numpy as np
from jupyter_flow import Flow

flow = Flow("Seeded", parameters={"items": [0, 1, 2]})


@flow.prelude
def prelude():
    np.random.seed(42)
    sys.path.insert(0, "/nonexistent/src")


@flow.step(outputs=("first", "paths"))
def one():
    return np.random.rand(4).tolist(), sys.path.count("/nonexistent/src")


@flow.step(outputs=("second", "paths"))
def two(first, paths):
    return np.random.rand(4).tolist(), sys.path.count("/nonexistent/src")


@flow.step(foreach="item in items", outputs="draw")
def each(item, second):
    return np.random.rand(4).tolist()
"""


def fresh(n: int = 4) -> list[float]:
    np.random.seed(42)
    return list(np.random.rand(n))


def test_every_task_on_a_reused_worker_starts_from_the_prelude(write_flow, root):
    flow = load_flow(write_flow(SEEDED))
    run = flow.run(root=root, max_workers=1)
    expected = fresh()
    assert run.data.first == expected
    assert run.data.second == expected  # same worker, yet not the continued sequence
    assert run.data.draw == [expected] * 3
    assert run.data.paths == 1  # the prelude ran on this worker 5 times, as once in the kernel
    pids = {a.pid for a in run["two"].attempts + run["each"].attempts + run["one"].attempts}
    assert len(pids) == 1  # really one reused worker


def test_a_failing_prelude_fails_the_task_with_a_located_error(write_flow, root):
    source = SEEDED.replace("np.random.seed(42)", 'raise ValueError("bad seed")', 1)
    flow = load_flow(write_flow(source))
    with pytest.raises(RunFailed) as err:
        flow.run(root=root, max_workers=1)
    text = str(err.value)
    assert "step 'one' failed" in text and 'raise ValueError("bad seed")' in text.splitlines()[0]
    assert "the flow's prelude failed: ValueError: bad seed" in text
    assert 'raise ValueError("bad seed")' in text  # the user's traceback, not ours
    attempt = latest_run("Seeded", root=root)["one"].attempts[0]
    assert attempt.error is not None and attempt.error.type == "ValueError"


SHARED = """
import pandas as pd
from jupyter_flow import Flow

flow = Flow("Shared")


@flow.step(outputs=("data", "train_df", "test_df", "alias", "base"))
def split():
    train_df = pd.DataFrame({"a": range(4000)})
    test_df = pd.DataFrame({"a": range(1000)})
    base = {"seen": []}
    return [train_df, test_df], train_df, test_df, base, base


@flow.step(outputs=("report", "train_df"))
def features(data, train_df, test_df, alias, base):
    same = [data[0] is train_df, data[1] is test_df, alias is base]
    for d in data:
        d["x"] = d["a"] * 2
    base["seen"].append("features")
    return same + [list(train_df.columns), alias["seen"]], train_df
"""


def test_outputs_that_share_objects_still_share_in_the_next_task(write_flow, root):
    flow = load_flow(write_flow(SHARED))
    run = flow.run(root=root)
    assert run.data.report == [True, True, True, ["a", "x"], ["features"]]
    back = Run(run.pathspec, root=root)
    split = back["split"].task.data
    assert split.data[0] is split.train_df and split.alias is split.base
    assert back.data.data[1] is back.data.test_df  # through run.data, too


USER_OBJECTS = """
from sklearn.ensemble import BaggingRegressor, RandomForestClassifier
from jupyter_flow import Flow

flow = Flow("UserObjects")


class Hostile:
    def __repr__(self):
        raise RuntimeError("no repr")

    def __len__(self):
        raise AttributeError("no len")

    @property
    def shape(self):
        raise ValueError("no shape")


@flow.step(outputs=("model", "bagger", "hostile"))
def make():
    return RandomForestClassifier(n_estimators=5), BaggingRegressor(), Hostile()


@flow.step(outputs="names")
def use(model, bagger, hostile):
    return [type(model).__name__, type(bagger).__name__, type(hostile).__name__]
"""


def test_unfitted_ensembles_and_hostile_objects_do_not_fail_the_task(write_flow, root):
    flow = load_flow(write_flow(USER_OBJECTS))
    run = flow.run(root=root)
    assert run.data.names == ["RandomForestClassifier", "BaggingRegressor", "Hostile"]
    by_name = {a.name: a for a in run["make"].task.record.artifacts}
    assert by_name["hostile"].summary == "<Hostile>" and by_name["hostile"].length is None
    assert "RandomForestClassifier" in by_name["model"].summary


def test_a_foreach_over_an_object_without_a_length_is_a_located_error(write_flow, root):
    source = (
        USER_OBJECTS
        + """

@flow.step(foreach="h in hostile", outputs="y")
def each(h):
    return h
"""
    )
    flow = load_flow(write_flow(source))
    with pytest.raises(RunFailed) as err:
        flow.run(root=root)
    text = str(err.value)
    assert "step 'each'" in text and "'hostile'" in text and "has no length" in text
    assert "Traceback" not in text


SERIES = """
import pandas as pd
from jupyter_flow import Flow

flow = Flow("SeriesItems")


@flow.step(outputs=("prices", "table"))
def make():
    prices = pd.Series([10, 20, 30], index=[2, 0, 1])  # e.g. after sort_values
    return prices, pd.DataFrame({"a": [1, 2], "b": [3, 4], "c": [5, 6]})


@flow.step(foreach="price in prices", outputs="seen")
def each(price):
    return int(price)
"""


def test_a_foreach_over_a_series_takes_items_by_position_as_iteration_does(write_flow, root):
    flow = load_flow(write_flow(SERIES))
    run = flow.run(root=root)
    assert run.data.seen == [10, 20, 30]  # for price in prices: by position, not s[0] == 20


def test_a_foreach_over_a_dataframe_is_refused_with_what_to_do(write_flow, root):
    source = SERIES.replace('foreach="price in prices"', 'foreach="price in table"')
    flow = load_flow(write_flow(source))
    with pytest.raises(RunFailed) as err:
        flow.run(root=root)
    assert "step 'each'" in str(err.value) and "column names" in str(err.value)
