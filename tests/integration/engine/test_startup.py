"""What a short run's start-up shortcuts must keep: the worker forked before the driver's
own imports runs the tasks, the process still ends as a Python program does (atexit
handlers run, output flushed), and the index still learns of the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FLOW = """
import atexit
import os
import sys
from pathlib import Path
from jupyter_flow import Flow

HERE = Path(__file__).parent
atexit.register(lambda: (HERE / "atexit-ran").write_text("yes"))
flow = Flow("Startup")


@flow.step(outputs="early")
def first():
    # forked before the driver imported its runner: the worker never had it
    return "jupyter_flow.runtime.runner" not in sys.modules


@flow.step(outputs="pid")
def second(early):
    print("second ran", flush=True)
    return os.getpid()


if __name__ == "__main__":
    flow.main()
"""


def _script(path: Path, root: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JUPYTER_FLOW_ROOT": root},
        check=False,
    )


def test_a_script_run_ends_as_a_python_program_does(write_flow, root):
    path = write_flow(FLOW)
    done = _script(path, root, "run", "-q")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("  pid = ")  # all of it flushed
    assert "early = True" in done.stdout  # the first task ran in the early worker
    assert (path.parent / "atexit-ran").read_text() == "yes"
    listed = _script(path, root, "runs")
    assert listed.returncode == 0 and "done" in listed.stdout, listed.stderr


def test_a_run_that_cannot_start_lets_the_early_worker_go_quietly(write_flow, root):
    path = write_flow(FLOW)
    done = _script(path, root, "run", "-q", "--param", "nope=1")
    assert done.returncode == 2
    assert "unknown parameter 'nope'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (Path(root) / "runs").exists()


def test_a_command_line_error_lets_the_early_worker_go_quietly(write_flow, root):
    path = write_flow(FLOW)
    done = _script(path, root, "run", "--no-such-option")
    assert done.returncode == 2
    assert "unrecognized arguments: --no-such-option" in done.stderr
    assert "Traceback" not in done.stderr
