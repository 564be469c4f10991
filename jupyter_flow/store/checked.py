"""Blob files checked against their key once per file version, for every store's reads.

Hashing a blob on every read would read all of it each time; a file's (inode, size, mtime)
changes whenever it is rewritten, so a check is remembered for that stamp and a file that
changes is checked again. Local blobs and the S3 download cache both read through here.
"""

from __future__ import annotations

import mmap
import os
import threading
from typing import Any

from .hashing import matches

Stamp = tuple[int, int, int]  # (inode, size, mtime_ns)


def map_file(fd: int, size: int) -> Any:
    """A copy-on-write map of a whole file (b"" when empty: an empty file cannot be mapped)."""
    return mmap.mmap(fd, 0, access=mmap.ACCESS_COPY) if size else b""


def stamp_of(fd: int) -> Stamp:
    st = os.fstat(fd)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class CheckedFiles:
    """Which file versions were found to hold their blob, by an id of the caller's choosing
    (the key, or the cache path)."""

    def __init__(self) -> None:
        self._seen: dict[str, Stamp] = {}
        self._lock = threading.Lock()

    def open(self, ident: str, key: str, fd: int) -> Any:
        """A copy-on-write map of ``fd`` if its bytes are the blob ``key`` (hashed unless
        this very version was checked before), else None."""
        stamp = stamp_of(fd)
        buffer = map_file(fd, stamp[1])
        with self._lock:
            known = self._seen.get(ident) == stamp
        if known or matches(key, buffer):
            self.remember(ident, stamp)
            return buffer
        self.forget(ident)
        if isinstance(buffer, mmap.mmap):
            buffer.close()
        return None

    def remember(self, ident: str, stamp: Stamp) -> None:
        with self._lock:
            self._seen[ident] = stamp

    def forget(self, ident: str) -> None:
        with self._lock:
            self._seen.pop(ident, None)
