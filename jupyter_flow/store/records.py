"""Run, task and attempt records. The store is the record of truth; ``index.py`` caches it.

Layout under the root (every record one JSON document, written whole and atomically)::

    runs/<Flow>/<run>/run.json                    status, parameters, graph
    runs/<Flow>/<run>/heartbeat.json              the driver's liveness
    runs/<Flow>/<run>/<step>/<i>/attempt-<n>.json one try of a task (started, error)
    runs/<Flow>/<run>/<step>/<i>/attempt-<n>.stdout / .stderr
    runs/<Flow>/<run>/<step>/<i>/task.json        written last: the task is done
    runs/<Flow>/<run>/records.jsonl               once the run ended: its task and attempt
                                                  records, packed (``packs.py``)

A task exists only once its ``task.json`` exists, and that is written after all its blobs,
so a crash at any instant leaves a finished task or none.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

from .blobs import BlobStore

if TYPE_CHECKING:
    from .packs import Pack

T = TypeVar("T")
# "lost" is never written: it is derived for a "running" run whose driver stopped beating
RunStatus = Literal["running", "done", "failed", "cancelled", "lost"]
TaskStatus = Literal["done", "caught"]
AttemptStatus = Literal["running", "done", "failed"]
ErrorKind = Literal[
    "exception",
    "timeout",
    "worker-died",
    "unpicklable",
    "definition",
    "cancelled",
    "infrastructure",
    "out-of-memory",
    "image-pull",
    "evicted",
    "unschedulable",
]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)


class DamagedRecordWarning(UserWarning):
    """A record file that cannot be decoded; it is skipped so the rest of the store reads."""


_warned: set[str] = set()


def _damaged(path: str, why: str) -> None:
    """Warn once per file and process, naming the file (not our source line)."""
    if path in _warned:
        return
    _warned.add(path)
    warnings.warn_explicit(
        f"skipping damaged record {path}: {why} (restore or delete the file)",
        DamagedRecordWarning,
        "jupyter_flow",
        0,
    )


def new_run_id() -> str:
    """Sortable by start time and unique across processes and machines (32 random bits)."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + os.urandom(4).hex()


@dataclass(frozen=True)
class Artifact:
    """One saved value: the blob (or inline bytes for small values) and what it looks like."""

    name: str
    type: str
    size: int
    summary: str
    key: str | None = None
    inline: str | None = None  # base64 of the encoded bytes
    length: int | None = None  # len(value) when a foreach could iterate it
    # Outputs of one task that share objects (``data = [train, test]``) are pickled together
    # in one blob, a dict name -> value with one memo, so their identity survives; ``group``
    # is that blob's key (``key`` and ``inline`` are then None, so an older reader refuses
    # rather than loading the dict) and ``group_id`` names the group uniquely across tasks:
    # loaders decode each group_id once and hand every member its own value from it. A
    # member's ``size`` is the group blob's (what loading it reads), not its own share.
    group: str | None = None
    group_id: str | None = None
    # A list or tuple that a later step's foreach iterates is saved item by item: ``items``
    # is the key of a manifest blob (``artifacts.py``) naming each item's own artifact, so a
    # foreach task loads only its item (``key`` and ``inline`` are then None, as for groups).
    items: str | None = None


@dataclass(frozen=True)
class ErrorInfo:
    """Why an attempt failed, in the user's terms (their traceback, not ours)."""

    kind: ErrorKind
    message: str
    type: str = ""
    traceback: str = ""
    # where it failed, the same text for every viewer: 'cell 6, line 3: "df.y.sum()"' for an
    # exported notebook (runtime/tracemap.py), the module file and line otherwise
    where: str = ""
    cell: int | None = None
    cell_id: str | None = None
    line: int | None = None  # in the cell, counting its %%step line


@dataclass(frozen=True)
class AttemptRecord:
    flow: str
    run_id: str
    step: str
    index: int
    attempt: int
    status: AttemptStatus
    started: float
    finished: float | None = None
    error: ErrorInfo | None = None
    host: str = ""
    pid: int = 0


@dataclass(frozen=True)
class TaskRecord:
    flow: str
    run_id: str
    step: str
    index: int
    status: TaskStatus
    attempt: int
    started: float
    finished: float
    artifacts: tuple[Artifact, ...] = ()
    error: ErrorInfo | None = None  # for caught failures
    origin_run: str | None = None  # set when reused from another run by resume

    def artifact(self, name: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.name == name), None)


@dataclass(frozen=True)
class StepInfo:
    """What a run record says about a step, enough to draw the run without the module."""

    name: str
    upstream: tuple[str, ...] = ()
    foreach: str | None = None
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunRecord:
    flow: str
    run_id: str
    status: RunStatus
    created: float
    finished: float | None = None
    params: dict[str, str] = field(default_factory=dict)  # name -> short summary
    steps: tuple[StepInfo, ...] = ()
    module_path: str = ""
    executor: str = "local"
    origin_run: str | None = None
    resume_from: str | None = None
    error: ErrorInfo | None = None
    failed_step: str | None = None
    host: str = ""
    pid: int = 0
    final: dict[str, str] = field(default_factory=dict)  # artifact -> step with final value
    schedule: str = ""  # the schedule that started the run; older records load as ""

    @property
    def pathspec(self) -> str:
        return f"{self.flow}/{self.run_id}"


