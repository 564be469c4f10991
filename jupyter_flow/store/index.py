"""An embedded SQLite index of run records, for fast listing and querying.

It is a cache: the run records in the store are the truth. ``sync`` recreates the index from
them when it is missing, of another schema version, or corrupt (moved aside first), and for a
local root catches up on runs written behind its back: a new run directory changes its flow
directory's mtime, so one ``stat`` per flow tells whether anything is new. For a local root
the index sits in the root; for a remote root in the user's cache directory, keyed by the URL.
A store whose index cannot be written (read-only) gets a private in-memory index instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import StoreFull
from .records import Records, RunRecord, RunStatus, decode, from_json, run_dir, to_json

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    flow TEXT NOT NULL,
    run_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    record TEXT NOT NULL,
    PRIMARY KEY (flow, run_id)
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (flow, created);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, created);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created);
CREATE TABLE IF NOT EXISTS flows (flow TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL);
"""
_ROW = "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)"


def index_path(store_url: str, local_root: Path | None) -> Path:
    if local_root is not None:
        return local_root / "index.sqlite"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    import hashlib

    digest = hashlib.sha256(store_url.encode()).hexdigest()[:16]
    return cache / "jupyter_flow" / digest / "index.sqlite"


def _row(record: RunRecord) -> tuple[object, ...]:
    return (
        record.flow,
        record.run_id,
        record.status,
        record.created,
        record.finished,
        to_json(record).decode(),
    )


