"""Golden files: compare a produced document with the one under tests/golden/, or rewrite it
when ``JUPYTER_FLOW_UPDATE_GOLDEN=1`` (then review the diff like any code change)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def check_golden(relpath: str, document: Any) -> None:
    path = GOLDEN / relpath
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    if os.environ.get("JUPYTER_FLOW_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.is_file(), f"{path} is missing: run with JUPYTER_FLOW_UPDATE_GOLDEN=1 to create it"
    assert json.loads(text) == json.loads(path.read_text()), (
        f"{relpath} differs from the golden file; if the change is intended, "
        "regenerate with JUPYTER_FLOW_UPDATE_GOLDEN=1 and review the diff"
    )