# -- JSON round trip (plain dataclasses, nested types rebuilt by field name) --------------

_NESTED: dict[str, Any] = {
    "error": ErrorInfo,
    "artifacts": Artifact,
    "steps": StepInfo,
}


def to_json(record: Any) -> bytes:
    return json.dumps(plain(record), separators=(",", ":"), sort_keys=True).encode()


def plain(value: Any) -> Any:
    """``dataclasses.asdict`` for records (dataclasses, tuples, lists, dicts of JSON
    values): the same result without deep-copying every leaf, a third of a record write."""
    names = getattr(type(value), "__dataclass_fields__", None)
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def from_json(cls: type[T], data: bytes | dict[str, Any]) -> T:
    raw = json.loads(data) if isinstance(data, bytes | bytearray) else data
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            continue  # written by a newer version: ignore what we do not know
        nested = _NESTED.get(key)
        if nested is not None and value is not None:
            if isinstance(value, list):
                value = tuple(from_json(nested, v) for v in value)
            else:
                value = from_json(nested, value)
        elif isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return cls(**values)


# -- paths ------------------------------------------------------------------------------


def run_dir(flow: str, run_id: str) -> str:
    return f"runs/{flow}/{run_id}"


def task_dir(flow: str, run_id: str, step: str, index: int) -> str:
    return f"{run_dir(flow, run_id)}/{step}/{index}"


def log_path(flow: str, run_id: str, step: str, index: int, attempt: int, stream: str) -> str:
    return f"{task_dir(flow, run_id, step, index)}/attempt-{attempt}.{stream}"


_DECODE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RecursionError)


def decode(cls: type[T], path: str, data: bytes | None) -> T | None:
    """``data`` (the bytes of the record at ``path``) as a ``cls``; None when the file is
    missing, and None with a warning naming the file when it is empty or damaged."""
    if data is None:
        return None
    if not data.strip():
        _damaged(path, "the file is empty")
        return None
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict):
            raise ValueError(f"expected a JSON object, found {type(raw).__name__}")
        return from_json(cls, raw)
    except _DECODE_ERRORS as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        _damaged(path, f"{type(err).__name__}: {str(err)[:120]}")
        return None


