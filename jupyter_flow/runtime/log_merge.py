"""What a killed task's log in the store lacks, found in the engine's log (pure: no I/O).

A remote task uploads its stdout and stderr every few seconds; a SIGKILL (OOM, a lost
node) leaves the store without the last seconds. The engine keeps the container's output
(``kubectl logs``, CloudWatch) a while longer, stdout and stderr in one stream, in the
order written. The store's two logs are each a prefix, in order, of their stream, so
walking the engine's lines and ticking off the store's lines as they come finds where the
store ends: everything after the last line ticked off is the missing tail.

A line the task masked (a secret parameter it read) is stored with ``********`` where the
engine may have the value (output from before the task read it), so a stored line matches
an engine line with any text in place of each ``********``. What follows the match is
output the task's masking tee had already masked before the container printed it (the
task uploads its log at the moment it reads a secret: ``logs.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..flow.secret_params import REDACTED

_MASK = re.escape(REDACTED)


@dataclass(frozen=True)
class Tail:
    """The engine's lines the store lacks; ``rest`` is the end of a line the store has
    only the start of (the task was killed mid-line), in ``rest_stream``."""

    lines: tuple[str, ...] = ()
    rest: str = ""
    rest_stream: str = ""
    shown: tuple[str, ...] = ()  # the store's lines then the tail: what an error may quote

    def __bool__(self) -> bool:
        return bool(self.lines or self.rest)

    @property
    def count(self) -> int:
        return len(self.lines) + (1 if self.rest else 0)


def _pattern(stored: str) -> re.Pattern[str] | None:
    """A regex for a stored line that has masked values in it (None: compare as is)."""
    if REDACTED not in stored:
        return None
    parts = [re.escape(p) for p in stored.split(REDACTED)]
    return re.compile(".+?".join(parts), re.DOTALL)


class _Stream:
    """One stored log, as lines to tick off in order."""

    def __init__(self, text: str) -> None:
        lines = text.split("\n")
        self.partial = lines.pop()  # "" when the log ends with a newline
        self.lines = lines
        self.next = 0
        self.patterns = [_pattern(line) for line in lines]

    @property
    def done(self) -> bool:
        return self.next >= len(self.lines)

    def _same(self, position: int, line: str) -> bool:
        pattern = self.patterns[position]
        if pattern is None:
            return self.lines[position] == line
        return pattern.fullmatch(line) is not None

    def take(self, line: str) -> str | None:
        """Tick ``line`` off if it is the next stored line: the line as stored. A log the
        engine no longer has from its start (a rotated container log) is joined where its
        first line appears."""
        if self.done:
            return None
        if self._same(self.next, line):
            self.next += 1
            return self.lines[self.next - 1]
        if self.next == 0:
            for position in range(1, len(self.lines)):
                if self._same(position, line):
                    self.next = position + 1
                    return self.lines[position]
        return None

    def rest_of(self, line: str) -> str | None:
        """The end of ``line`` the store lacks, when the store's unfinished last line is
        its start."""
        if not self.partial:
            return None
        pattern = _pattern(self.partial)
        if pattern is None:
            return line[len(self.partial) :] if line.startswith(self.partial) else None
        found = pattern.match(line)
        return line[found.end() :] if found is not None else None


def missing_tail(engine: Sequence[str], stored: Mapping[str, str]) -> Tail:
    """The lines of ``engine`` (the container's log, stdout and stderr mixed) that come
    after everything in ``stored`` (stream name -> the text the store has)."""
    streams = {name: _Stream(text) for name, text in stored.items()}
    last = -1  # the position of the last engine line the store has
    kept: list[str] = []  # the store's lines, as stored (masked), in the engine's order
    for position, line in enumerate(engine):
        as_stored = next((k for s in streams.values() if (k := s.take(line)) is not None), None)
        if as_stored is not None:
            last = position
            kept.append(as_stored)
    # an engine line before the last the store has, and not in it, is not shown: output
    # from before the task's capture, or a line the store has masked differently
    after = list(engine[last + 1 :])
    if after:
        for name, stream in streams.items():
            if stream.done and (rest := stream.rest_of(after[0])) is not None:
                shown = (*kept, stream.partial + rest, *after[1:])
                return Tail(tuple(after[1:]), rest, name, shown)
    return Tail(tuple(after), shown=(*kept, *after))


def merged(stored: Mapping[str, str], tail: Tail, into: str = "stdout") -> dict[str, str]:
    """The logs that change once ``tail`` is added: the end of an unfinished line to its
    own stream, the lines after it to ``into`` (the engine does not say which stream a
    line was written to)."""
    texts = {name: stored.get(name, "") for name in {into, tail.rest_stream} if name}
    if tail.rest:
        texts[tail.rest_stream] += tail.rest + "\n"
    if tail.lines:
        text = texts[into]
        texts[into] = (text + "\n" if text and not text.endswith("\n") else text) + "".join(
            line + "\n" for line in tail.lines
        )
    return texts
