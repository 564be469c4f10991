"""From what each export path and each run did to one verdict (pure: no I/O).

REPRODUCED   every path wrote the same module, and the module's run and ``%flow run`` both
             gave every compared value exactly as the kernel did;
REFUSED      every path refused naming the same cell, or (a notebook whose step fails in the
             kernel too) every run failed naming that cell;
SILENT-DIFFERENCE  a run finished ``done`` with a different or missing value;
CRASH        a traceback from our code, an unlocated error, a run that failed where the kernel
             did not, or paths that disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .compare import differences

Verdict = Literal["REPRODUCED", "REFUSED", "SILENT-DIFFERENCE", "CRASH"]
ExportKind = Literal["module", "refused", "crash"]
RunKind = Literal["done", "failed", "refused", "crash"]
EXPORT_PATHS = ("magic", "cli", "nbconvert", "lab", "run")
CELL = re.compile(r"\bcell (\d+)\b")


def located_cell(message: str) -> int | None:
    """The cell a message names ("cell 6, line 3: ..."), if any."""
    found = CELL.search(message)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Export:
    """What one export path gave: a module's bytes, a located refusal, or a crash."""

    path: str
    kind: ExportKind
    message: str = ""
    module: bytes | None = None

    @property
    def cell(self) -> int | None:
        return located_cell(self.message) if self.kind == "refused" else None


@dataclass(frozen=True)
class RunResult:
    """A run of the flow (``python module run`` or ``%flow run``) and its final values."""

    path: str
    kind: RunKind
    message: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    detail: str
    paths: str  # one word per path, for the table


def refusal_or_crash(path: str, message: str, *, traceback_ok: bool = False) -> Export:
    """A failed export: refused when it names a cell (and is not a traceback of our
    internals), else a crash."""
    text = message.strip()
    last = text.splitlines()[-1] if text else ""
    if "Traceback (most recent call last)" in text and not traceback_ok:
        return Export(path, "crash", text)
    if traceback_ok and "Traceback (most recent call last)" in text:
        # nbconvert prints a traceback for every exporter error; the error itself counts
        error_lines = [ln for ln in text.splitlines() if ln.startswith("jupyter_flow.errors.")]
        if not error_lines:
            return Export(path, "crash", text)
        last = error_lines[-1]
        text = text[text.index(last) :]
    if located_cell(text) is None:
        return Export(path, "crash", text or last)
    return Export(path, "refused", text)


def _paths_word(exports: list[Export], runs: list[RunResult]) -> str:
    parts = [f"{e.path}:{e.kind}" for e in exports]
    parts += [f"{r.path}:{r.kind}" for r in runs]
    return " ".join(parts)


def classify_exports(exports: list[Export]) -> Outcome | None:
    """The verdict when the exports already decide it (refused, crashed, disagree); None
    when every path wrote the same module and the runs decide."""
    word = _paths_word(exports, [])
    crashed = [e for e in exports if e.kind == "crash"]
    if crashed:
        e = crashed[0]
        return Outcome("CRASH", f"{e.path}: unlocated error: {_first_lines(e.message)}", word)
    refused = [e for e in exports if e.kind == "refused"]
    modules = [e for e in exports if e.kind == "module"]
    if refused and modules:
        detail = (
            f"paths disagree: {', '.join(e.path for e in refused)} refused "
            f"({_first_lines(refused[0].message, 1)}); "
            f"{', '.join(e.path for e in modules)} wrote a module"
        )
        return Outcome("CRASH", detail, word)
    if refused:
        cells = {e.cell for e in refused}
        if len(cells) > 1:
            named = ", ".join(f"{e.path}: cell {e.cell}" for e in refused)
            return Outcome("CRASH", f"paths disagree on the cell: {named}", word)
        return Outcome("REFUSED", _first_lines(refused[0].message, 2), word)
    first = modules[0]
    for other in modules[1:]:
        if other.module != first.module:
            return Outcome(
                "CRASH",
                f"paths disagree: {first.path} and {other.path} wrote different modules "
                f"({_first_difference(first.module, other.module)})",
                word,
            )
    return None


def classify_runs(
    exports: list[Export],
    runs: list[RunResult],
    kernel: dict[str, Any],
    *,
    kernel_failed_cell: int | None,
) -> Outcome:
    """The verdict of runs of one agreed module, against the kernel's values."""
    word = _paths_word(exports, runs)
    for run in runs:
        if run.kind == "crash":
            return Outcome("CRASH", f"{run.path}: {_first_lines(run.message)}", word)
        if run.kind in ("failed", "refused"):
            cell = located_cell(run.message)
            if kernel_failed_cell is None:
                return Outcome(
                    "CRASH",
                    f"{run.path} failed where the kernel did not: {_first_lines(run.message)}",
                    word,
                )
            if cell != kernel_failed_cell:
                where = f"names cell {cell}" if cell else "names no cell"
                return Outcome(
                    "CRASH",
                    f"{run.path}: the error {where}, the kernel failed in cell "
                    f"{kernel_failed_cell}: {_first_lines(run.message)}",
                    word,
                )
    if kernel_failed_cell is not None:
        done = [r.path for r in runs if r.kind == "done"]
        if done:
            return Outcome(
                "CRASH",
                f"{', '.join(done)} finished although the kernel failed in cell "
                f"{kernel_failed_cell}",
                word,
            )
        return Outcome(
            "REFUSED",
            f"run error located at cell {kernel_failed_cell}: " + _first_lines(runs[0].message, 1),
            word,
        )
    problems: list[str] = []
    for run in runs:
        for name in run.missing:
            problems.append(f"{run.path}: {name!r} missing")
        for name, value in kernel.items():
            if name in run.missing:
                continue
            if name not in run.values:
                problems.append(f"{run.path}: {name!r} missing")
                continue
            problems += [f"{run.path}: {d}" for d in differences(value, run.values[name], name)]
    if problems:
        return Outcome("SILENT-DIFFERENCE", "; ".join(problems[:8]), word)
    return Outcome("REPRODUCED", "", word)


def _first_lines(text: str, n: int = 3) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if lines and lines[0].startswith("Traceback"):
        lines = lines[-n:]  # the exception, not the frames
    return " | ".join(lines[:n])[:600]


def _first_difference(a: bytes | None, b: bytes | None) -> str:
    left = (a or b"").decode(errors="replace").splitlines()
    right = (b or b"").decode(errors="replace").splitlines()
    for i, (x, y) in enumerate(zip(left, right, strict=False), start=1):
        if x != y:
            return f"line {i}: {x.strip()[:80]!r} vs {y.strip()[:80]!r}"
    return f"{len(left)} vs {len(right)} lines"
