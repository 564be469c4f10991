"""A finished run's task and attempt records, packed into one file.

A trivial task costs ~12 KB of disk as two small files in a folder of its own (a block
each). Once a run has ended nothing writes its records any more, so they are packed into
``runs/<Flow>/<run>/records.jsonl`` (one line per record, well under 1 KB per task) and
the loose files removed. Readers overlay loose files over the pack: a file written after
packing wins, and a crash between writing the pack and removing the files leaves both,
with the same contents. The pack is written before any file is removed, so a reader that
finds a listed file gone finds its record in the pack read after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import MISSING, asdict, fields

from .records import AttemptRecord, TaskRecord, from_json, run_dir

PACK = "records.jsonl"
TaskKey = tuple[str, int]
AttemptKey = tuple[str, int, int]


def pack_path(flow: str, run_id: str) -> str:
    return f"{run_dir(flow, run_id)}/{PACK}"


def record_kind(path: str) -> str | None:
    """``"task"`` / ``"attempt"`` for a loose record file's path, None for anything else."""
    name = path.rsplit("/", 1)[-1]
    if name == "task.json":
        return "task"
    if name.startswith("attempt-") and name.endswith(".json"):
        return "attempt"
    return None


class Pack:
    """The records of one pack file, by key (a plain class: a dataclass costs ~1 ms of
    start-up to build, and this is read on every run's finish)."""

    __slots__ = ("attempts", "damaged", "tasks")

    def __init__(self) -> None:
        self.tasks: dict[TaskKey, TaskRecord] = {}
        self.attempts: dict[AttemptKey, AttemptRecord] = {}
        self.damaged: list[str] = []  # "line N: why", for the warning

    def add(self, record: TaskRecord | AttemptRecord) -> None:
        if isinstance(record, TaskRecord):
            self.tasks[(record.step, record.index)] = record
        else:
            self.attempts[(record.step, record.index, record.attempt)] = record


def pack_line(kind: str | None, data: bytes) -> bytes | None:
    """The pack line of a loose record file's bytes, without rebuilding the record: None
    when they are not one JSON object of the right shape (the caller warns and skips)."""
    text = data.strip()
    if kind is None or not text.startswith(b"{") or b"\n" in text:
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict) or any(k not in raw for k in _required(kind)):
        return None
    return b'{"' + kind.encode() + b'":' + text + b"}\n"


_REQUIRED: dict[str, tuple[str, ...]] = {}


def _required(kind: str) -> tuple[str, ...]:
    """The fields a record of ``kind`` cannot be built without."""
    if kind not in _REQUIRED:
        cls = TaskRecord if kind == "task" else AttemptRecord
        _REQUIRED[kind] = tuple(
            f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
        )
    return _REQUIRED[kind]


def encode(tasks: Iterable[TaskRecord], attempts: Iterable[AttemptRecord]) -> bytes:
    lines = [{"task": asdict(t)} for t in tasks] + [{"attempt": asdict(a)} for a in attempts]
    return b"".join(json.dumps(x, separators=(",", ":")).encode() + b"\n" for x in lines)


def decode(data: bytes) -> Pack:
    """Every whole line of ``data``; a damaged line is noted and skipped (its task then
    reads as not run, and resume recomputes it)."""
    pack = Pack()
    if not data.strip():
        pack.damaged.append("the file is empty")
    for number, line in enumerate(data.splitlines() if data.strip() else (), 1):
        if not line.strip():  # never written: a record was lost here
            pack.damaged.append(f"line {number} is empty")
            continue
        try:
            entry = json.loads(line)
            if "task" in entry:
                pack.add(from_json(TaskRecord, entry["task"]))
            else:
                pack.add(from_json(AttemptRecord, entry["attempt"]))
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            pack.damaged.append(f"line {number}: {type(err).__name__}: {str(err)[:80]}")
    return pack
