"""The local scheduler inside the Jupyter server: while it is up, local schedules fire
without ``jupyter flow scheduler`` (as jupyter-scheduler does).

One daemon thread steps a :class:`~jupyter_flow.schedule.daemon.Scheduler` per store this
server serves: the store its root folder's settings name, every store a schedules request
resolves (a notebook in a sub-folder has its own), and the stores under its root that a
server fired before (:class:`KnownStores`, so a restart does not wait for someone to open
the panel). A store is only taken up once it has a local schedule; of all the schedulers
of a store (this one, a daemon, another server) only the lease holder fires, the others
stand by. Work is SQLite and process starts, so it runs in a thread, never on the event
loop. Runs are started detached: they outlive the server, and it has no child to reap.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from jupyter_flow.schedule.daemon import DaemonOptions, Scheduler
from jupyter_flow.schedule.store import ScheduleStore

SCHEDULER_KEY = "jupyter_flow_scheduler"
RECHECK = 30.0  # seconds: an idle store's schedules are read again at least this often


def has_local_schedules(store: ScheduleStore) -> bool:
    """Without creating the database where there is none."""
    return store.path.is_file() and bool(store.all("local"))


def _version(store: ScheduleStore) -> tuple[int, int]:
    """Changes whenever the database does (WAL mode: the -wal file first)."""
    stamps = []
    for path in (store.path, store.path.with_name(store.path.name + "-wal")):
        try:
            stamps.append(path.stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return stamps[0], stamps[1]


class KnownStores:
    """The stores with local schedules that this user's Jupyter servers have fired: a JSON
    list (``<jupyter data dir>/jupyter_flow/local-schedule-stores.json``), pruned of stores
    that are gone."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[str]:
        try:
            roots = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        if not isinstance(roots, list):
            return []
        return [r for r in roots if isinstance(r, str) and ScheduleStore(r).path.is_file()]

    def add(self, root: str) -> None:
        with self._locked():
            roots = self.load()
            if root in roots:
                return
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps([*roots, root], indent=1))
            tmp.replace(self.path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def stores_under(known: KnownStores, root_dir: Path) -> list[str]:
    """The known stores that are folders inside ``root_dir`` (what this server serves)."""
    top = root_dir.resolve()
    inside = []
    for root in known.load():
        if "://" in root and not root.startswith("file://"):
            continue
        folder = Path(root.removeprefix("file://")).resolve()
        if folder == top or top in folder.parents:
            inside.append(root)
    return inside


class ServerScheduler:
    def __init__(
        self,
        options: DaemonOptions,
        log: Callable[[str], None],
        known: KnownStores | None = None,
    ) -> None:
        self.options = options
        self.log = log
        self.known = known
        self._remembered: set[Path] = set()
        self._seen: dict[Path, tuple[tuple[int, int], float, bool]] = {}  # has schedules?
        self._errors: dict[Path, str] = {}  # the last error said per store (said once)
        self._schedulers: dict[Path, Scheduler] = {}
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def watch(self, root: str) -> None:
        """Fire the local schedules of ``root`` too (idempotent, any thread)."""
        store = ScheduleStore(root)
        key = store.dir.resolve()
        with self._guard:
            if key not in self._schedulers:
                self._schedulers[key] = Scheduler(
                    store, self.options, kind="jupyter-server", log=self.log, detach=True
                )

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._loop, name="jupyter_flow-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop ticking and let go of every lease (blocking: call it off the event loop)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                for key, scheduler in self._current():
                    if self._stopping.is_set():
                        break
                    self._step(key, scheduler)
                self._stopping.wait(self.options.tick)
        finally:
            for _key, scheduler in self._current():
                scheduler.close()

    def _current(self) -> list[tuple[Path, Scheduler]]:
        with self._guard:
            return list(self._schedulers.items())

    def _step(self, key: Path, scheduler: Scheduler) -> None:
        try:
            if not key.is_dir():  # the store was removed: forget it
                scheduler.close()
                with self._guard:
                    self._schedulers.pop(key, None)
            elif scheduler.lease.held or self._has_schedules(key, scheduler.store):
                fired = scheduler.step()
                if fired and self.known is not None and key not in self._remembered:
                    self.known.add(scheduler.store.root)
                    self._remembered.add(key)
            self._errors.pop(key, None)
        except Exception as err:  # one broken store must not stop the others
            said = f"{scheduler.store.root}: scheduler error: {type(err).__name__}: {err}"
            if self._errors.get(key) != said:
                self.log(said)
                self._errors[key] = said

    def _has_schedules(self, key: Path, store: ScheduleStore) -> bool:
        """``has_local_schedules``, read again when the database changed (and every
        RECHECK seconds, for file systems with coarse times): an idle store costs a stat
        per tick, not a SQLite connection."""
        version, now = _version(store), time.monotonic()
        seen = self._seen.get(key)
        if seen is None or seen[0] != version or now - seen[1] > RECHECK:
            seen = (version, now, has_local_schedules(store))
            self._seen[key] = seen
        return seen[2]
