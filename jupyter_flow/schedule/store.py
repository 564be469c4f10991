"""Schedules, their fire state and their history, persisted in SQLite beside the store.

For a local root the database is ``<root>/schedules.sqlite``; for a remote root (s3://) it
lives in the user's cache directory keyed by the root URL, like the run index. Every write
is one transaction, so a scheduler killed at any instant leaves whole rows; the daemon holds
nothing in memory that is not also here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError
from .model import HistoryEntry, Schedule

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    name TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    record TEXT NOT NULL,
    last_fire REAL,
    last_trigger TEXT
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule TEXT NOT NULL,
    fire_time REAL NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT,
    reason TEXT NOT NULL DEFAULT '',
    started REAL,
    finished REAL,
    pid INTEGER,
    trigger TEXT NOT NULL DEFAULT 'cron'
);
CREATE INDEX IF NOT EXISTS history_by_schedule ON history (schedule, id);
"""
ACTIVE = ("starting", "running")


def state_dir(root: str) -> Path:
    """Where the schedule database, pinned local code, logs and the PID file live."""
    if "://" not in root or root.startswith("file://"):
        return Path(root.removeprefix("file://"))
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "jupyter_flow" / hashlib.sha256(root.encode()).hexdigest()[:16]


class ScheduleStore:
    def __init__(self, root: str) -> None:
        self.root = root
        self.dir = state_dir(root)
        self.path = self.dir / "schedules.sqlite"

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.dir.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            with con:
                yield con
        finally:
            con.close()

    # -- schedules ---------------------------------------------------------------------
    def get(self, name: str) -> Schedule | None:
        with self._db() as con:
            row = con.execute("SELECT record FROM schedules WHERE name = ?", (name,)).fetchone()
        return Schedule.from_json(json.loads(row[0])) if row else None

    def require(self, name: str) -> Schedule:
        schedule = self.get(name)
        if schedule is None:
            known = ", ".join(s.name for s in self.all()) or "none"
            raise ConfigError(
                f"no schedule named {name!r} in {self.root}",
                hint=f"existing schedules: {known} (see `jupyter flow schedule list`)",
            )
        return schedule

    def all(self, target: str | None = None) -> list[Schedule]:
        sql, args = "SELECT record FROM schedules", tuple[str, ...]()
        if target:
            sql, args = sql + " WHERE target = ?", (target,)
        with self._db() as con:
            rows = con.execute(sql + " ORDER BY name", args).fetchall()
        return [Schedule.from_json(json.loads(r[0])) for r in rows]

    def put(self, schedule: Schedule, *, reset_state: bool = False) -> None:
        """Insert or update; ``reset_state`` restarts the fire clock (a re-created schedule
        fires from now on, not for what it would have fired before)."""
        record = json.dumps(schedule.to_json(), sort_keys=True)
        with self._db() as con:
            con.execute(
                "INSERT INTO schedules (name, target, record, last_fire) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET "
                "target = excluded.target, record = excluded.record",
                (schedule.name, schedule.target, record, time.time()),
            )
            if reset_state:
                con.execute(
                    "UPDATE schedules SET last_fire = ?, last_trigger = NULL WHERE name = ?",
                    (time.time(), schedule.name),
                )

    def delete(self, name: str) -> None:
        with self._db() as con:
            con.execute("DELETE FROM schedules WHERE name = ?", (name,))

    def last_fire(self, name: str) -> float:
        with self._db() as con:
            row = con.execute("SELECT last_fire FROM schedules WHERE name = ?", (name,)).fetchone()
        return float(row[0]) if row and row[0] is not None else time.time()

    def last_trigger(self, name: str) -> str | None:
        with self._db() as con:
            row = con.execute(
                "SELECT last_trigger FROM schedules WHERE name = ?", (name,)
            ).fetchone()
        return str(row[0]) if row and row[0] else None

    # -- history -----------------------------------------------------------------------
    def record_fire(
        self,
        name: str,
        fire_time: float,
        status: str,
        *,
        run_id: str | None = None,
        reason: str = "",
        trigger: str = "cron",
        advance_to: float | None = None,
        seen_trigger: str | None = None,
    ) -> int | None:
        """Append a history row and (same transaction) move the schedule's fire clock, so a
        fire is either recorded and consumed, or neither. A fire at or before the clock was
        consumed already (by another scheduler of this store): nothing is written, None."""
        with self._db() as con:
            con.execute("BEGIN IMMEDIATE")  # the check and the write as one transaction
            if advance_to is not None:
                row = con.execute(
                    "SELECT last_fire FROM schedules WHERE name = ?", (name,)
                ).fetchone()
                if row and row[0] is not None and float(row[0]) >= advance_to:
                    return None
            cur = con.execute(
                "INSERT INTO history (schedule, fire_time, status, run_id, reason, started, "
                "trigger) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, fire_time, status, run_id, reason, time.time(), trigger),
            )
            if advance_to is not None:
                con.execute(
                    "UPDATE schedules SET last_fire = MAX(COALESCE(last_fire, 0), ?) "
                    "WHERE name = ?",
                    (advance_to, name),
                )
            if seen_trigger is not None:
                con.execute(
                    "UPDATE schedules SET last_trigger = ? WHERE name = ?", (seen_trigger, name)
                )
            return int(cur.lastrowid or 0)

    def sync_run(
        self,
        name: str,
        run_id: str,
        *,
        fire_time: float,
        status: str,
        finished: float | None = None,
        reason: str = "",
    ) -> None:
        """Insert the history row of a run a remote engine started, or update its outcome
        (keyed by run id, so refreshing again never duplicates a row)."""
        with self._db() as con:
            con.execute("BEGIN IMMEDIATE")  # the lookup and the write as one transaction
            row = con.execute(
                "SELECT id FROM history WHERE schedule = ? AND run_id = ?", (name, run_id)
            ).fetchone()
            if row:
                con.execute(
                    "UPDATE history SET status = ?, finished = ?, reason = ? WHERE id = ?",
                    (status, finished, reason, row[0]),
                )
            else:
                con.execute(
                    "INSERT INTO history (schedule, fire_time, status, run_id, reason, started, "
                    "finished, trigger) VALUES (?, ?, ?, ?, ?, ?, ?, 'cron')",
                    (name, fire_time, status, run_id, reason, fire_time, finished),
                )

    def update_entry(self, entry_id: int, **values: object) -> None:
        allowed = {"status", "reason", "finished", "pid", "run_id"}
        if not values or set(values) - allowed:
            raise ValueError(f"cannot update {sorted(values)}")
        cols = ", ".join(f"{k} = ?" for k in values)
        with self._db() as con:
            con.execute(f"UPDATE history SET {cols} WHERE id = ?", (*values.values(), entry_id))

    def entry(self, entry_id: int) -> HistoryEntry:
        with self._db() as con:
            con.row_factory = sqlite3.Row
            row = con.execute("SELECT * FROM history WHERE id = ?", (entry_id,)).fetchone()
        return HistoryEntry(**dict(row))

    def history(self, name: str | None = None, *, active_only: bool = False) -> list[HistoryEntry]:
        sql, args = "SELECT * FROM history WHERE 1=1", []
        if name:
            sql += " AND schedule = ?"
            args.append(name)
        if active_only:
            sql += f" AND status IN ({', '.join('?' * len(ACTIVE))})"
            args.extend(ACTIVE)
        with self._db() as con:
            con.row_factory = sqlite3.Row
            rows = con.execute(sql + " ORDER BY id", args).fetchall()
        return [HistoryEntry(**dict(row)) for row in rows]
