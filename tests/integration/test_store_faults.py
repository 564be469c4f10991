"""A real local run whose worker's disk misbehaves: short writes still store every byte;
a full disk fails the task with a message that names the store, leaves no orphan, and the
run resumes once there is space."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from jupyter_flow.client import latest_run
from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.loader import load_flow

FLOW = """
import errno
import os
import random
from pathlib import Path
from jupyter_flow import Flow

flow = Flow("Faulty")
BROKEN = Path(os.environ["FAULT_FILE"])  # the worker runs a packaged copy elsewhere


def inject(mode):
    real = os.write
    budget = [1 << 20]

    def write(fd, data):
        if mode == "short":
            return real(fd, memoryview(data)[:4097])
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real(fd, memoryview(data)[: budget[0]])
        budget[0] -= n
        return n

    os.write = write  # this worker only: the save after the step goes through it


@flow.step(outputs="blob")
def make():
    if BROKEN.exists():
        inject(BROKEN.read_text())
    return random.Random(7).randbytes(12 << 20)  # 12 MiB that does not compress


@flow.step(outputs="size")
def measure(blob):
    return len(blob)
"""


def _orphans(root: str) -> list[Path]:
    return list((Path(root) / "blobs" / "tmp").iterdir())


def test_short_writes_in_the_worker_still_give_the_right_value(
    write_flow, root, tmp_path, monkeypatch
):
    monkeypatch.setenv("FAULT_FILE", str(tmp_path / "broken"))
    (tmp_path / "broken").write_text("short")
    run = load_flow(write_flow(FLOW)).run(root=root)
    assert run.data.size == 12 << 20
    assert run.data.blob == random.Random(7).randbytes(12 << 20)


def test_a_full_disk_fails_the_run_with_the_store_and_resumes(
    write_flow, root, tmp_path, monkeypatch
):
    monkeypatch.setenv("FAULT_FILE", str(tmp_path / "broken"))
    (tmp_path / "broken").write_text("full")
    flow = load_flow(write_flow(FLOW))
    with pytest.raises(RunFailed) as caught:
        flow.run(root=root)
    text = str(caught.value)
    assert f"the store at {root} is full (needed" in text
    assert "Traceback" not in text
    assert _orphans(root) == []
    (tmp_path / "broken").unlink()
    failed = latest_run("Faulty", root=root)
    assert failed.status == "failed"
    run = flow.resume(failed.id, root=root)
    assert run.data.size == 12 << 20
