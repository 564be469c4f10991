"""A whole flow with its store in S3 (SeaweedFS): run from the CLI, read back with the client."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from jupyter_flow.client import Run
from tests.conftest import REPO


def test_sweep_flow_runs_with_an_s3_root_and_the_client_reads_it(s3_env, tmp_path, monkeypatch):
    root = s3_env.fresh_url()
    monkeypatch.setenv("JUPYTER_FLOW_BLOB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the client's run index
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "JUPYTER_FLOW_RETRY_BACKOFF": "0.05"}
    done = subprocess.run(
        [sys.executable, str(REPO / "examples/flows/sweep_flow.py"), "run", "--root", root],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "alpha=0.01" in done.stdout  # task logs travelled through the store
    pathspec = next(w for w in done.stdout.split() if w.startswith("SweepFlow/"))

    run = Run(pathspec, root=root)
    assert run.successful
    assert run.data.best_alpha in (0.01, 0.1, 1.0, 10.0)
    assert len(run.data.score) == 4 and run.data.best_score == max(run.data.score)
    assert isinstance(run.data.X, np.ndarray) and run.data.X.shape == (2000, 5)
    assert "generated 2000 samples" in run["load"].task.stdout
    assert not list(tmp_path.glob("**/.jupyter_flow"))  # nothing written to a local root
