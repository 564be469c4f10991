"""A wheel built from a clean checkout is complete (issue 14, item 7): it carries the
JupyterLab extension (built by hatch_build.py with npm, since the built folder is not in
git), the server-extension config, and every module of the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOT_IN_A_CHECKOUT = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "lib", "__pycache__", "test-results", "playwright-report",
    "dist", "build", ".jupyter_flow", "*.egg-info", "*.tsbuildinfo",
)  # fmt: skip


@pytest.mark.slow
def test_a_wheel_from_a_clean_checkout_carries_the_lab_extension(tmp_path):
    source = tmp_path / "checkout"
    shutil.copytree(REPO, source, ignore=NOT_IN_A_CHECKOUT)
    shutil.rmtree(source / "jupyter_flow" / "labextension", ignore_errors=True)  # as git has it
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = tmp_path.glob("jupyter_flow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "jupyter_flow-0.1.0.data/data/"
    lab = f"{data}share/jupyter/labextensions/jupyter-flow/"
    assert f"{lab}package.json" in names
    assert any(n.startswith(f"{lab}static/remoteEntry.") for n in names)
    assert any(n.startswith(f"{lab}schemas/") for n in names)
    assert f"{data}etc/jupyter/jupyter_server_config.d/jupyter_flow.json" in names
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "jupyter_flow").rglob("*.py")}
    modules = {m for m in modules if "/labextension/" not in m}
    assert modules <= names, sorted(modules - names)[:10]
