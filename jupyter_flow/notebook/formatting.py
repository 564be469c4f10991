"""Optional last pass: ``ruff format`` over the generated module, when ruff is installed.

Our own lines are already ruff-style; cell code is moved as written, and indenting it by a
level can push lines past the limit. ruff (default settings, ``--isolated`` so that the
result depends only on the notebook and ruff's version) fixes that. Without ruff, or if
it fails, the module is kept as generated: it still compiles and runs the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache


@cache
def ruff_binary() -> str | None:
    if os.environ.get("JUPYTER_FLOW_NO_RUFF"):
        return None
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-not-found,unused-ignore]

        found: str | None = find_ruff_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("ruff")
    return found


def format_module(source: str) -> str:
    """``source`` formatted by ruff, or unchanged when ruff is missing or refuses it."""
    ruff = ruff_binary()
    if ruff is None:
        return source
    try:
        done = subprocess.run(
            [ruff, "format", "--isolated", "--stdin-filename", "flow.py", "-"],
            input=source,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return source
    return done.stdout if done.returncode == 0 and done.stdout else source
