"""The engine's bookkeeping on user objects never fails a task (issue 11, class 5)."""

from __future__ import annotations

import pytest

from jupyter_flow.errors import ArtifactError
from jupyter_flow.store import artifacts, serialize
from jupyter_flow.store.blobs import LocalBlobs


class Hostile:
    """Every hook the engine might call raises; pickling still works."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __len__(self) -> int:
        raise AttributeError("estimators_")

    @property
    def shape(self) -> tuple[int, ...]:
        raise ValueError("no shape")


class BadList(list):  # type: ignore[type-arg]
    def __len__(self) -> int:
        raise RuntimeError("no len")


def test_summary_length_and_type_fall_back_when_the_object_raises():
    value = Hostile()
    assert serialize.summarize(value) == "<Hostile>"
    assert serialize.length_of(value) is None
    assert serialize.type_name(value).endswith("Hostile")
    assert serialize.safe_str(value) == f"<{serialize.type_name(value)}>"
    assert serialize.summarize(BadList([1])) == "[1]"
    assert serialize.length_of(BadList([1])) is None


def test_an_unfitted_scikit_learn_ensemble_is_saved_and_summarized(tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(n_estimators=3)
    with pytest.raises(AttributeError):
        len(model)  # what made tasks fail before
    store = LocalBlobs(tmp_path)
    art = artifacts.save(store, "model", model)
    assert art.length is None and art.type == "sklearn.ensemble._forest.RandomForestClassifier"
    assert "RandomForestClassifier" in art.summary
    assert artifacts.load(store, art).n_estimators == 3


def test_a_reduce_that_raises_anything_is_an_artifact_error_naming_the_output(tmp_path):
    class Refuses:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("not today")

    with pytest.raises(ArtifactError) as err:
        artifacts.save(LocalBlobs(tmp_path), "thing", Refuses())
    assert "output 'thing'" in str(err.value) and "not today" in str(err.value)


def test_a_small_container_of_big_containers_is_summarized_without_a_full_repr():
    text = serialize.summarize([list(range(10**6))] * 3)
    assert text.startswith("[[0, 1, 2, 3") and len(text) <= 80
    assert serialize.summarize([0.01, 0.1, 1.0, 10.0]) == "[0.01, 0.1, 1.0, 10.0]"
    assert serialize.summarize({"lr": 0.1, "layers": [64, 32]}) == "{'lr': 0.1, 'layers': [64, 32]}"
