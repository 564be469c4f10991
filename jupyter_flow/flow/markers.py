"""The ``# cell N (id: X), lines 2-4, 6`` comment above each exported step function.

It is the one thing the exported module tells the runtime about the notebook: export writes
it (``notebook/linemap.py``) and the runtime reads it to name the cell and line of a failing
statement (``runtime/tracemap.py``). The grammar lives here, between the two halves.
"""

from __future__ import annotations

import io
import re
import tokenize

# cell index, cell id (optional), the cell line of each module line after the def header
MARKER = re.compile(r"^# cell (\d+)(?: \(id: ([^)]*)\))?(?:, lines ([0-9?, -]+))?\s*$")


def format_lines(lines: list[int | None]) -> str:
    """``2-5, 7, 7, 8-12``; ``?`` for a line that could not be placed."""
    parts: list[str] = []
    i = 0
    while i < len(lines):
        first = lines[i]
        if first is None:
            parts.append("?")
            i += 1
            continue
        j = i
        while (
            j + 1 < len(lines) and lines[j + 1] is not None and lines[j + 1] == (lines[j] or 0) + 1
        ):
            j += 1
        parts.append(str(first) if j == i else f"{first}-{lines[j]}")
        i = j + 1
    return ", ".join(parts)


def parse_lines(spec: str) -> tuple[int | None, ...]:
    """The inverse of ``format_lines``."""
    out: list[int | None] = []
    for token in filter(None, (t.strip() for t in spec.split(","))):
        if token == "?":
            out.append(None)
        elif "-" in token:
            first, last = (int(p) for p in token.split("-", 1))
            out.extend(range(first, last + 1))
        else:
            out.append(int(token))
    return tuple(out)


def header_end(lines: list[str], def_line: int, stop: int | None = None) -> int:
    """The last line of a ``def`` header (a signature can span lines); ``stop``: a line the
    header surely ends before (the first body line), so only the header is tokenized."""
    text = "\n".join(lines[def_line - 1 : stop]) + "\n"
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.NEWLINE:
                return def_line - 1 + tok.start[0]
    except (tokenize.TokenError, SyntaxError):
        pass
    return def_line
