"""Read a flow's latest run as a user would (``jupyter_flow.client``) and pickle the
canonical form of the final values the harness compares.

``read(root, flow, out, names)`` runs in the notebook's kernel through ``runpy.run_path``,
after ``%flow run`` and after ``python MODULE run``, as a user reads a run back with
``latest_run(FLOW).data.NAME``. The payload says the run's status and error, which names the
run does not have, and which could not be loaded (and why).
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

CANON = str(Path(__file__).resolve().parent / "canon.py")


def read(root: str, flow: str, out: str, names: list[str]) -> None:
    from jupyter_flow.client import latest_run

    dump = runpy.run_path(CANON)["dump"]
    try:
        run = latest_run(flow, root=root)
    except Exception as err:
        dump({}, names, out, status="none", error=f"{type(err).__name__}: {err}", errors={})
        return
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    missing = []
    for name in names:
        if name not in run.data:
            missing.append(name)
            continue
        try:
            values[name] = run.data[name]
        except Exception as err:
            errors[name] = f"{type(err).__name__}: {err}"[:400]
    error = run.record.error
    dump(
        values,
        missing,
        out,
        status=run.status,
        error=(error.message if error else "") or "",
        errors=errors,
        run=run.pathspec,
    )
