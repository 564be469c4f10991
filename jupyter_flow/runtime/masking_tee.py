"""A task's output once it has read a secret: masked before any byte is kept or shown.

The live views (the terminal, the kernel's widget) read a task's log file while it runs,
and a container's stdout is its ``kubectl logs``: masking the finished log was too late.
So fds 1 and 2 go through a pipe whose reader masks what it copies on. A value split
across two writes (``print(token[:5], end="", flush=True)``) is caught by holding back
the end of what was read while it could still be the start of a secret.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import termios
import threading
import time
from typing import BinaryIO

from ..flow.secret_params import mask


class StreamMasker:
    """Masks secret values in a byte stream read in arbitrary pieces (pure: no I/O)."""

    def __init__(self, values: tuple[bytes, ...]) -> None:
        self.values = values
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        """What can be passed on now, masked: all but a tail that may begin a secret."""
        data = self._held + data
        cut = self._safe_cut(data)
        self._held = data[cut:]
        return mask(data[:cut], self.values)

    def flush(self) -> bytes:
        """The held tail at the end of the stream, masked (it may hold a whole secret)."""
        rest, self._held = self._held, b""
        return mask(rest, self.values)

    def _safe_cut(self, data: bytes) -> int:
        """Where ``data`` can be cut so that no secret crosses the cut and nothing after it
        can still become one: the end, less the longest end that is a proper start of a
        secret, moved back to the start of any secret it would split."""
        cut = len(data)
        for value in self.values:
            for size in range(min(len(value) - 1, len(data)), len(data) - cut, -1):
                if data.endswith(value[:size]):
                    cut = len(data) - size
                    break
        moved = True
        while moved:
            moved = False
            for value in self.values:
                found = data.find(value, max(0, cut - len(value) + 1))
                if 0 <= found < cut < found + len(value):
                    cut, moved = found, True
        return cut


def _pending(fd: int) -> int:
    """Bytes waiting in the pipe ``fd`` reads (0 where the platform cannot tell)."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class MaskingTee:
    """Owns one redirected fd: the pipe it now points at, and the thread that copies the
    pipe, masked, to the log file (and to ``echo``, the fd's former target)."""

    def __init__(self, fd: int, log: BinaryIO, echo: int | None, values: tuple[bytes, ...]):
        self.masker = StreamMasker(values)
        self.log = log
        self.echo = echo
        read_end, write_end = os.pipe()
        self._source = read_end
        os.dup2(write_end, fd)
        os.close(write_end)
        self._busy = False
        self.thread = threading.Thread(target=self._copy, name=f"jupyter-flow-tee-{fd}")
        self.thread.daemon = True
        self.thread.start()

    def mask_also(self, values: tuple[bytes, ...]) -> None:
        """Secrets found after the tee started (a container echoes from the start)."""
        merged = set(self.masker.values) | set(values)
        self.masker.values = tuple(sorted(merged, key=len, reverse=True))

    def _emit(self, data: bytes) -> None:
        """Pass ``data`` on; a log that cannot be written (a full disk) loses it, but the
        pipe is still drained: a tee that stopped reading would hang the task's writes."""
        if not data:
            return
        with contextlib.suppress(OSError, ValueError):
            self.log.write(data)
        if self.echo is not None:
            with contextlib.suppress(OSError):
                _write_all(self.echo, data)

    def _copy(self) -> None:
        try:
            while True:
                select.select([self._source], [], [])
                self._busy = True  # before the read: ``settle`` sees data or a busy copy
                data = os.read(self._source, 1 << 16)
                if not data:
                    break
                self._emit(self.masker.feed(data))
                self._busy = False
        finally:
            self._emit(self.masker.flush())  # the task ended: nothing more to join it
            os.close(self._source)

    def settle(self, timeout: float) -> bool:
        """Wait until what was written to the fd so far is in the log (all but a held-back
        possible start of a secret): True when it is. An upload right after it holds
        everything written before, so the output that follows went through the masker."""
        end = time.monotonic() + timeout
        while self.thread.is_alive() and (self._busy or _pending(self._source)):
            if time.monotonic() >= end:
                return False
            time.sleep(0.001)
        return True

    def join(self, timeout: float) -> bool:
        """Wait for the copy to reach the end (every writer closed): True when it did."""
        self.thread.join(timeout)
        return not self.thread.is_alive()
