"""A store on a read-only filesystem (a real read-only bind mount, in a private mount
namespace) still reads: runs list, a run shows, artifacts load (the index is rebuilt in
memory), and a new run is refused with a message naming the store, never a traceback."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_flow.client import list_runs
from jupyter_flow.runtime.loader import load_flow

from .mounts import in_mount_namespace

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


@pytest.mark.parametrize("index", ["kept", "missing"])
def test_a_read_only_store_still_reads_and_refuses_a_run_clearly(write_flow, root, index):
    module = write_flow(FLOW)
    first = load_flow(module).run(root=root)
    list_runs(root=root)  # a reader builds the index (a local run does not write it)
    if index == "missing":
        (Path(root) / "index.sqlite").unlink()
    script = textwrap.dedent(READER)
    shell = (
        f'mount --bind "{root}" "{root}" && mount -o remount,ro,bind "{root}" && '
        f'exec "{sys.executable}" -c "$READER" "{root}" "{module}"'
    )
    env = {**os.environ, "READER": script, "JUPYTER_FLOW_ROOT": root}
    out = in_mount_namespace(shell, env)
    assert out["runs"] == [first.id]
    assert out["total"] == out["weights"] == float(sum(range(300_000)))
    for name in ("cli_runs", "cli_show"):
        rc, stdout, stderr = out[name]
        assert rc == 0 and first.id in stdout and "Traceback" not in stderr, (name, stderr)
    rc, stdout, stderr = out["cli_run"]
    assert rc != 0 and "Traceback" not in stderr + stdout
    assert f"the store at {root}" in stderr + stdout and "read-only" in stderr + stdout
