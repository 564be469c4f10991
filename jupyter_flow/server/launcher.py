"""Start flow runs as detached subprocesses, remember what the server started, stop them.

The ``jupyter_flow run MODULE.py --root ROOT --run-id ID --on BACKEND`` CLI runs in the
notebook's folder, in its own session. The server never waits for it on the event loop: a
daemon thread reaps the process (no zombie is left, and shutdown never waits for a run).
Its console output goes to a launch log, which is what the user sees when the run dies
before it writes its first record (an import error, a bad parameter). Stopping a run is
Ctrl-C for its session: SIGINT to its process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..tempdirs import private_tmp

LAUNCH_DIR = "launches"
# A server started in the background (``jupyter lab &`` in a script, some service managers)
# ignores SIGINT, and an ignored signal survives exec: give the driver Python's default
# handler, so Stop cancels it as Ctrl-C does (``python -m jupyter_flow`` with this first).
BOOT = (
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from jupyter_flow.cli import main; main()"
)


@dataclass
class Launch:
    run_id: str
    flow: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    reaper: threading.Thread | None = field(default=None, repr=False)
    cancel_requested: float | None = None  # time.time() of the first Stop

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    @property
    def running(self) -> bool:
        return self.returncode is None

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the launched process ended (tests; never on the event loop)."""
        if self.reaper is not None:
            self.reaper.join(timeout)
        return self.returncode

    def log_tail(self, lines: int = 200) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def status(self) -> dict[str, Any]:
        """A run summary for a run that has not written its first record yet."""
        if self.running:
            state = "starting"
        elif self.cancel_requested is not None:  # stopped before its first record
            state = "cancelled"
        elif self.returncode == 0:
            state = "lost"
        else:
            state = "failed"
        return {
            "id": self.run_id,
            "flow": self.flow,
            "status": state,
            "created": None,
            "finished": None,
            "params": {},
            "steps": [],
            "launch_log": self.log_tail(40),
        }


def command(
    module: Path, *, root: str, run_id: str, backend: str, params: dict[str, str]
) -> list[str]:
    argv = [sys.executable, "-c", BOOT, "run", str(module)]
    argv += ["--root", root, "--run-id", run_id, "--on", backend]
    for name, value in params.items():
        argv += ["--param", f"{name}={value}"]
    return argv


class Launcher:
    """The runs this server started, by id."""

    def __init__(self) -> None:
        self._launches: dict[str, Launch] = {}

    def get(self, run_id: str) -> Launch | None:
        return self._launches.get(run_id)

    def start(
        self,
        module: Path,
        *,
        flow: str,
        root: str,
        run_id: str,
        backend: str,
        params: dict[str, str],
        secret_env: Mapping[str, str] | None = None,
    ) -> Launch:
        """Spawn the run (a fork + exec: call it from a worker thread). ``secret_env``
        (variable -> value) reaches the run through its environment only: never its argv
        (``ps`` shows that to every user), the launch record or the store."""
        log_path = _log_dir(root) / f"{run_id}.log"
        launch = Launch(run_id=run_id, flow=flow, log_path=log_path)
        argv = command(module, root=root, run_id=run_id, backend=backend, params=params)
        with log_path.open("wb") as log:
            launch.process = subprocess.Popen(
                argv,
                cwd=str(module.parent),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **secret_env} if secret_env else None,
            )
        launch.reaper = threading.Thread(
            target=launch.process.wait, name=f"jupyter-flow-reap-{run_id}", daemon=True
        )
        launch.reaper.start()
        self._launches[run_id] = launch
        return launch

    def cancel(self, run_id: str) -> bool:
        """Ask a run this server started to stop, as Ctrl-C would: SIGINT to its process
        group (the driver cancels its tasks and records the run ``cancelled``; local
        workers ignore it). False when the run is unknown here or has ended. Only the first
        call signals: a second SIGINT would interrupt the driver while it cancels."""
        launch = self._launches.get(run_id)
        if launch is None or launch.process is None or not launch.running:
            return False
        if launch.cancel_requested is None:
            try:
                os.killpg(launch.process.pid, signal.SIGINT)
            except ProcessLookupError:  # it ended after the check above
                return False
            launch.cancel_requested = time.time()
        return True


def _log_dir(root: str) -> Path:
    """Launch logs of a local store live in it; of a remote one, in this user's private
    temp folder (never a folder every local user can read)."""
    if "://" in root:
        return private_tmp(LAUNCH_DIR)
    path = Path(root) / LAUNCH_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path
