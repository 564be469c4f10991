"""A real local run whose stored value is damaged on disk afterwards: reading it back, or a
resumed step loading it, fails naming the artifact and the task that wrote it (never a wrong
value or a numpy error), and resume recomputes that task and gives the right answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_flow.client import Run, latest_run
from jupyter_flow.errors import CorruptBlob
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.store.blobs import blob_path

FLOW = """
import numpy as np
from jupyter_flow import Flow

flow = Flow("Damaged")


@flow.step(outputs="weights")
def fit():
    return np.arange(500_000, dtype="float64")  # 4 MB, a blob of its own


@flow.step(outputs="total")
def score(weights):
    return float(weights.sum())


if __name__ == "__main__":
    flow.main()
"""
TOTAL = float(sum(range(500_000)))


def _damage(root: str, run: Run, how: str) -> Path:
    key = run["fit"].task.record.artifact("weights").key
    assert key is not None
    path = Path(root) / blob_path(key)
    data = bytearray(path.read_bytes())
    if how == "flipped":
        data[len(data) // 2] ^= 0x40
        data[len(data) // 3] ^= 0x01
    elif how == "truncated":
        del data[-4096:]
    else:
        data.clear()
    path.write_bytes(bytes(data))
    return path


def _flow_cli(path: Path, root: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUPYTER_FLOW_ROOT": root}
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("how", ["flipped", "truncated", "empty"])
def test_reading_a_damaged_value_back_names_the_artifact_and_task(write_flow, root, how):
    run = load_flow(write_flow(FLOW)).run(root=root)
    damaged = _damage(root, run, how)

    with pytest.raises(CorruptBlob) as caught:
        _ = Run(run.pathspec, root=root).data.weights
    text = str(caught.value)
    assert f"artifact 'weights' of task {run.pathspec}/fit/0 is corrupt" in text
    assert f"resume the run ({run.id})" in text
    assert not damaged.exists() and Path(caught.value.set_aside or "").is_file()


def test_resume_from_a_later_step_recomputes_the_task_whose_value_is_damaged(write_flow, root):
    path = write_flow(FLOW)
    first = load_flow(path).run(root=root)
    _damage(root, first, "flipped")

    # The damage is not known yet: the resumed 'score' reads it, fails, names its writer.
    failed = _flow_cli(path, root, "resume", first.id, "--from", "score")
    assert failed.returncode != 0
    assert "input 'weights', written by task Damaged/" in failed.stderr + failed.stdout
    assert "/fit/0, is corrupt" in failed.stderr + failed.stdout
    assert "Traceback" not in failed.stderr

    # Resuming that failed run recomputes 'fit'; 'score' gets the right value.
    assert f"input 'weights', written by task {first.pathspec}/fit/0" in failed.stdout
    done = _flow_cli(path, root, "resume", latest_run("Damaged", root=root).id)
    assert done.returncode == 0, done.stderr
    latest = latest_run("Damaged", root=root)
    assert latest.status == "done" and latest.data.total == TOTAL
    assert latest["fit"].task.record.origin_run is None  # computed again, not reused


def test_a_value_found_damaged_when_read_is_recomputed_by_resume(write_flow, root):
    path = write_flow(FLOW)
    first = load_flow(path).run(root=root)
    _damage(root, first, "truncated")
    with pytest.raises(CorruptBlob):
        _ = Run(first.pathspec, root=root).data.weights  # set aside: it now counts as missing

    done = _flow_cli(path, root, "resume", first.id, "--from", "score")
    assert done.returncode == 0, done.stderr
    latest = latest_run("Damaged", root=root)
    assert latest.data.total == TOTAL and latest["fit"].task.record.origin_run is None
