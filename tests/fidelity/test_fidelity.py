"""Every corpus notebook: the kernel's final values against every export path's.

Passes on REPRODUCED or REFUSED; fails on SILENT-DIFFERENCE or CRASH with what differed.
The table of all verdicts is printed at the end of the session (``report.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from .harness import notebooks, run_notebook
from .report import KEY
from .server import LabServer

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("folder", notebooks(), ids=lambda p: p.name)
def test_the_flow_reproduces_or_refuses(
    folder: Path,
    lab_server: LabServer,
    fidelity_root: Path,
    record_property: Callable[[str, object], None],
) -> None:
    result = run_notebook(folder, fidelity_root, lab_server)
    record_property(KEY, json.dumps(asdict(result)))
    assert result.verdict in ("REPRODUCED", "REFUSED"), (
        f"{result.notebook}: {result.verdict}: {result.detail}\n  paths: {result.paths}"
    )
