"""Room on the local blob cache's disk for a download, taken before the first byte."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import StoreFull
from .durable import FULL

MB = 1 << 20


def reserve_room(fd: int, folder: Path, size: int) -> None:
    """Give the empty download file ``fd`` its ``size`` bytes of disk before any is written.

    Reserved up front (``posix_fallocate``), a download cannot run out of room halfway
    because another writer filled the disk: writing through the memory map past the free
    space would kill the process with SIGBUS, without a word, and a spliced write would
    fail with a bare ENOSPC. A disk without room refuses here, in words."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    if free < size:
        raise cache_full(folder, size, free)
    try:
        if size:
            os.posix_fallocate(fd, 0, size)
    except OSError as err:
        if err.errno in FULL:  # taken by another writer since the check
            raise cache_full(folder, size, free) from None
        if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
        os.ftruncate(fd, size)  # no preallocation here (some network filesystems)


def cache_full(folder: Path, size: int, free: int | None = None) -> StoreFull:
    """The error for a blob of ``size`` bytes that the cache in ``folder`` cannot hold."""
    if free is None:
        st = os.statvfs(folder)
        free = st.f_bavail * st.f_frsize
    return StoreFull(
        f"the local blob cache at {folder.parent} is full: a blob of "
        f"{-(-size // MB)} MB does not fit in the {free // MB} MB free",
        hint="free space there, or set JUPYTER_FLOW_BLOB_CACHE to a folder on a larger "
        "disk, then resume the run",
    )
