"""Durable local writes: every byte written (short writes looped), fsync'd, then checked.

A blob is named by its hash, so a torn or short file under that name would be served as the
value forever. Writes here either finish whole or leave nothing, and a disk-full / read-only
failure becomes a ``StoreFull`` that names the store and the space needed.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import StoreFull

FULL = frozenset({errno.ENOSPC, errno.EDQUOT})  # a disk (or quota) with no room
_READONLY = {errno.EROFS}
_DENIED = {errno.EACCES, errno.EPERM}
STALE_TMP_SECONDS = 3600


def store_write_error(err: OSError, root: Path, needed: int) -> StoreFull | None:
    """The user-facing error for an OSError from a store write, or None if it is not one
    of the store-is-unusable cases (then the caller re-raises the original)."""
    mb = max(1, -(-needed // (1 << 20)))
    if err.errno in FULL:
        return StoreFull(
            f"the store at {root} is full (needed {mb} MB)",
            hint="free space (or raise the quota) and resume the run",
        )
    if err.errno in _READONLY:
        return StoreFull(
            f"the store at {root} is read-only (needed {mb} MB)",
            hint="remount it writable or point JUPYTER_FLOW_ROOT elsewhere, then resume",
        )
    if err.errno in _DENIED:
        return StoreFull(
            f"the store at {root} is not writable (needed {mb} MB)",
            hint="fix the directory's permissions, then resume the run",
        )
    return None


def write_all(fd: int, chunks: Sequence[memoryview | bytes]) -> int:
    """Write every byte of ``chunks`` to ``fd``, looping on short writes; return the count."""
    written = 0
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        while view.nbytes:
            n = os.write(fd, view[: 1 << 30])
            if n <= 0:  # a zero-byte write would loop forever
                raise OSError(errno.EIO, "write returned 0")
            written += n
            view = view[n:]
    return written


def write_file(
    path: Path, chunks: Sequence[memoryview | bytes], expected: int, *, sync: bool = True
) -> None:
    """Create ``path`` with ``chunks``, fsync it (unless ``sync`` is False), and check its
    on-disk size is ``expected``. On any failure the file is removed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            write_all(fd, chunks)
            if sync:
                os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size != expected:
            raise OSError(errno.EIO, f"wrote {size} bytes, expected {expected}")
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def fsync_dir(path: Path) -> None:
    """Persist a rename in ``path`` (best effort: some filesystems refuse directory fsync)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def clean_stale_tmp(tmp_dir: Path, now: float | None = None) -> int:
    """Remove temp files older than an hour (a crashed writer's leftovers); return how many.
    One directory listing, so opening a store stays cheap."""
    cutoff = (time.time() if now is None else now) - STALE_TMP_SECONDS
    removed = 0
    try:
        entries = list(os.scandir(tmp_dir))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                Path(entry.path).unlink()
                removed += 1
        except OSError:
            continue
    return removed
