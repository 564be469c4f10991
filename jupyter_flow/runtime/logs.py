"""Per-attempt stdout/stderr capture at the file-descriptor level.

Redirecting fds 1 and 2 (not just ``sys.stdout``) also catches output of C extensions and
subprocesses. A local store gets the log files directly; a remote store gets them uploaded
every second or so while the task runs (and when it reads a secret), so they survive a
killed container. Once the task has read a secret parameter, both fds go through a
masking tee (``masking_tee.py``), so the value never reaches a log file, a live view or a
container's stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..flow.secret_params import mask
from ..store.records import log_path
from .masking_tee import MaskingTee

if TYPE_CHECKING:
    from ..store.blobs import BlobStore
    from .taskspec import TaskSpec

# A remote store gets the logs every UPLOAD_EVERY seconds when they changed: a SIGKILL
# (OOM) loses at most that much (the driver then copies the rest from the engine's log,
# ``executors/remote.py``). Each upload sends the whole log, so a big log waits longer:
# UPLOAD_SHARE times what its last upload took, keeping uploads to ~1/UPLOAD_SHARE of a
# thread's time.
UPLOAD_EVERY = 1.0
UPLOAD_SHARE = 10.0
UPLOAD_EVERY_ENV = "JUPYTER_FLOW_LOG_UPLOAD_EVERY"  # seconds, for a store that bills requests
STREAMS = ("stdout", "stderr")
_FDS = ((1, "stdout"), (2, "stderr"))


class CapturedOutput:
    """The task's fds 1 and 2 while captured; ``mask`` is called once the task has read
    its secret parameters, before the step's code runs."""

    def __init__(self, handles: Mapping[str, BinaryIO], saved: dict[int, int], echo: bool):
        self.handles = handles
        self.saved = saved
        self.masks: tuple[bytes, ...] = ()
        self.tees: dict[int, MaskingTee] = {}
        self.upload: Callable[[], None] | None = None  # set when the store is remote
        for fd, stream in _FDS:
            if echo:  # a container: its stdout is the engine's log of the task
                self.tees[fd] = MaskingTee(fd, handles[stream], saved[fd], ())
            else:
                os.dup2(handles[stream].fileno(), fd)

    def mask(self, values: list[bytes]) -> None:
        """From now on, mask ``values`` in everything fds 1 and 2 receive. A remote store
        gets the log up to here at once, masked: whatever follows went through the tee,
        so the driver may copy it from the engine's log after a kill (``log_merge``)."""
        if not values:
            return
        self.masks = tuple(sorted(set(self.masks) | set(values), key=len, reverse=True))
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, stream in _FDS:
            tee = self.tees.get(fd)
            if tee is not None:
                tee.mask_also(self.masks)
            else:  # the log file was fd's target: the pipe goes in between
                self.tees[fd] = MaskingTee(fd, self.handles[stream], None, self.masks)
        if self.upload is not None:
            for tee in self.tees.values():
                tee.settle(timeout=5)
            with contextlib.suppress(Exception):  # the loop tries again; the task goes on
                self.upload()

    def restore(self) -> bool:
        """Fds 1 and 2 back as they were; False when a child the task left running still
        holds a pipe (its tee goes on copying, masked, and the log stays open)."""
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[1], 1)
        os.dup2(self.saved[2], 2)
        finished = [tee.join(timeout=5) for tee in self.tees.values()]  # EOF: fds restored
        return all(finished)


@contextlib.contextmanager
def capture_output(
    store: BlobStore, spec: TaskSpec, *, echo: bool = False
) -> Iterator[CapturedOutput]:
    """Send fds 1 and 2 to the attempt's log files; with ``echo``, also to where they went
    before (a container's stdout, so ``kubectl logs`` shows the task)."""
    keys = {
        s: log_path(spec.flow, spec.run_id, spec.step, spec.index, spec.attempt, s) for s in STREAMS
    }
    local = {s: store.local_path(k) for s, k in keys.items()}
    tmpdir = None
    if any(p is None for p in local.values()):
        import tempfile  # a remote store only: a local one's log files are the logs

        tmpdir = tempfile.TemporaryDirectory(prefix="jupyter-flow-logs-")
        files = {s: Path(tmpdir.name) / s for s in STREAMS}
    else:
        files = {s: p for s, p in local.items() if p is not None}
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {1: os.dup(1), 2: os.dup(2)}
    handles = {s: open(files[s], "ab", buffering=0) for s in STREAMS}  # noqa: SIM115
    output = CapturedOutput(handles, saved, echo)
    stop = threading.Event()
    uploader = None
    if tmpdir is not None:
        sent: dict[str, object] = {}  # stream -> (size, mtime, masks) it was sent at
        lock = threading.Lock()  # the loop's upload and mask()'s, one at a time

        def upload() -> None:
            with lock:
                for stream in STREAMS:
                    info = files[stream].stat()
                    state = (info.st_size, info.st_mtime_ns, output.masks)
                    if sent.get(stream) == state:
                        continue  # unchanged since the last upload: no request (a new
                        # secret changes it: what was sent before is sent again, masked)
                    data = mask(files[stream].read_bytes(), output.masks)
                    if data:  # an empty log is no document (readers see "" either way)
                        store.put(keys[stream], data)
                    sent[stream] = state

        every = upload_every(os.environ)

        def loop() -> None:
            pause = every
            while not stop.wait(pause):
                began = time.monotonic()
                with contextlib.suppress(Exception):
                    upload()
                pause = max(every, UPLOAD_SHARE * (time.monotonic() - began))

        output.upload = upload
        uploader = threading.Thread(target=loop, name="jupyter-flow-log-upload", daemon=True)
        uploader.start()
    try:
        yield output
    finally:
        if output.restore():
            for fd in saved.values():
                os.close(fd)
            for handle in handles.values():
                handle.close()
            if tmpdir is None:  # a task that printed nothing leaves no empty log files
                for file in files.values():
                    with contextlib.suppress(OSError):
                        if file.stat().st_size == 0:
                            file.unlink()
                        elif output.masks:  # what was written before the tee, if anything
                            _mask_file(file, output.masks)
        if tmpdir is not None:
            stop.set()
            if uploader is not None:
                uploader.join()
            upload()
            tmpdir.cleanup()


def upload_every(env: Mapping[str, str]) -> float:
    """The pause between uploads: ``$JUPYTER_FLOW_LOG_UPLOAD_EVERY`` seconds if it is a
    positive number (a wrong value is said on stderr, not fatal: the task's log still goes)."""
    raw = env.get(UPLOAD_EVERY_ENV, "")
    if not raw:
        return UPLOAD_EVERY
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value > 0:
        return value
    print(
        f"jupyter_flow: ${UPLOAD_EVERY_ENV}={raw!r} is not a positive number of seconds; "
        f"uploading the log every {UPLOAD_EVERY:g}s",
        file=sys.stderr,
    )
    return UPLOAD_EVERY


def _mask_file(path: Path, masks: tuple[bytes, ...]) -> None:
    """Rewrite a finished local log with secret values masked (written aside, then renamed
    over it, so a reader never sees half a log)."""
    data = path.read_bytes()
    masked = mask(data, masks)
    if masked != data:
        aside = path.with_name(path.name + ".masking")
        aside.write_bytes(masked)
        os.replace(aside, path)
