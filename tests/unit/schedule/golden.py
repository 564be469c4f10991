"""Golden files for rendered schedules: compare, or rewrite with JUPYTER_FLOW_UPDATE_GOLDEN=1
(then review the diff like any code change)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "schedule"


def check(name: str, documents: Any) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(documents, indent=2, sort_keys=True) + "\n"
    if os.environ.get("JUPYTER_FLOW_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"{path} is missing: run with JUPYTER_FLOW_UPDATE_GOLDEN=1 to create it"
    assert json.loads(path.read_text()) == json.loads(text), (
        f"{name} differs from {path}; regenerate with JUPYTER_FLOW_UPDATE_GOLDEN=1 and review"
    )
