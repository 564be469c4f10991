"""The fidelity table at the end of a pytest session (terminal summary, so CI logs show it).

Each corpus test records its result as a ``fidelity`` user property; xdist carries test
reports to the controller, where this plugin gathers them and prints one row per notebook.
"""

from __future__ import annotations

import json
from typing import Any

RESULTS: list[dict[str, Any]] = []
KEY = "fidelity"


def pytest_runtest_logreport(report: Any) -> None:
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == KEY:
            RESULTS.append(json.loads(value))


def table(results: list[dict[str, Any]]) -> str:
    """notebook, verdict, expected (``!`` when the issue expects otherwise), seconds in all
    and for Run All in the kernel, what each path did; then what differed."""
    header = ("notebook", "verdict", "expect", "seconds", "kernel", "paths")
    rows = [header]
    notes = []
    for r in sorted(results, key=lambda r: r["notebook"]):
        expect = r.get("expect") or "-"
        if r.get("expect") and r["expect"] != r["verdict"]:
            expect = f"{expect}!"
        kernel = f"{r.get('kernel_seconds', 0.0):.1f}"
        rows.append(
            (r["notebook"], r["verdict"], expect, f"{r['seconds']:.1f}", kernel, r["paths"])
        )
        if r.get("detail"):
            notes.append(f"  {r['notebook']}: {r['detail']}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    counts: dict[str, int] = {}
    for r in results:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    total = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    return "\n".join([*lines, "", f"{len(results)} notebooks: {total}", *notes])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("fidelity: kernel vs exported flow")
    terminalreporter.write_line(table(RESULTS))
