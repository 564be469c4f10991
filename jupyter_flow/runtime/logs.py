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
from typing import TYPE_CHECKING, BinaryIO

from ..flow.secret_params import mask
from ..store.records import log_path

if TYPE_CHECKING:
    from ..store.blobs import BlobStore
    from .taskspec import TaskSpec

UPLOAD_EVERY = 5.0
STREAMS = ("stdout", "stderr")


def _tee(source: int, handle: BinaryIO, echo: int, masks: list[bytes]) -> None:
    """Copy a pipe into the log file and to the process's original stream, secret
    parameter values masked (a value split across two reads is not: a known limit)."""
    while data := os.read(source, 1 << 16):
        data = mask(data, tuple(masks))
        handle.write(data)
        with contextlib.suppress(OSError):
            view = memoryview(data)
            while view:
                view = view[os.write(echo, view) :]
    os.close(source)


@contextlib.contextmanager
def capture_output(
    store: BlobStore, spec: TaskSpec, *, echo: bool = False, masks: list[bytes] | None = None
) -> Iterator[None]:
    """Send fds 1 and 2 to the attempt's log files; with ``echo``, also to where they went
    before (a container's stdout, so ``kubectl logs`` shows the task). ``masks``, filled
    once the task has read its secret parameters, are masked in what is kept."""
    masks = [] if masks is None else masks
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
    tees: list[threading.Thread] = []
    for fd, stream in ((1, "stdout"), (2, "stderr")):
        if not echo:
            os.dup2(handles[stream].fileno(), fd)
            continue
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        tee = threading.Thread(
            target=_tee, args=(read_end, handles[stream], saved[fd], masks), daemon=True
        )
        tee.start()
        tees.append(tee)
    stop = threading.Event()
    uploader = None
    if tmpdir is not None:

        def upload() -> None:
            for stream in STREAMS:
                data = mask(files[stream].read_bytes(), tuple(masks))
                if data:  # an empty log is no document (readers see "" either way)
                    store.put(keys[stream], data)

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
        for tee in tees:  # EOF once fds 1 and 2 no longer point at the pipes
            tee.join(timeout=5)
        if not any(tee.is_alive() for tee in tees):  # else a leftover child holds a pipe
            for fd in saved.values():
                os.close(fd)
            for handle in handles.values():
                handle.close()
            if tmpdir is None:  # a task that printed nothing leaves no empty log files
                for file in files.values():
                    with contextlib.suppress(OSError):
                        if file.stat().st_size == 0:
                            file.unlink()
                        elif masks:
                            _mask_file(file, tuple(masks))
        if tmpdir is not None:
            stop.set()
            if uploader is not None:
                uploader.join()
            upload()
            tmpdir.cleanup()


def _mask_file(path: Path, masks: tuple[bytes, ...]) -> None:
    """Rewrite a finished local log with secret values masked (written aside, then renamed
    over it, so a reader never sees half a log)."""
    data = path.read_bytes()
    masked = mask(data, masks)
    if masked != data:
        aside = path.with_name(path.name + ".masking")
        aside.write_bytes(masked)
        os.replace(aside, path)
