"""The sidecar: what the kernel observed reaches export, keyed so it survives what it should."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.errors import CellLocation, NotebookError
from jupyter_flow.notebook import observations
from jupyter_flow.notebook.api import analyze, export_notebook
from jupyter_flow.notebook.observations import Observation, RandomUse, step_key

SEED = "import numpy as np\nnp.random.seed(0)"


def observe(folder: Path, step: str, body: str, **fields: Any) -> Path:
    return observations.write(folder, step_key(step, body), Observation(step, **fields))


def test_the_key_ignores_trailing_whitespace_and_options_but_not_code() -> None:
    key = step_key("prep", "add_col(df)\nn = len(df)")
    assert key == step_key("prep", "add_col(df)   \nn = len(df)\n\n  \n")
    assert key != step_key("prep", "add_col(df)\nn = len(df) + 1")
    assert key != step_key("prep2", "add_col(df)\nn = len(df)")
    assert len(key) == 32


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    obs = Observation(
        "b",
        changed=("df", "train_df"),
        random=(("numpy", RandomUse("diverged", "np.random.seed(0)", "step 'a' (In [5])")),),
        packages=("pandas==2.2.2",),
        notebook="x.ipynb",
        observed_at=12.5,
        execution_count=7,
    )
    path = observations.write(tmp_path, "k" * 32, obs)
    assert path.parent == tmp_path / ".jupyter_flow" / "observed"
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["random"]["numpy"]["verdict"] == "diverged"
    assert observations.read(tmp_path, "k" * 32) == obs
    assert not [p for p in path.parent.iterdir() if p.suffix == ".tmp"]


@pytest.mark.parametrize(
    "text",
    ["{", '{"version": 2, "step": "a"}', '{"version": 1, "step": "a", "random": {"numpy": 1}}'],
)
def test_a_damaged_or_foreign_file_is_ignored(tmp_path: Path, text: str) -> None:
    folder = observations.folder_for(tmp_path)
    folder.mkdir(parents=True)
    (folder / "abc.json").write_text(text)
    assert observations.read(tmp_path, "abc") is None


def test_a_never_observed_notebook_exports_with_a_note(write_nb: Callable[..., Path]) -> None:
    path = write_nb("x = 1", "%%step a\ny = 2", "%%step b\nz = y + 1")
    result = export_notebook(str(path))
    assert len(result.notes) == 1
    assert result.notes[0].startswith("cells 2 and 3 were not run with the extension")
    assert "inside function calls" in result.notes[0]
    info = analyze(json.loads(path.read_text()), notebook_path=str(path))
    assert info["notes"] == list(result.notes)


def test_observed_cells_are_not_in_the_note(write_nb: Callable[..., Path]) -> None:
    path = write_nb("%%step a\ny = 2", "%%step b --cpu 2\nz = y + 1")
    observe(path.parent, "b", "z = y + 1")  # options on the %%step line are not in the key
    assert export_notebook(str(path)).notes[0].startswith("cell 1 was not run")
    observe(path.parent, "a", "y = 2")
    assert export_notebook(str(path)).notes == ()


def test_a_renamed_notebook_keeps_its_observations(write_nb: Callable[..., Path]) -> None:
    first = write_nb("%%step a\ny = 2", name="one.ipynb")
    observe(first.parent, "a", "y = 2")
    second = write_nb("%%step a\ny = 2", name="two.ipynb")
    assert export_notebook(str(second)).notes == ()


def diverged(write_nb: Callable[..., Path]) -> tuple[Path, NotebookError]:
    path = write_nb(SEED, "%%step a\nx = np.random.rand()", "%%step b\ny = np.random.rand()")
    observe(
        path.parent,
        "a",
        "x = np.random.rand()",
        random=(("numpy", RandomUse("from-seed", "np.random.seed(0)")),),
    )
    observe(
        path.parent,
        "b",
        "y = np.random.rand()",
        random=(("numpy", RandomUse("diverged", "np.random.seed(0)", "step 'a' (In [3])")),),
    )
    with pytest.raises(NotebookError) as err:
        export_notebook(str(path))
    return path, err.value


def test_a_step_that_drew_after_another_refuses_naming_both(
    write_nb: Callable[..., Path],
) -> None:
    path, err = diverged(write_nb)
    assert isinstance(err.location, CellLocation) and err.location.index == 3
    assert "step 'b' draws from numpy's global random generator" in err.headline
    assert "step 'a' (cell 2) drew from after cell 1 seeded it" in err.headline
    assert err.hint is not None and "random_state=" in err.hint
    assert not (path.parent / "demo_flow.py").exists()
    problems = analyze(json.loads(path.read_text()), notebook_path=str(path))["problems"]
    assert problems[0]["message"] == err.headline


def test_a_step_that_drew_from_the_seed_exports(write_nb: Callable[..., Path]) -> None:
    path = write_nb(SEED, "%%step a\nx = np.random.rand()")
    observe(
        path.parent,
        "a",
        "x = np.random.rand()",
        random=(("numpy", RandomUse("from-seed", "np.random.seed(0)")),),
    )
    assert export_notebook(str(path)).notes == ()


def test_a_seed_changed_since_the_run_refuses(write_nb: Callable[..., Path]) -> None:
    path = write_nb("import numpy as np\nnp.random.seed(1)", "%%step a\nx = np.random.rand()")
    observe(
        path.parent,
        "a",
        "x = np.random.rand()",
        random=(("numpy", RandomUse("from-seed", "np.random.seed(0)")),),
    )
    with pytest.raises(NotebookError) as err:
        export_notebook(str(path))
    assert "now seeds it with 'np.random.seed(1)' (cell 1)" in err.value.headline
    assert err.value.hint is not None and "top to bottom" in err.value.hint


def test_unseeded_draws_are_a_note_until_a_seed_appears(write_nb: Callable[..., Path]) -> None:
    path = write_nb("import random", "%%step a\nx = random.random()")
    observe(path.parent, "a", "x = random.random()", random=(("random", RandomUse("unseeded")),))
    assert export_notebook(str(path)).notes == (
        "step 'a' (cell 2) draws from Python's random module, which nothing seeds: its "
        "numbers differ from run to run, in the kernel as in the flow",
    )
    path = write_nb("import random\nrandom.seed(3)", "%%step a\nx = random.random()")
    with pytest.raises(NotebookError, match="unseeded when it ran in the kernel"):
        export_notebook(str(path))


def test_self_seeded_steps_need_nothing(write_nb: Callable[..., Path]) -> None:
    body = "import numpy as np\nnp.random.seed(5)\nx = np.random.rand()"
    path = write_nb("%%step a\n" + body)
    observe(path.parent, "a", body, random=(("numpy", RandomUse("self-seeded")),))
    assert export_notebook(str(path)).notes == ()


def test_packages_auto_takes_the_pins_the_kernel_resolved(write_nb: Callable[..., Path]) -> None:
    path = write_nb("%%step load --packages auto\nimport pandas\nx = 1")
    observe(path.parent, "load", "import pandas\nx = 1", packages=("pandas==2.2.2",))
    result = export_notebook(str(path))
    assert result.steps[0]["packages"] == ["pandas==2.2.2"]
    assert "pandas==2.2.2" in result.source and "auto" not in result.source


def test_in_memory_observations_override_the_sidecar(write_nb: Callable[..., Path]) -> None:
    path = write_nb(SEED, "%%step a\nx = np.random.rand()", "%%step b\ny = np.random.rand()")
    fine = Observation("b", random=(("numpy", RandomUse("from-seed", "np.random.seed(0)")),))
    diverged(write_nb)
    result = export_notebook(
        str(path), observed={step_key("b", "y = np.random.rand()"): fine}, check=True
    )
    assert result.notes == ()


def test_a_step_run_elsewhere_gives_its_pins_but_counts_as_not_watched(
    write_nb: Callable[..., Path],
) -> None:
    path = write_nb("%%step load --packages auto --on kubernetes\nimport pandas\nx = 1")
    observe(
        path.parent,
        "load",
        "import pandas\nx = 1",
        packages=("pandas==2.2.2",),
        ran_on="kubernetes",
    )
    result = export_notebook(str(path))
    assert result.steps[0]["packages"] == ["pandas==2.2.2"]
    assert result.notes[0].startswith("cell 1 was not run with the extension")


def test_the_safety_net_names_a_change_the_graph_did_not_carry() -> None:
    """Should the graph ever drop an observed name, export refuses instead of going silent."""
    from types import SimpleNamespace

    from jupyter_flow.notebook.cells import Cell

    def step(name: str, index: int, outputs: tuple[str, ...], sources: Any = ()) -> Any:
        return SimpleNamespace(name=name, cell=Cell(index, None, f"%%step {name}"),
                               outputs=outputs, sources=sources)  # fmt: skip

    make, use = step("make", 1, ("df",)), step("use", 3, ("z",), (("df", "make"),))
    used = {"prep": Observation("prep", changed=("df",))}
    carried = [make, step("prep", 2, ("df",)), use]
    assert observations.check_changed(carried, used) == []
    (err,) = observations.check_changed([make, step("prep", 2, ("n",)), use], used)
    assert err.location == Cell(2, None, "%%step prep").location(1)
    assert "the flow gives step 'use' the value from before it" in err.headline


def test_an_untagged_cell_that_drew_is_named_by_its_notebook_index(
    write_nb: Callable[..., Path],
) -> None:
    path = write_nb(SEED, "np.random.rand(3)  # peek", "%%step b\ny = np.random.rand()")
    after = "cell In [7] ('np.random.rand(3)  # peek')"
    observe(path.parent, "b", "y = np.random.rand()",
            random=(("numpy", RandomUse("diverged", "np.random.seed(0)", after)),))  # fmt: skip
    with pytest.raises(NotebookError) as err:
        export_notebook(str(path))
    assert "which cell 2 ('np.random.rand(3)  # peek', In [7]) drew from after cell 1" in str(
        err.value
    )
