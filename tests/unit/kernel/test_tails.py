"""The log tail under a step shows whole lines as they come, and the rest when the task ends."""

from __future__ import annotations

from pathlib import Path

from jupyter_flow.kernel.progress import Tails
from jupyter_flow.runtime.taskspec import CodeRef, TaskSpec
from jupyter_flow.store import open_store
from jupyter_flow.store.records import log_path


def spec(index: int) -> TaskSpec:
    return TaskSpec("F", "r1", "s", index, 1, "", CodeRef("", ""), (), ())


def test_whole_lines_while_running_and_the_rest_at_the_end(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    tails = Tails(store)
    assert tails.read(spec(0), "stdout", final=False) == ""  # no log yet: nothing, no error
    path = store.local_path(log_path("F", "r1", "s", 0, 1, "stdout"))
    assert path is not None
    path.write_bytes(b"epoch 1\nepoch 2\nepo")
    assert tails.read(spec(0), "stdout", final=False) == "epoch 1\nepoch 2\n"
    assert tails.read(spec(0), "stdout", final=False) == ""
    with open(path, "ab") as fh:
        fh.write(b"ch 3\ndone")
    assert tails.read(spec(0), "stdout", final=False) == "epoch 3\n"
    assert tails.read(spec(0), "stdout", final=True) == "done"
    assert tails.read(spec(1), "stdout", final=True) == ""
