"""The stop button cancels a run started from the notebook; the run resumes where it stopped.
A background run returns at once and is cancelled through its handle."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

from jupyter_flow.client import list_runs

from .conftest import LOAD

SLOW = [
    LOAD,
    "%%params\nn = 4",
    "%%step load\nxs = list(range(n))",
    # items 2 and 3 wait for a file the test creates: the run is mid-flight when interrupted
    "%%step work --foreach x in xs\n"
    "import os, time\n"
    "while x >= 2 and not os.path.exists('go'):\n"
    "    time.sleep(0.05)\n"
    "y = x * 10",
    "%%step total\ntotal = sum(y)",
]


class Kernel:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)

    def submit(self, code: str) -> str:
        return str(self.kc.execute(code))

    def output(self, msg_id: str, timeout: float = 120) -> tuple[str, str]:
        """(status, text) of a submitted cell: its streams, displays and error, in order."""
        text = []
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind in ("display_data", "update_display_data", "execute_result"):
                text.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                text.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                break
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]["status"], "\n".join(text)

    def run(self, code: str) -> str:
        status, text = self.output(self.submit(code))
        assert status == "ok", text
        return text

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(tmp_path: Path, kernel_env: dict[str, str]) -> Any:
    k = Kernel(tmp_path, kernel_env)
    yield k
    k.stop()


def wait_for(condition: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_interrupt_cancels_resume_reuses_and_a_background_run_cancels_by_its_handle(
    kernel: Kernel, save_notebook: Callable[[list[str]], Path], tmp_path: Path
) -> None:
    save_notebook(SLOW)
    store = tmp_path / "store"
    kernel.run(LOAD)
    msg_id = kernel.submit("%flow run")
    wait_for(lambda: len(list(store.glob("runs/NbFlow/*/work/[01]/task.json"))) == 2)
    kernel.km.interrupt_kernel()
    status, text = kernel.output(msg_id)

    assert status == "error", text
    assert "cancelled" in text and "%flow run --resume" in text
    (run,) = list_runs("NbFlow", root=str(store))
    assert run.status == "cancelled"
    assert sorted(t.index for t in run["work"].tasks) == [0, 1]  # finished tasks are kept

    (tmp_path / "go").touch()
    text = kernel.run("%flow run --resume")
    assert f"resumed from {run.id}" in text and "(2 reused)" in text
    assert kernel.run("%flow pull total\nprint(total)").strip().endswith("60")

    # a background run: the cell returns at once; the handle cancels it
    (tmp_path / "go").unlink()
    started = time.monotonic()
    text = kernel.run("import jupyter_flow\nh = jupyter_flow.run(background=True)\nprint(h)")
    assert "status='running'" in text
    assert time.monotonic() - started < 30  # it did not wait for the flow (blocked on 'go')
    text = kernel.run(
        "import time\n"
        "while 'work' not in h.view.steps or h.view.steps['work'].done < 2:\n"
        "    time.sleep(0.05)\n"
        "h.cancel()\n"
        "print(h.status, h.run.status, h.view.steps['work'].status)"
    )
    assert text.split()[-3:] == ["cancelled", "cancelled", "cancelled"], text
