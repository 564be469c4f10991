"""Start flow runs as detached subprocesses and remember what the server started.

``python -m jupyter_flow run MODULE.py --root ROOT --run-id ID --on BACKEND`` runs in the
notebook's folder, in its own session. The server never waits for it on the event loop: a
daemon thread reaps the process (no zombie is left, and shutdown never waits for a run).
Its console output goes to a launch log, which is what the user sees when the run dies
before it writes its first record (an import error, a bad parameter).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAUNCH_DIR = "launches"


@dataclass
class Launch:
    run_id: str
    flow: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    reaper: threading.Thread | None = field(default=None, repr=False)

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
    argv = [sys.executable, "-m", "jupyter_flow", "run", str(module)]
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
    ) -> Launch:
        """Spawn the run (a fork + exec: call it from a worker thread)."""
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
            )
        launch.reaper = threading.Thread(
            target=launch.process.wait, name=f"jupyter-flow-reap-{run_id}", daemon=True
        )
        launch.reaper.start()
        self._launches[run_id] = launch
        return launch


def _log_dir(root: str) -> Path:
    base = Path(tempfile.gettempdir()) / "jupyter_flow" if "://" in root else Path(root)
    path = base / LAUNCH_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path
