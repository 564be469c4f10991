"""One live scheduler per schedule store: an flock'd lock file plus a heartbeat.

Local schedules can be fired by ``jupyter flow scheduler`` and by every Jupyter server that
serves the store; exactly one of them may fire at a time, or a fire would start two runs.
The holder keeps ``scheduler.lock`` locked (``flock``: the kernel lets go when the process
dies, even of SIGKILL, so a dead holder's lease is free at once on the same machine) and
rewrites ``scheduler.pid`` every tick with who it is (pid, host, since, last beat). The
others stand by and try again every tick.

For a store shared between machines (a network folder) the heartbeat is the fallback where
locks do not cross machines: a lease whose holder on another host has not beaten for a
while (``stale_after``) is taken over. ``scheduler.pid`` of an older daemon (a bare pid)
is read as a holder on this host.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

HolderKind = Literal["daemon", "jupyter-server"]
LOCK_NAME = "scheduler.lock"
HEARTBEAT_NAME = "scheduler.pid"
STALE_AFTER = 30.0  # seconds without a beat before another host's holder counts as dead
BEAT_EVERY = 5.0  # seconds between heartbeat writes (who holds it is checked every tick)


def this_host() -> str:
    return socket.gethostname()


@dataclass(frozen=True)
class Holder:
    """Who holds a store's lease, as its heartbeat file says."""

    pid: int
    host: str
    since: float  # when it took the lease
    beat: float  # its latest heartbeat
    kind: HolderKind = "daemon"
    tick: float = 1.0
    locking: bool = True  # False: an older daemon's bare pid file (it never locked)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        what = "a Jupyter server" if self.kind == "jupyter-server" else "jupyter flow scheduler"
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"{what} (pid {self.pid} on {self.host}, since {started})"


def read_holder(store_dir: Path) -> Holder | None:
    path = store_dir / HEARTBEAT_NAME
    try:
        text = path.read_text().strip()
        mtime = path.stat().st_mtime
    except OSError:
        return None
    if text.isdigit():  # an older daemon's bare pid file
        return Holder(int(text), this_host(), mtime, mtime, locking=False)
    try:
        data = json.loads(text)
        return Holder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            since=float(data["since"]),
            beat=float(data["beat"]),
            kind="jupyter-server" if data.get("kind") == "jupyter-server" else "daemon",
            tick=float(data.get("tick", 1.0)),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    from ..client import _alive as alive

    return bool(alive(pid))


def _lock_held(store_dir: Path) -> bool:
    """Whether some open file description holds the lock (probe: take it, let go)."""
    try:
        fd = os.open(store_dir / LOCK_NAME, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def is_live(holder: Holder, store_dir: Path, now: float | None = None) -> bool:
    """A holder on this host is live while its process is (and, if it locks, holds the
    lock); one on another host while it keeps beating."""
    if holder.host != this_host():
        stale = max(STALE_AFTER, 5 * holder.tick)
        return (now if now is not None else time.time()) - holder.beat < stale
    if not _alive(holder.pid):
        return False
    return holder.pid == os.getpid() or not holder.locking or _lock_held(store_dir)


def live_holder(store_dir: Path) -> Holder | None:
    """The scheduler that fires this store's local schedules now, or None."""
    holder = read_holder(store_dir)
    return holder if holder is not None and is_live(holder, store_dir) else None


class Lease:
    """This process's claim on one store. ``hold()`` every tick: takes the lease when it is
    free, renews it while held, and says False (and lets go) once someone else has it."""

    def __init__(
        self,
        store_dir: Path,
        kind: HolderKind,
        *,
        tick: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dir = store_dir
        self.kind = kind
        self.tick = tick
        self.clock = clock
        self._fd: int | None = None
        self.since = 0.0
        self._beaten = 0.0  # when the heartbeat was last written

    @property
    def held(self) -> bool:
        return self._fd is not None

    def hold(self) -> bool:
        if self._fd is not None:
            return self._renew()
        return self._acquire()

    def _acquire(self) -> bool:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        other = read_holder(self.dir)
        if other is not None and not self._mine(other) and self._blocks(other):
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            return False
        self._fd = fd
        self.since = self.clock()
        self._beat()
        return True

    def _blocks(self, other: Holder) -> bool:
        """A holder seen while we have the lock: another host's (locks may not cross
        machines) that still beats, or an older daemon on this host that never locked."""
        if other.host != this_host():
            return is_live(other, self.dir, self.clock())
        # a locking holder on this host has died (we have its lock): its pid may be reused
        return not other.locking and other.pid != os.getpid() and _alive(other.pid)

    def _mine(self, holder: Holder) -> bool:
        return holder.pid == os.getpid() and holder.host == this_host()

    def _renew(self) -> bool:
        holder = read_holder(self.dir)
        if holder is not None and not self._mine(holder):
            self.release(keep_heartbeat=True)  # someone else's beat: they hold it now
            return False
        if holder is None or self.clock() - self._beaten >= BEAT_EVERY:
            self._beat()
        return True

    def _beat(self) -> None:
        now = self.clock()
        holder = Holder(os.getpid(), this_host(), self.since, now, self.kind, self.tick)
        path = self.dir / HEARTBEAT_NAME
        tmp = path.with_name(f".{HEARTBEAT_NAME}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(holder.to_json()))
        tmp.replace(path)
        self._beaten = now

    def release(self, *, keep_heartbeat: bool = False) -> None:
        if self._fd is None:
            return
        if not keep_heartbeat:
            holder = read_holder(self.dir)
            if holder is not None and self._mine(holder):
                (self.dir / HEARTBEAT_NAME).unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


@dataclass(frozen=True)
class SchedulerStatus:
    """What ``schedule list`` and the Lab panel say about who fires a store's schedules."""

    alive: bool
    pid: int | None = None
    host: str | None = None
    since: float | None = None
    kind: HolderKind | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def scheduler_status(store_dir: Path) -> SchedulerStatus:
    holder = live_holder(store_dir)
    if holder is None:
        return SchedulerStatus(alive=False)
    return SchedulerStatus(True, holder.pid, holder.host, holder.since, holder.kind)