class Records:
    """Typed access to the records of one store. A damaged record reads as absent, with a
    ``DamagedRecordWarning`` naming its file, so one bad file never stops the store."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self._packs: dict[tuple[str, str], Pack] = {}

    def _read(self, cls: type[T], path: str) -> T | None:
        return decode(cls, self._where(path), self.store.get(path))

    def _where(self, path: str) -> str:
        return f"{self.store.url.rstrip('/')}/{path}"

    # runs
    def write_run(self, record: RunRecord) -> None:
        self.store.put(f"{run_dir(record.flow, record.run_id)}/run.json", to_json(record))

    def read_run(self, flow: str, run_id: str) -> RunRecord | None:
        return self._read(RunRecord, f"{run_dir(flow, run_id)}/run.json")

    def set_run_status(self, record: RunRecord, status: RunStatus, **changes: Any) -> RunRecord:
        finished = time.time() if status != "running" else None
        updated = replace(record, status=status, finished=finished, **changes)
        self.write_run(updated)
        if status != "running":
            self._pack_ended(updated)
        return updated

    def _pack_ended(self, record: RunRecord) -> None:
        """Pack an ended run's records; a store that refuses (full, read-only) keeps them
        loose, which reads the same."""
        from ..errors import StoreError

        try:
            self.pack_run(record.flow, record.run_id)
        except (StoreError, OSError) as err:
            warnings.warn(f"the records of {record.pathspec} stay unpacked: {err}", stacklevel=3)

    def drop_heartbeat(self, flow: str, run_id: str) -> None:
        self.store.delete(f"{run_dir(flow, run_id)}/heartbeat.json")

    def heartbeat(self, flow: str, run_id: str, host: str, pid: int) -> None:
        beat = {"time": time.time(), "host": host, "pid": pid}
        self.store.put(f"{run_dir(flow, run_id)}/heartbeat.json", json.dumps(beat).encode())

    def read_heartbeat(self, flow: str, run_id: str) -> dict[str, Any] | None:
        path = f"{run_dir(flow, run_id)}/heartbeat.json"
        data = self.store.get(path)
        if data is None:
            return None
        try:
            beat = json.loads(data)
            if isinstance(beat, dict):
                float(beat.get("time", 0.0))
                int(beat.get("pid") or 0)
                return beat
            why = f"expected a JSON object, found {type(beat).__name__}"
        except _DECODE_ERRORS as err:
            why = f"{type(err).__name__}: {str(err)[:120]}"
        _damaged(self._where(path), why if data.strip() else "the file is empty")
        return None

    def run_ids(self, flow: str) -> list[str]:
        paths = self.store.list(f"runs/{flow}")
        return sorted({p.split("/")[2] for p in paths if p.endswith("/run.json")})

    def flows(self) -> list[str]:
        return sorted({p.split("/")[1] for p in self.store.list("runs") if p.endswith("/run.json")})

    # tasks
    def write_task(self, record: TaskRecord) -> None:
        path = f"{task_dir(record.flow, record.run_id, record.step, record.index)}/task.json"
        self.store.put(path, to_json(record))

    def read_task(self, flow: str, run_id: str, step: str, index: int) -> TaskRecord | None:
        found = self._read(TaskRecord, f"{task_dir(flow, run_id, step, index)}/task.json")
        return found if found is not None else self._packed(flow, run_id).tasks.get((step, index))

    def tasks(self, flow: str, run_id: str, step: str | None = None) -> list[TaskRecord]:
        loose = self._loose(TaskRecord, flow, run_id, step, "task")
        merged = self._pack_of(flow, run_id).tasks | {(t.step, t.index): t for t in loose}
        found = [t for t in merged.values() if step is None or t.step == step]
        return sorted(found, key=lambda t: (t.step, t.index))

    # attempts
    def write_attempt(self, record: AttemptRecord) -> None:
        base = task_dir(record.flow, record.run_id, record.step, record.index)
        self.store.put(f"{base}/attempt-{record.attempt}.json", to_json(record))

    def read_attempt(
        self, flow: str, run_id: str, step: str, index: int, attempt: int
    ) -> AttemptRecord | None:
        path = f"{task_dir(flow, run_id, step, index)}/attempt-{attempt}.json"
        found = self._read(AttemptRecord, path)
        key = (step, index, attempt)
        return found if found is not None else self._packed(flow, run_id).attempts.get(key)

    def attempts(self, flow: str, run_id: str, step: str | None = None) -> list[AttemptRecord]:
        loose = self._loose(AttemptRecord, flow, run_id, step, "attempt")
        merged = self._pack_of(flow, run_id).attempts | {
            (a.step, a.index, a.attempt): a for a in loose
        }
        found = [a for a in merged.values() if step is None or a.step == step]
        return sorted(found, key=lambda a: (a.step, a.index, a.attempt))

    # packed records of ended runs (packs.py)
    def _loose(self, cls: type[T], flow: str, run_id: str, step: str | None, kind: str) -> list[T]:
        from .packs import record_kind

        prefix = run_dir(flow, run_id) + (f"/{step}" if step else "")
        paths = [p for p in self.store.list(prefix) if record_kind(p) == kind]
        return [r for r in (self._read(cls, p) for p in paths) if r is not None]

    def _packed(self, flow: str, run_id: str) -> Pack:
        """The run's pack, cached: a pack is written once, when the run ends. Read only
        after the loose file was missing, which is what keeps a concurrent packing safe."""
        pack = self._packs.get((flow, run_id))
        return pack if pack is not None else self._pack_of(flow, run_id)

    def _pack_of(self, flow: str, run_id: str) -> Pack:
        from .packs import Pack, decode, pack_path

        path = pack_path(flow, run_id)
        data = self.store.get(path)
        if data is None:
            return Pack()
        pack = decode(data)
        if pack.damaged:
            _damaged(self._where(path), "; ".join(pack.damaged[:3]))
        if len(self._packs) >= 8:
            self._packs.pop(next(iter(self._packs)))
        self._packs[(flow, run_id)] = pack
        return pack

    def pack_run(self, flow: str, run_id: str) -> int:
        """Move an ended run's loose task and attempt records into its pack; the number of
        files removed. Nothing is lost if this stops half-way: see ``packs.py``. One listing
        and one read per file: it runs as the driver ends, on every run's critical path, so
        a record's JSON goes into the pack as it was written (checked, not rebuilt)."""
        from .packs import pack_line, pack_path, record_kind

        paths = [p for p in self.store.list(run_dir(flow, run_id)) if record_kind(p)]
        if not paths:
            return 0
        lines = []
        for path in paths:
            data = self.store.get(path)
            line = pack_line(record_kind(path), data) if data is not None else None
            if line is not None:
                lines.append(line)
            elif data is not None:
                kind = TaskRecord if record_kind(path) == "task" else AttemptRecord
                decode(kind, self._where(path), data)  # warns, naming the file
        # Later lines win on reading: the loose records overlay an earlier pack, as before.
        earlier = self.store.get(pack_path(flow, run_id)) or b""
        if earlier and not earlier.endswith(b"\n"):
            earlier += b"\n"
        self.store.put(pack_path(flow, run_id), earlier + b"".join(lines))
        self._packs.pop((flow, run_id), None)
        self.store.delete_many(paths)
        return len(paths)

    def read_log(
        self, flow: str, run_id: str, step: str, index: int, attempt: int, stream: str
    ) -> str:
        data = self.store.get(log_path(flow, run_id, step, index, attempt, stream))
        return data.decode(errors="replace") if data else ""
