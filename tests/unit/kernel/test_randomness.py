"""What a step's draws from global random generators started from, seen in an IPython shell.

The shell is IPython's own (``InteractiveShell``), with the extension loaded as a user loads
it; each test reads the sidecar the steps left, as every export path does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_flow.notebook import observations
from jupyter_flow.notebook.observations import Observation, RandomUse


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    InteractiveShell.clear_instance()
    made = InteractiveShell.instance()
    made.run_cell("%load_ext jupyter_flow\nimport numpy as np\nimport random", store_history=True)
    yield made
    InteractiveShell.clear_instance()


def run(shell: Any, source: str) -> Any:
    result = shell.run_cell(source, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


def seen(step_cell: str) -> Observation:
    """The sidecar entry of a ``%%step`` cell source."""
    head, _, body = step_cell.partition("\n")
    found = observations.read(Path.cwd(), observations.step_key(head.split()[1], body))
    assert found is not None, f"no observation of {head!r}"
    return found


A = "%%step a\nx = np.random.rand()"
B = "%%step b\ny = np.random.rand()"


def test_a_step_right_after_the_seed_starts_from_it(shell: Any) -> None:
    run(shell, "np.random.seed(0)")
    run(shell, A)
    assert seen(A).random == (("numpy", RandomUse("from-seed", "np.random.seed(0)")),)


def test_the_second_drawing_step_diverged_after_the_first(shell: Any) -> None:
    run(shell, "np.random.seed(0)")
    first = run(shell, A)
    run(shell, B)
    after = f"step 'a' (In [{first.execution_count}])"
    assert seen(B).random == (("numpy", RandomUse("diverged", "np.random.seed(0)", after)),)


def test_an_untagged_cell_that_draws_counts_too(shell: Any) -> None:
    run(shell, "np.random.seed(0)")
    peek = run(shell, "np.random.rand(3)")
    run(shell, A)
    use = dict(seen(A).random)["numpy"]
    assert use.verdict == "diverged"
    assert use.after == f"cell In [{peek.execution_count}] ('np.random.rand(3)')"


def test_seeding_again_restarts_the_count(shell: Any) -> None:
    run(shell, "np.random.seed(0)")
    run(shell, "np.random.rand(3)")
    run(shell, "np.random.seed(0)")
    run(shell, A)
    assert dict(seen(A).random)["numpy"].verdict == "from-seed"


def test_a_library_drawing_without_random_state_is_seen(shell: Any) -> None:
    pytest.importorskip("sklearn")
    run(shell, "from sklearn.model_selection import train_test_split\nnp.random.seed(1)")
    cell = "%%step split\ntrain, test = train_test_split(list(range(20)))"
    run(shell, cell)
    assert seen(cell).random == (("numpy", RandomUse("from-seed", "np.random.seed(1)")),)


def test_a_self_seeded_step_owes_nothing_but_the_next_one_does(shell: Any) -> None:
    own = "%%step own\nrandom.seed(7)\nz = random.random()"
    ran = run(shell, own)
    cell = "%%step next\nw = random.random()"
    run(shell, cell)
    assert seen(own).random == (("random", RandomUse("self-seeded")),)
    use = dict(seen(cell).random)["random"]
    assert use == RandomUse("diverged", None, f"step 'own' (In [{ran.execution_count}])")


def test_nothing_seeded_is_unseeded(shell: Any) -> None:
    cell = "%%step c\nv = random.random()"
    run(shell, cell)
    assert seen(cell).random == (("random", RandomUse("unseeded")),)


def test_a_step_that_draws_nothing_records_no_generator(shell: Any) -> None:
    cell = "%%step quiet\nq = 1"
    run(shell, cell)
    assert seen(cell).random == () and seen(cell).changed == ()


def test_every_foreach_item_starts_from_the_same_state(shell: Any) -> None:
    run(shell, "np.random.seed(0)\nfirst = float(np.random.rand())\nnp.random.seed(0)")
    run(shell, "items = [1, 2, 3]")
    cell = "%%step sweep --foreach i in items\nr = float(np.random.rand())"
    run(shell, cell)
    assert shell.user_ns["r"] == [shell.user_ns["first"]] * 3  # each item as a fresh task
    assert dict(seen(cell).random)["numpy"].verdict == "from-seed"


def test_changes_through_a_container_of_names_are_recorded_by_name(shell: Any) -> None:
    run(shell, "import pandas as pd")
    run(
        shell,
        "%%step make\ntrain_df = pd.DataFrame({'a': [1]})\ntest_df = pd.DataFrame({'a': [2]})",
    )
    run(shell, "%%step pack\ndata = [train_df, test_df]\ntrain_df")  # Out[N] holds it too
    run(shell, "def tag(frame):\n    frame['x'] = 1\nlooked_at = {'train': train_df}")
    cell = "%%step feat\nfor d in data:\n    tag(d)"
    run(shell, cell)
    assert set(seen(cell).changed) == {"data", "train_df", "test_df"}  # not Out, looked_at


def test_a_failing_tracker_never_fails_a_cell(
    shell: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_flow.kernel import randomness

    def broken() -> dict[str, int]:
        raise RuntimeError("boom")

    monkeypatch.setattr(randomness, "fingerprints", broken)
    run(shell, "np.random.seed(0)")
    run(shell, A)
    assert shell.user_ns["x"] is not None
    assert capsys.readouterr().err.count("random-state tracking is off") == 1
    assert observations.read(Path.cwd(), observations.step_key("a", A.split("\n", 1)[1])) is None


def test_an_unwritable_folder_warns_once_and_export_in_the_kernel_still_knows(
    shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    Path(".jupyter_flow").write_text("a file where the sidecar folder would go")
    run(shell, "np.random.seed(0)")
    run(shell, A)
    run(shell, B)
    assert capsys.readouterr().err.count("cannot keep what step") == 1
    magics = next(m for m in shell.magics_manager.registry.values() if hasattr(m, "observations"))
    assert (
        dict(magics.observations[observations.step_key("b", B.split("\n", 1)[1])].random)[
            "numpy"
        ].verdict
        == "diverged"
    )


def test_a_step_that_only_takes_numpys_cached_normal_is_seen(shell: Any) -> None:
    run(shell, "np.random.seed(0)")
    run(shell, "np.random.randn()")  # draws two normals, keeps the second for the next call
    cell = "%%step n\nv = np.random.randn()"  # takes the cached one: the raw state does not move
    run(shell, cell)
    assert dict(seen(cell).random)["numpy"].verdict == "diverged"


def test_a_seed_run_before_the_extension_was_loaded_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    try:
        run(shell, "import numpy as np\nnp.random.seed(3)")
        run(shell, "%load_ext jupyter_flow")
        run(shell, A)
        peek = run(shell, "np.random.seed(3)\nnp.random.rand(2)")
        run(shell, B)
    finally:
        InteractiveShell.clear_instance()
    assert seen(A).random == (("numpy", RandomUse("from-seed", "np.random.seed(3)")),)
    after = f"cell In [{peek.execution_count}] ('np.random.seed(3)')"
    assert seen(B).random == (("numpy", RandomUse("diverged", "np.random.seed(3)", after)),)


def test_unseeded_foreach_items_draw_different_numbers_as_flow_tasks_do(shell: Any) -> None:
    run(shell, "items = [1, 2, 3]")
    cell = "%%step sweep --foreach i in items\nr = random.random()"
    run(shell, cell)
    assert len(set(shell.user_ns["r"])) == 3
    assert dict(seen(cell).random)["random"].verdict == "unseeded"


def test_a_rerun_rewrites_the_sidecar_only_when_what_was_seen_changed(shell: Any) -> None:
    run(shell, "np.random.seed(0)")
    cell = "%%step c\nq = 1"
    run(shell, cell)
    first = seen(cell).observed_at
    run(shell, cell)
    assert seen(cell).observed_at == first  # nothing new: the file stays as it was
    run(shell, A)
    run(shell, A)  # now it starts after its own earlier draw
    assert dict(seen(A).random)["numpy"].verdict == "diverged"


def test_a_seed_function_imported_in_an_earlier_cell_is_a_seed(shell: Any) -> None:
    run(shell, "from numpy.random import seed")
    run(shell, "seed(2)")
    run(shell, A)
    assert seen(A).random == (("numpy", RandomUse("from-seed", "seed(2)")),)


def test_a_change_through_an_objects_attribute_is_recorded_by_name(shell: Any) -> None:
    run(shell, "import pandas as pd\ndef tag(frame):\n    frame['w'] = 1")
    run(shell, "%%step make\ntrain = pd.DataFrame({'v': [1]})\nclass Box: pass\nbox = Box()")
    run(shell, "%%step pack\nbox.data = train")
    cell = "%%step feat\ntag(box.data)"
    run(shell, cell)
    assert set(seen(cell).changed) == {"box", "train"}  # box.data is train
