"""``jupyter flow cancel RUN`` in a terminal stops a ``%flow run`` of a kernel: the run ends
cancelled (resumable) and the kernel itself is not interrupted."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from jupyter_flow.client import list_runs

from .conftest import LOAD
from .test_cancel import Kernel, kernel, wait_for  # noqa: F401 - kernel is a fixture

WAITING = [
    LOAD,
    "%%step load\nxs = [1, 2]",
    "%%step work\nimport os, time\nwhile not os.path.exists('go'):\n    time.sleep(0.05)\ny = 1",
]


def test_cancel_from_a_terminal_stops_a_kernel_run(
    kernel: Kernel,  # noqa: F811
    save_notebook: Callable[[list[str]], Path],
    tmp_path: Path,
    kernel_env: dict[str, str],
) -> None:
    save_notebook(WAITING)
    store = tmp_path / "store"
    kernel.run(LOAD)
    msg_id = kernel.submit("%flow run")
    wait_for(lambda: bool(list(store.glob("runs/NbFlow/*/work/0/attempt-1.json"))))
    (run,) = list_runs("NbFlow", root=str(store))

    result = subprocess.run(
        [sys.executable, "-m", "jupyter_flow", "cancel", run.id],
        check=False,
        capture_output=True,
        text=True,
        env=kernel_env,
        timeout=60,
    )
    status, text = kernel.output(msg_id)

    assert result.returncode == 0, result.stderr
    assert f"cancelled NbFlow/{run.id}" in result.stdout
    assert status == "error" and "cancelled" in text and "%flow run --resume" in text
    assert list_runs("NbFlow", root=str(store))[0].status == "cancelled"
    assert kernel.run("print(41 + 1)").strip() == "42"  # the kernel was not interrupted
