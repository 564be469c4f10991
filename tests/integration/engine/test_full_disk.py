"""A store on a real, small tmpfs that fills up during a run (in a private mount namespace):
the run ends failed with "the store at ROOT is full", no traceback and no half-written blob;
once there is space again it resumes to the right answer."""

from __future__ import annotations

import os
import sys
import textwrap

from .mounts import in_mount_namespace

FLOW = """
import os
from pathlib import Path
from jupyter_flow import Flow

flow = Flow("FillsUp")
FILLER = Path(os.environ["JUPYTER_FLOW_ROOT"]) / "filler"


@flow.step(outputs="data")
def make():
    return os.urandom(3 << 20)  # a 3 MiB blob


@flow.step(outputs="size")
def fill(data):
    if not FILLER.exists():  # something else fills the disk while the run goes on
        with open(FILLER, "wb") as out:
            try:
                while True:
                    out.write(b"x" * 65536)
                    out.flush()
            except OSError:
                pass
    return len(data)


@flow.step(outputs="copy")
def again(data, size):
    return data[::-1]  # another 3 MiB blob: no room for it


if __name__ == "__main__":
    flow.main()
"""

SCRIPT = """
import json, os, subprocess, sys
from pathlib import Path
root, module = sys.argv[1], sys.argv[2]
def cli(*args):
    done = subprocess.run([sys.executable, module, *args], capture_output=True, text=True)
    return [done.returncode, done.stdout, done.stderr]
out = {"run": cli("run")}
out["tmp"] = os.listdir(Path(root) / "blobs" / "tmp")
from jupyter_flow.client import latest_run
failed = latest_run("FillsUp", root=root)
out["status"], out["id"] = failed.status, failed.id
(Path(root) / "filler").write_bytes(b"")  # keep it: fill() must not fill the disk again
out["resume"] = cli("resume", failed.id)
last = latest_run("FillsUp", root=root)  # this process read the store before: no matter
out["final"] = [last.id != failed.id, last.status]
if last.status == "done":
    out["final"] += [len(last.data.copy), last.data.size]
print(json.dumps(out))
"""


def test_a_store_that_fills_up_fails_the_run_cleanly_and_resumes(write_flow, tmp_path):
    module = write_flow(FLOW)
    root = tmp_path / "small"
    root.mkdir()
    shell = (
        f'mount -t tmpfs -o size=8m tmpfs "{root}" && '
        f'exec "{sys.executable}" -c "$SCRIPT" "{root}" "{module}"'
    )
    env = {
        **os.environ,
        "SCRIPT": textwrap.dedent(SCRIPT),
        "JUPYTER_FLOW_ROOT": str(root),
        "JUPYTER_FLOW_RETRY_BACKOFF": "0",
    }
    out = in_mount_namespace(shell, env)
    rc, stdout, stderr = out["run"]
    assert rc != 0, stdout
    assert f"the store at {root} is full" in stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert out["tmp"] == []  # nothing half-written left behind
    assert out["status"] == "failed"
    rc, stdout, stderr = out["resume"]
    assert rc == 0, stdout + stderr
    assert out["final"] == [True, "done", 3 << 20, 3 << 20]