class RunIndex:
    """``runs_dir`` is the store's ``runs`` directory when it is local (enables the cheap
    staleness test); ``store`` names the store in errors."""

    def __init__(self, path: Path, *, runs_dir: Path | None = None, store: str = "") -> None:
        self.path = path
        self.runs_dir = runs_dir
        self.store = store or str(path.parent)
        self._lock = threading.Lock()
        self._memory: sqlite3.Connection | None = None
        self._fresh = False  # the tables are new: everything must be read from the records
        self._open()

    # -- connections ----------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self._check_file()
        except sqlite3.DatabaseError as err:
            if _read_only(err):
                self._use_memory()
                return
            self._set_aside()
            try:
                self._check_file()
            except sqlite3.DatabaseError:
                self._use_memory()
        except OSError:  # the directory cannot be created: a read-only store
            self._use_memory()

    def _check_file(self) -> None:
        existed = self.path.exists() and self.path.stat().st_size > 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            con.execute("PRAGMA journal_mode=WAL")
            if version != SCHEMA_VERSION:
                con.executescript("DROP TABLE IF EXISTS runs; DROP TABLE IF EXISTS flows;")
                existed = False
            con.executescript(_SCHEMA)
            if version != SCHEMA_VERSION:
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("SELECT count(*) FROM runs").fetchone()
            con.commit()
        finally:
            con.close()
        self._fresh = self._fresh or not existed

    def _set_aside(self) -> None:
        """Move a corrupt index (and its WAL files) aside, so the next open starts afresh."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            with contextlib.suppress(OSError):
                part.replace(f"{part}.corrupt-{stamp}")
        self._fresh = True

    def _use_memory(self) -> None:
        con = sqlite3.connect(":memory:", check_same_thread=False)
        con.executescript(_SCHEMA)
        self._memory = con
        self._fresh = True

    @property
    def read_only(self) -> bool:
        return self._memory is not None

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if self._memory is not None:
            with self._lock, self._memory:
                yield self._memory
            return
        con = sqlite3.connect(self.path, timeout=30)
        # A cache rebuilt from the records when damaged: no fsync per commit (~5 ms each)
        con.execute("PRAGMA synchronous=OFF")
        try:
            with con:
                yield con
        finally:
            con.close()

    # -- writes ---------------------------------------------------------------------------
    def upsert(self, record: RunRecord) -> None:
        """Record ``record``. A failed write (a full disk) drops the index file: it is a
        cache, and the next open rebuilds it from the records rather than serve a stale row."""
        try:
            with self._db() as con:
                con.execute(_ROW, _row(record))
        except sqlite3.DatabaseError as err:
            if _read_only(err):
                raise StoreFull(
                    f"the store at {self.store} is read-only (run {record.pathspec})",
                    hint="remount it writable or point JUPYTER_FLOW_ROOT elsewhere",
                ) from None
            self._drop()

    def _drop(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{self.path}{suffix}").unlink()

    # -- reads ----------------------------------------------------------------------------
    def query(
        self,
        flow: str | None = None,
        status: RunStatus | Sequence[RunStatus] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RunRecord]:
        """Run records as last indexed, newest first; only ``limit`` rows are decoded."""
        sql = "SELECT record FROM runs WHERE 1=1"
        args: list[object] = []
        if flow:
            sql += " AND flow = ?"
            args.append(flow)
        if status:
            wanted = [status] if isinstance(status, str) else list(status)
            sql += f" AND status IN ({', '.join('?' for _ in wanted)})"
            args.extend(wanted)
        sql += " ORDER BY created DESC, run_id DESC"
        if limit or offset:
            sql += " LIMIT ? OFFSET ?"
            args.extend([limit or -1, offset])
        with self._db() as con:
            rows = con.execute(sql, args).fetchall()
        found = []
        for (text,) in rows:
            try:
                found.append(from_json(RunRecord, json.loads(text)))
            except (ValueError, TypeError, AttributeError):
                continue  # written by a broken version: the record on disk is the truth
        return found

    def count(self) -> int:
        with self._db() as con:
            return int(con.execute("SELECT count(*) FROM runs").fetchone()[0])

    # -- keeping up with the records -------------------------------------------------------
    @property
    def needs_rebuild(self) -> bool:
        return self._fresh

    def rebuild(self, records: Records) -> int:
        """Re-read every run record from the store; returns how many were indexed."""
        with self._db() as con:
            con.execute("DELETE FROM runs")
            con.execute("DELETE FROM flows")
        self._fresh = True
        self.sync(records)
        return self.count()

    def sync(self, records: Records) -> None:
        """Bring the index up to date: all of it when fresh, else (local roots) the flows
        whose directory changed since the last sync."""
        try:
            if self.runs_dir is not None:
                self._sync_local(records, self.runs_dir)
            elif self._fresh:
                found = [
                    r
                    for flow in records.flows()
                    for run_id in records.run_ids(flow)
                    if (r := records.read_run(flow, run_id)) is not None
                ]
                self._write(found, [], {})
        except sqlite3.DatabaseError as err:
            if _read_only(err) or self._memory is not None:
                raise
            self._drop()  # a full disk mid-sync: leave nothing half-indexed behind
            self._use_memory()
            self.sync(records)
            return
        self._fresh = False

    def _sync_local(self, records: Records, runs_dir: Path) -> None:
        try:
            on_disk = {e.name: e.stat().st_mtime_ns for e in os.scandir(runs_dir) if e.is_dir()}
        except OSError:
            on_disk = {}
        with self._db() as con:
            seen = dict(con.execute("SELECT flow, mtime_ns FROM flows").fetchall())
            if self._fresh:
                seen = {}
            changed = [f for f, mtime in on_disk.items() if seen.get(f) != mtime]
            gone = [f for f in seen if f not in on_disk]
            known: dict[str, set[str]] = {f: set() for f in changed}
            for flow in changed:
                rows = con.execute("SELECT run_id FROM runs WHERE flow = ?", (flow,))
                known[flow] = {r[0] for r in rows}
            running = con.execute(
                "SELECT flow, run_id, record FROM runs WHERE status = ?", ("running",)
            )
            last_seen = {(f, r): text for f, r, text in running.fetchall() if f not in gone}
        # A local run does not write the index (its driver skips SQLite): a run seen
        # running is re-read, so its end shows up without its flow directory changing.
        found = self._ended(records, runs_dir, last_seen)
        if not changed and not gone and not found:
            return
        removed: list[tuple[str, str]] = [(f, "*") for f in gone]
        for flow in changed:
            try:
                names = {e.name for e in os.scandir(runs_dir / flow) if e.is_dir()}
            except OSError:
                names = set()
            for run_id in sorted(names - known[flow]):
                path = f"{run_dir(flow, run_id)}/run.json"
                record = decode(RunRecord, str(runs_dir.parent / path), records.store.get(path))
                if record is not None:
                    found.append(record)
            removed.extend((flow, r) for r in known[flow] - names)
        self._write(found, removed, {f: on_disk[f] for f in changed})

    @staticmethod
    def _ended(
        records: Records, runs_dir: Path, last_seen: dict[tuple[str, str], str]
    ) -> list[RunRecord]:
        """The records of runs indexed as running whose run.json has changed since."""
        found = []
        for (flow, run_id), text in last_seen.items():
            path = f"{run_dir(flow, run_id)}/run.json"
            data = records.store.get(path)
            if data is None or data.decode(errors="replace") == text:
                continue
            record = decode(RunRecord, str(runs_dir.parent / path), data)
            if record is not None:
                found.append(record)
        return found

    def _write(
        self,
        found: list[RunRecord],
        removed: list[tuple[str, str]],
        mtimes: dict[str, int],
    ) -> None:
        with self._db() as con:
            con.executemany(_ROW, [_row(r) for r in found])
            for flow, run_id in removed:
                if run_id == "*":
                    con.execute("DELETE FROM runs WHERE flow = ?", (flow,))
                    con.execute("DELETE FROM flows WHERE flow = ?", (flow,))
                else:
                    con.execute("DELETE FROM runs WHERE flow = ? AND run_id = ?", (flow, run_id))
            con.executemany("INSERT OR REPLACE INTO flows VALUES (?, ?)", list(mtimes.items()))


def _read_only(err: sqlite3.DatabaseError) -> bool:
    text = str(err).lower()
    return "readonly" in text or "read-only" in text or "unable to open" in text
