"""The export paths outside the kernel, and the flow's runs, as a user starts them.

Each returns a ``verdict.Export`` (a module's bytes, a located refusal, or a crash) or a
``verdict.RunResult``; none raises for what the product does.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

from .server import LabServer
from .verdict import Export, RunResult, refusal_or_crash

BIN = Path(sys.executable).parent
TIMEOUT = 180


def user_env(**extra: str) -> dict[str, str]:
    """A terminal's environment: none of our settings, none of pytest's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_FLOW_")}
    for name in ("PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER", "JPY_SESSION_NAME"):
        env.pop(name, None)
    env.update(extra)
    return env


def start(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env or user_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        return -9, out, err + f"\n(harness: killed after {TIMEOUT} s)"
    return process.returncode, out, err


def start_cli(notebook: Path, out: Path) -> subprocess.Popen[str]:
    """(b) ``jupyter flow export NB -o OUT`` in the notebook's folder."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(BIN / "jupyter"), "flow", "export", notebook.name, "-o", str(out)]
    return start(cmd, notebook.parent)


def start_nbconvert(notebook: Path, out_dir: Path) -> subprocess.Popen[str]:
    """(c) ``jupyter nbconvert --to flow NB --output-dir DIR``."""
    cmd = [str(BIN / "jupyter"), "nbconvert", "--to", "flow", notebook.name]
    return start([*cmd, "--output-dir", str(out_dir)], notebook.parent)


def finish_export(
    path: str, process: subprocess.Popen[str], module: Path, *, traceback_ok: bool = False
) -> Export:
    code, out, err = finish(process)
    if code == 0 and module.exists():
        return Export(path, "module", module=module.read_bytes())
    if code == 0:
        return Export(path, "crash", f"exit 0 but no module at {module.name}: {out}{err}")
    return refusal_or_crash(path, err or out, traceback_ok=traceback_ok)


def export_lab(server: LabServer, notebook: Path, module: Path, keep: Path) -> Export:
    """(d) the Export button: ``POST /jupyter-flow/export {path}``; the module it writes
    beside the notebook is moved to ``keep``."""
    api_path = notebook.relative_to(server.root).as_posix()
    status, body = server.post("export", {"path": api_path})
    if status == 200 and module.exists():
        keep.parent.mkdir(parents=True, exist_ok=True)
        module.replace(keep)
        return Export("lab", "module", module=keep.read_bytes())
    message = str(body.get("message", body))
    location = body.get("location") or {}
    if status == 200:
        return Export("lab", "crash", f"200 but no module beside the notebook: {message}")
    if status >= 500 or status < 400:
        return Export("lab", "crash", f"HTTP {status}: {message}")
    if location.get("kind") == "cell" and f"cell {location.get('index')}" not in message:
        message = f"cell {location.get('index')}: {message}"
    return refusal_or_crash("lab", f"HTTP {status}: {message}")


def start_module_run(module: Path, root: Path) -> subprocess.Popen[str]:
    """``python MODULE run`` in the notebook's folder, storing under ``root``."""
    env = user_env(JUPYTER_FLOW_ROOT=str(root))
    return start([sys.executable, module.name, "run"], module.parent, env)


def read_payload(path: str, out: Path) -> RunResult:
    """What ``read_run.read`` pickled, as a run result: done with values, or why not."""
    with out.open("rb") as fh:
        payload = pickle.load(fh)
    if payload.get("errors"):
        name, why = next(iter(payload["errors"].items()))
        return RunResult(path, "crash", f"{payload.get('run')}: {name!r} cannot be loaded: {why}")
    if payload.get("status") != "done":
        why = payload.get("error") or ""
        return RunResult(path, "crash", f"run status {payload.get('status')}: {why}")
    return RunResult(path, "done", values=payload["values"], missing=tuple(payload["missing"]))
