"""A store on a read-only filesystem (a real read-only bind mount, in a private mount
namespace) still reads: runs list, a run shows, artifacts load (the index is rebuilt in
memory), and a new run is refused with a message naming the store, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_flow.runtime.loader import load_flow

FLOW = """
import numpy as np
from jupyter_flow import Flow

flow = Flow("ReadOnly")


@flow.step(outputs="weights")
def fit():
    return np.arange(300_000, dtype="float64")  # a blob, not inline


@flow.step(outputs="total")
def score(weights):
    return float(weights.sum())


if __name__ == "__main__":
    flow.main()
"""

READER = """
import json, subprocess, sys
from jupyter_flow.client import latest_run, list_runs
root, module = sys.argv[1], sys.argv[2]
run = latest_run("ReadOnly", root=root)
out = {
    "runs": [r.id for r in list_runs("ReadOnly", root=root)],
    "total": run.data.total,
    "weights": float(run.data.weights.sum()),
}
for name, args in {
    "cli_runs": ["runs"],
    "cli_show": ["show", run.id],
    "cli_run": ["run"],
}.items():
    done = subprocess.run([sys.executable, module, *args], capture_output=True, text=True)
    out[name] = [done.returncode, done.stdout, done.stderr]
print(json.dumps(out))
"""


def _read_only_namespace() -> list[str]:
    """A command prefix giving the child its own mount namespace (root: directly; else
    as root of a new user namespace)."""
    unshare = shutil.which("unshare")
    assert unshare, "util-linux unshare is needed for the read-only store test"
    return [unshare, "--mount"] if os.geteuid() == 0 else [unshare, "-rm"]


@pytest.mark.parametrize("index", ["kept", "missing"])
def test_a_read_only_store_still_reads_and_refuses_a_run_clearly(write_flow, root, index):
    module = write_flow(FLOW)
    first = load_flow(module).run(root=root)
    if index == "missing":
        (Path(root) / "index.sqlite").unlink()
    script = textwrap.dedent(READER)
    shell = (
        f'mount --bind "{root}" "{root}" && mount -o remount,ro,bind "{root}" && '
        f'exec "{sys.executable}" -c "$READER" "{root}" "{module}"'
    )
    env = {**os.environ, "READER": script, "JUPYTER_FLOW_ROOT": root}
    done = subprocess.run(
        [*_read_only_namespace(), "sh", "-c", shell],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    import json

    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["runs"] == [first.id]
    assert out["total"] == out["weights"] == float(sum(range(300_000)))
    for name in ("cli_runs", "cli_show"):
        rc, stdout, stderr = out[name]
        assert rc == 0 and first.id in stdout and "Traceback" not in stderr, (name, stderr)
    rc, stdout, stderr = out["cli_run"]
    assert rc != 0 and "Traceback" not in stderr + stdout
    assert f"the store at {root}" in stderr + stdout and "read-only" in stderr + stdout
