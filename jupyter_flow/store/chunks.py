"""A seekable file over the encoder's buffers, so an upload never joins them into one.

S3 multipart uploads copy one part at a time out of it (``pread``): an upload holds at most
its in-flight parts in memory besides the value itself.
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Sequence
from typing import Any

from .hashing import KeyHasher

MB = 1 << 20


class ChunkReader(io.RawIOBase):
    """A seekable, read-only file over a sequence of buffers, without joining them.

    An upload copies one part at a time out of it (``pread``), so it holds at most its
    in-flight parts in memory besides the value itself.
    """

    def __init__(self, chunks: Sequence[memoryview | bytes]) -> None:
        super().__init__()
        self._views = [memoryview(c).cast("B") for c in chunks if memoryview(c).nbytes]
        self._starts: list[int] = []
        total = 0
        for view in self._views:
            self._starts.append(total)
            total += view.nbytes
        self.size = total
        self._pos = 0

    def key(self) -> str:
        """The blob's key, named by the default hash (BLAKE3: measured 1.9x boto3 on 512 MiB
        downloads here against 1.5x with SHA-256). Code packages keep SHA-256 keys for the
        stdlib-only bootstrap, but they are stored by ``runtime/package.py`` with ``put``."""
        hasher = KeyHasher(size_hint=self.size)
        for view in self._views:
            for start in range(0, view.nbytes, 64 * MB):  # big updates release the GIL
                hasher.update(view[start : start + 64 * MB])
        return hasher.key()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        data = self.pread(self._pos, end)
        self._pos = max(self._pos, end)
        return data

    def pread(self, pos: int, end: int) -> bytes:
        """Bytes ``pos:end`` as one copy; no shared position, so threads may call it."""
        pieces = []
        index = bisect.bisect_right(self._starts, pos) - 1
        while pos < end and index < len(self._views):
            view, start = self._views[index], self._starts[index]
            stop = min(end, start + view.nbytes)
            pieces.append(view[pos - start : stop - start])
            pos = stop
            index += 1
        if len(pieces) == 1:
            return bytes(pieces[0])
        return b"".join(pieces)

    def readinto(self, buffer: Any) -> int:
        data = self.read(memoryview(buffer).nbytes)
        memoryview(buffer)[: len(data)] = data
        return len(data)
