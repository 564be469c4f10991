"""Where in the notebook a step failed: a traceback in the flow module -> "cell 6, line 3".

An exported module carries a marker comment above each step function::

    # cell 6 (id: 3f2a9c)                    the body is the cell's line 2 on, line for line
    # cell 6 (id: 3f2a9c), lines 2-5, 7, 7, 8-12

The optional ``lines`` list (written by export, notebook/linemap.py, whenever the body does
not map line for line, e.g. after ruff reflowed it) gives the cell line of each module line
after the ``def`` header, in order; ``?`` is a line export could not place. Without a list,
module line ``header + k`` is cell line ``1 + k`` (the ``%%step`` line is line 1). A module
without markers (a hand-written flow) keeps module file/line locations.

Everything here is pure (text in, text out) except ``describe_exception``, which reads the
module file and never raises: error bookkeeping must not fail a task.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..flow.markers import MARKER, header_end, parse_lines
from ..store.records import ErrorInfo

FRAME = re.compile(r'^(\s*File "(.+)", line (\d+), in (\S+))\s*$')


@dataclass(frozen=True)
class StepMarker:
    """One step function of the module and the cell it came from."""

    function: str
    cell: int
    cell_id: str | None
    header_end: int  # last module line of the ``def`` header
    end: int  # last module line of the function's cell code
    lines: tuple[int | None, ...] | None  # cell line per module line after the header

    def cell_line(self, module_line: int) -> int | None:
        k = module_line - self.header_end
        if k < 1 or module_line > self.end:
            return None
        if self.lines is None:
            return 1 + k
        return self.lines[k - 1] if k <= len(self.lines) else None


@dataclass(frozen=True)
class Place:
    """A failing line: always in the module, and in a notebook cell when the module says so."""

    file: str  # the module's file name
    module_line: int
    text: str = ""  # the source line, stripped
    cell: int | None = None
    cell_id: str | None = None
    line: int | None = None  # 1-based line in the cell, counting the %%step line

    @property
    def short(self) -> str:
        """``notebook cell 6, line 3`` (or the module file and line)."""
        if self.cell is None:
            return f"{self.file}, line {self.module_line}"
        # cell 0: the module of one cell run elsewhere (%%step --on), the cell the user ran
        where = f"notebook cell {self.cell}" if self.cell else "notebook cell"
        return where + (f", line {self.line}" if self.line is not None else "")

    def __str__(self) -> str:
        head = (
            self.short.removeprefix("notebook ")
            if self.cell
            else self.short.replace("notebook ", "this ")
        )
        if not self.text:
            return head
        quote = "'" if '"' in self.text and "'" not in self.text else '"'
        return f"{head}: {quote}{self.text}{quote}"


@dataclass(frozen=True)
class Explained:
    """A user traceback read against the module: where it failed and the annotated text."""

    place: Place | None
    traceback: str
    frames: tuple[Place, ...] = field(default=())


# -- the lines grammar (the writer is notebook/linemap.py; a round-trip test keeps them one)
# -- reading a module
def markers(source: str) -> dict[str, StepMarker]:
    """Step functions preceded by a ``# cell N`` marker, by function name."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    lines = source.split("\n")
    found: dict[str, StepMarker] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.body:
            continue
        first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        above = lines[first - 2].strip() if first >= 2 else ""
        match = MARKER.match(above)
        if match is None:
            continue
        head = header_end(lines, node.lineno)
        last = node.body[-1]
        # a top-level ``return`` cannot come from a cell: export adds it for the outputs
        end = last.lineno - 1 if isinstance(last, ast.Return) else node.end_lineno or head
        spec = match.group(3)
        found[node.name] = StepMarker(
            node.name,
            int(match.group(1)),
            match.group(2) or None,
            head,
            end,
            parse_lines(spec) if spec else None,
        )
    return found


def place(
    source: str, module_line: int, file: str, known: dict[str, StepMarker] | None = None
) -> Place:
    """The failing ``module_line`` of ``file`` (whose text is ``source``), in cell terms if a
    step function's marker covers it."""
    lines = source.split("\n")
    text = lines[module_line - 1].strip() if 0 < module_line <= len(lines) else ""
    for marker in (markers(source) if known is None else known).values():
        if marker.header_end < module_line <= marker.end:
            return Place(
                file, module_line, text, marker.cell, marker.cell_id, marker.cell_line(module_line)
            )
    return Place(file, module_line, text)


