"""An embedded SQLite index of run records, for fast listing and querying.

It is a cache: the run records in the store are the truth, and ``rebuild`` recreates the
index from them. For a local root the index sits in the root; for a remote root it sits in
the user's cache directory, keyed by the root URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from .records import Records, RunRecord, from_json, to_json

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
"""


def index_path(store_url: str, local_root: Path | None) -> Path:
    if local_root is not None:
        return local_root / "index.sqlite"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    digest = hashlib.sha256(store_url.encode()).hexdigest()[:16]
    return cache / "jupyter_flow" / digest / "index.sqlite"


class RunIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fresh = not path.exists()

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            with con:
                yield con
        finally:
            con.close()

    def upsert(self, record: RunRecord) -> None:
        with self._db() as con:
            con.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.flow,
                    record.run_id,
                    record.status,
                    record.created,
                    record.finished,
                    to_json(record).decode(),
                ),
            )

    def query(
        self, flow: str | None = None, status: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        sql = "SELECT record FROM runs WHERE 1=1"
        args: list[object] = []
        if flow:
            sql += " AND flow = ?"
            args.append(flow)
        if status:
            sql += " AND status = ?"
            args.append(status)
        sql += " ORDER BY created DESC, run_id DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        with self._db() as con:
            rows = con.execute(sql, args).fetchall()
        return [from_json(RunRecord, json.loads(row[0])) for row in rows]

    def rebuild(self, records: Records) -> int:
        """Re-read every run record from the store; returns how many were indexed."""
        found = []
        for flow in records.flows():
            for run_id in records.run_ids(flow):
                record = records.read_run(flow, run_id)
                if record:
                    found.append(record)
        with self._db() as con:
            con.execute("DELETE FROM runs")
        for record in found:
            self.upsert(record)
        self._fresh = False
        return len(found)

    @property
    def needs_rebuild(self) -> bool:
        return self._fresh
