"""Per-attempt stdout/stderr capture at the file-descriptor level.

Redirecting fds 1 and 2 (not just ``sys.stdout``) also catches output of C extensions and
subprocesses. A local store gets the log files directly; a remote store gets them uploaded
every few seconds while the task runs, so they survive a killed container.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..store.records import log_path

if TYPE_CHECKING:
    from ..store.blobs import BlobStore
    from .taskspec import TaskSpec

UPLOAD_EVERY = 5.0
STREAMS = ("stdout", "stderr")


@contextlib.contextmanager
def capture_output(store: BlobStore, spec: TaskSpec) -> Iterator[None]:
    keys = {
        s: log_path(spec.flow, spec.run_id, spec.step, spec.index, spec.attempt, s) for s in STREAMS
    }
    local = {s: store.local_path(k) for s, k in keys.items()}
    tmpdir = None
    if any(p is None for p in local.values()):
        tmpdir = tempfile.TemporaryDirectory(prefix="jupyter-flow-logs-")
        files = {s: Path(tmpdir.name) / s for s in STREAMS}
    else:
        files = {s: p for s, p in local.items() if p is not None}
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {1: os.dup(1), 2: os.dup(2)}
    handles = {s: open(files[s], "ab", buffering=0) for s in STREAMS}  # noqa: SIM115
    os.dup2(handles["stdout"].fileno(), 1)
    os.dup2(handles["stderr"].fileno(), 2)
    stop = threading.Event()
    uploader = None
    if tmpdir is not None:

        def upload() -> None:
            for stream in STREAMS:
                store.put(keys[stream], files[stream].read_bytes())

        def loop() -> None:
            while not stop.wait(UPLOAD_EVERY):
                with contextlib.suppress(Exception):
                    upload()

        uploader = threading.Thread(target=loop, name="jupyter-flow-log-upload", daemon=True)
        uploader.start()
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[1], 1)
        os.dup2(saved[2], 2)
        for fd in saved.values():
            os.close(fd)
        for handle in handles.values():
            handle.close()
        if tmpdir is not None:
            stop.set()
            if uploader is not None:
                uploader.join()
            upload()
            tmpdir.cleanup()
