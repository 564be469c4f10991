"""Outputs of one task that share objects keep sharing after store and load (issue 11, class 2)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_flow.errors import ArtifactError, StepLocation
from jupyter_flow.runtime.task import load_inputs
from jupyter_flow.runtime.taskspec import CodeRef, Input, TaskSpec
from jupyter_flow.store import artifacts, sharing
from jupyter_flow.store.blobs import LocalBlobs
from jupyter_flow.store.records import Artifact, TaskRecord, from_json, to_json


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    train = pd.DataFrame({"a": np.arange(5_000)})
    test = pd.DataFrame({"a": np.arange(1_000)})
    return train, test


def test_a_list_of_frames_and_the_frames_are_one_group():
    train, test = frames()
    values = {"data": [train, test], "train_df": train, "test_df": test, "n": 3, "other": [1]}
    assert sharing.shared_groups(values) == [("data", "train_df", "test_df")]


def test_an_alias_and_an_object_holding_it_share():
    class Box:
        def __init__(self, item):
            self.item = item

    a = {"k": [1, 2]}
    assert sharing.shared_groups({"a": a, "b": a}) == [("a", "b")]
    assert sharing.shared_groups({"a": a, "box": Box(a["k"])}) == [("a", "box")]


def test_equal_atoms_and_constant_tuples_are_not_sharing():
    t = (1, "x", None)
    values = {"a": [1, "x", True, t], "b": [1, "x", True, t], "c": t}
    assert sharing.shared_groups(values) == []


def test_arrays_are_not_walked_and_big_containers_only_in_part():
    arr = np.arange(10)
    assert sharing.shared_groups({"a": arr, "b": [arr]}) == [("a", "b")]
    shared = {"deep": 1}
    late = [[0]] * 0 + [[i] for i in range(sharing.WIDTH)] + [shared]
    assert sharing.shared_groups({"rows": late, "one": shared}) == []  # beyond WIDTH: apart


def test_members_load_as_the_same_objects_and_see_each_others_changes(tmp_path):
    store = LocalBlobs(tmp_path)
    train, test = frames()
    values = {"data": [train, test], "train_df": train, "test_df": test, "alone": np.ones(9)}
    saved = artifacts.save_outputs(store, values, task="r/s/0/1")
    by_name = {a.name: a for a in saved}
    assert [a.name for a in saved] == list(values)
    assert by_name["data"].group == by_name["train_df"].group is not None
    assert by_name["data"].key is None and by_name["data"].inline is None  # old readers refuse
    assert by_name["alone"].group is None and by_name["alone"].inline is not None
    assert by_name["train_df"].summary.startswith("DataFrame shape=(5000, 1)")

    groups: artifacts.Groups = {}
    loaded = {name: artifacts.load(store, a, groups) for name, a in by_name.items()}
    assert loaded["data"][0] is loaded["train_df"] and loaded["data"][1] is loaded["test_df"]
    for frame in loaded["data"]:
        frame["x"] = 1
    assert list(loaded["train_df"].columns) == ["a", "x"]
    pd.testing.assert_frame_equal(artifacts.load(store, by_name["train_df"]), train)


def test_the_same_group_from_two_tasks_loads_as_two_objects(tmp_path):
    store = LocalBlobs(tmp_path)
    first = artifacts.save_outputs(store, {"a": (x := [0]), "b": x}, task="r/each/0/1")
    second = artifacts.save_outputs(store, {"a": (y := [0]), "b": y}, task="r/each/1/1")
    assert first[0].group == second[0].group  # identical bytes, stored once
    groups: artifacts.Groups = {}
    one, two = (artifacts.load(store, a[0], groups) for a in (first, second))
    assert one == two and one is not two


def test_records_with_groups_round_trip_and_old_records_still_load(tmp_path):
    store = LocalBlobs(tmp_path)
    saved = artifacts.save_outputs(store, {"a": (x := [1]), "b": x}, task="r/s/0/1")
    task = TaskRecord("F", "r", "s", 0, "done", 1, 0.0, 1.0, saved)
    assert from_json(TaskRecord, to_json(task)) == task
    old = json.loads(to_json(TaskRecord("F", "r", "s", 0, "done", 1, 0.0, 1.0, ())))
    old["artifacts"] = [{"name": "v", "type": "int", "size": 1, "summary": "1", "inline": None}]
    plain = artifacts.save(store, "v", 7)
    old["artifacts"][0]["inline"] = plain.inline
    (artifact,) = from_json(TaskRecord, old).artifacts
    assert artifact.group is None and artifacts.load(store, artifact) == 7


def test_an_unpicklable_member_of_a_group_is_named(tmp_path):
    store = LocalBlobs(tmp_path)
    gen = (i for i in range(3))
    holder = [gen]
    with pytest.raises(ArtifactError) as err:
        artifacts.save_outputs(
            store, {"ok": holder, "bad": gen}, task="t", location=StepLocation("s")
        )
    assert "output 'ok'" in str(err.value) or "output 'bad'" in str(err.value)
    assert "step 's'" in str(err.value)


def test_an_artifact_without_data_is_refused():
    with pytest.raises(ArtifactError, match="neither a blob nor inline"):
        artifacts.load(LocalBlobs("/nonexistent"), Artifact("x", "int", 1, "1"))


def test_joined_foreach_outputs_share_within_each_task_only(tmp_path):
    store = LocalBlobs(tmp_path)
    tasks = []
    for i in range(2):
        model = {"coef": [0.0]}  # identical bytes in both tasks
        tasks.append(artifacts.save_outputs(store, {"model": model, "kept": [model]}, task=f"t{i}"))
    spec = TaskSpec(
        "F", "r", "join", 0, 1, str(tmp_path), CodeRef("m.py", "m"),
        inputs=(
            Input("model", tuple(t[0] for t in tasks), join=True),
            Input("kept", tuple(t[1] for t in tasks), join=True),
        ),
        outputs=(),
    )  # fmt: skip
    values = load_inputs(store, spec)
    models, kept = values["model"], values["kept"]
    assert models[0] is kept[0][0] and models[1] is kept[1][0]
    assert models[0] is not models[1]
    assert TaskSpec.from_json(spec.to_json()) == spec  # group fields survive the spec's JSON
