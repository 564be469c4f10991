"""``cancel RUN`` through the store: the request (``request_cancel``), and the driver's
side of it (``CancelWatch``), which the runner's loop consults, so every driver honours
it, whatever view it has or none: a terminal, ``--quiet``, a kernel, a scheduled run.

Through the store, because a signal cannot reach every driver: a kernel's driver is a
thread (a SIGINT would interrupt the user's cell), a scheduled run's may be on another
machine.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import TYPE_CHECKING

from ..store.records import run_dir

if TYPE_CHECKING:
    from ..store.blobs import BlobStore


def cancel_key(flow: str, run_id: str) -> str:
    return f"{run_dir(flow, run_id)}/cancel.json"


def request_cancel(store: BlobStore, flow: str, run_id: str) -> None:
    """Ask the run's driver, wherever it runs, to stop (``jupyter flow cancel RUN``)."""
    who = {"time": time.time(), "host": socket.gethostname(), "pid": os.getpid()}
    store.put(cancel_key(flow, run_id), json.dumps(who).encode())


class CancelWatch:
    """A look at the store now and then for the run's cancel request; when there is one,
    the runner's own Ctrl-C (KeyboardInterrupt): tasks stopped, run recorded
    ``cancelled``, finished tasks kept."""

    EVERY = 1.0  # seconds between looks; a remote store is looked at less often
    REMOTE_EVERY = 3.0

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.key = ""
        self.every = self.REMOTE_EVERY if "://" in store.url else self.EVERY
        self._last = 0.0

    def started(self, flow: str, run_id: str) -> None:
        self.key = cancel_key(flow, run_id)
        self._last = time.monotonic()

    def check(self) -> None:
        now = time.monotonic()
        if not self.key or now - self._last < self.every:
            return
        self._last = now
        try:
            asked = self.store.get(self.key) is not None
        except Exception:  # a store that does not answer now: look again next time
            return
        if asked:
            self.key = ""  # once: a second interrupt would break the runner's cancelling
            raise KeyboardInterrupt