def explain(traceback_text: str, module_file: str, source: str) -> Explained:
    """Annotate the module's frames in ``traceback_text`` with their cell and line; the place
    is the innermost module frame inside a step cell, else the innermost module frame."""
    name = Path(module_file).name
    known = markers(source)
    out: list[str] = []
    frames: list[Place] = []
    for row in traceback_text.split("\n"):
        match = FRAME.match(row)
        if match is not None and Path(match.group(2)).name == name:
            where = place(source, int(match.group(3)), name, known)
            frames.append(where)
            if where.cell is not None:
                row = f"{match.group(1)}  ({where.short})"
        out.append(row)
    in_cells = [f for f in frames if f.cell is not None]
    best = in_cells[-1] if in_cells else (frames[-1] if frames else None)
    return Explained(best, "\n".join(out), tuple(frames))


def headline(step: str, message: str, where: str = "") -> str:
    """``step 'combine' failed (cell 6, line 3: "df['y'].sum()"): KeyError: 'y'``."""
    at = f" ({where})" if where else ""
    # an engine error located at the step already says so: not "step 'a' failed: step 'a': ..."
    name = step.split("[", 1)[0]
    message = re.sub(rf"^step {re.escape(repr(name))}(, task \d+)?: ", "", message)
    return f"step {step!r} failed{at}: {message}"


def describe_exception(traceback_text: str, module_path: str) -> Explained:
    """``explain`` with the module read from disk; on any trouble, the traceback as it is."""
    try:
        source = Path(module_path).read_text(encoding="utf-8")
        return explain(traceback_text, module_path, source)
    except Exception:  # bookkeeping never fails a task
        return Explained(None, traceback_text)


def exception_message(err: BaseException) -> str:
    """``KeyError: 'y'`` (just ``ValueError`` when the exception has no message)."""
    name = type(err).__name__
    try:
        text = str(err)
    except Exception:  # a user exception whose __str__ raises
        text = ""
    return f"{name}: {text}" if text else name


def exception_info(err: BaseException, traceback_text: str, module_path: str) -> ErrorInfo:
    """The attempt's error record for a user exception, located in the notebook when the
    module says where its steps came from."""
    explained = describe_exception(traceback_text, module_path)
    where = explained.place
    return ErrorInfo(
        "exception",
        exception_message(err),
        type(err).__name__,
        explained.traceback,
        where=str(where) if where else "",
        cell=where.cell if where else None,
        cell_id=where.cell_id if where else None,
        line=where.line if where else None,
    )


def locate_error(error: ErrorInfo, module_path: str) -> ErrorInfo:
    """``error`` located after the fact (a remote task's worker may predate this, or had no
    module to read): unchanged when it is located already or carries no traceback."""
    if error.where or not error.traceback or not module_path:
        return error
    explained = describe_exception(error.traceback, module_path)
    where = explained.place
    if where is None:
        return error
    return replace(
        error,
        traceback=explained.traceback,
        where=str(where),
        cell=where.cell,
        cell_id=where.cell_id,
        line=where.line,
    )


def error_text(label: str, error: ErrorInfo) -> str:
    """What every view shows of a failed task: the one-line headline, then the traceback."""
    head = headline(label, error.message, error.where)
    return head + ("\n" + error.traceback.rstrip() if error.traceback.strip() else "")


def short_traceback(text: str, limit: int = 15) -> list[str]:
    """At most about ``limit`` lines of a traceback, keeping the frames in notebook cells
    (a library's own frames can bury them) and the exception at the end."""
    rows = text.rstrip().split("\n")
    if len(rows) <= limit:
        return rows
    keep: set[int] = set()
    for i, row in enumerate(rows):
        if "(notebook cell " in row and FRAME.match(row):
            keep.update(range(i, min(i + 3, len(rows))))
    keep.update(range(max(0, len(rows) - max(4, limit - len(keep))), len(rows)))
    out: list[str] = []
    for i in sorted(keep):
        if out and i - 1 not in keep:
            out.append("  ...")
        out.append(rows[i])
    return out
