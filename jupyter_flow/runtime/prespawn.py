"""A local worker forked as soon as a command knows it will run a flow here.

A short run's driver spends most of its time importing: its own runtime (records, runner,
executor) and, before it forks its first worker, the worker's (task, serialization, log
capture). Forking one worker right after the flow module is loaded lets the worker import
its half while the driver imports its own, on another core, and its first task starts
without either waiting for the other. The local executor adopts it as its first worker
(``take``); anything else (a remote executor, a run that fails to start) drops it.

It is an ordinary forked worker (``worker.forked_main``): its own session, stdio on
/dev/null, dies with the driver. Only a single-threaded process forks, as in ``local.py``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

# pid, the driver's end of the socket pair (a file descriptor), the module path
_spare: tuple[int, int, str] | None = None


def allowed() -> bool:
    """Forking is safe only from a single-threaded process (no lock held by a lost thread)."""
    import threading

    if os.environ.get("JUPYTER_FLOW_WORKER_START", "").strip().lower() == "spawn":
        return False
    return sys.platform.startswith("linux") and threading.active_count() == 1


def start(module_path: str) -> None:
    """Fork a worker for the flow module at ``module_path`` (once per process)."""
    global _spare
    if _spare is not None or not module_path or not allowed():
        return
    # what both processes need, imported once, before the fork (not once in each)
    import _socket  # socket.py (its enums) is imported after the fork, by each side

    from ..store import blobs, open_store, records  # noqa: F401
    from . import taskspec  # noqa: F401

    ends = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    parent, child = (end.detach() for end in ends)
    sys.stdout.flush()  # or the child would write the driver's pending output again
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the worker: never returns into the driver's code
        try:
            os.close(parent)
            import socket

            from . import worker  # its imports run beside the driver's
        except BaseException:
            os._exit(1)
        worker.forked_main(socket.socket(fileno=child), module_path)
    os.close(child)
    _spare = (pid, parent, module_path)


def take(module_path: str | None) -> tuple[int, socket.socket] | None:
    """The spare worker (pid, socket) if it was started for ``module_path``; else None
    (and a spare for another module is dropped)."""
    global _spare
    spare, _spare = _spare, None
    if spare is None:
        return None
    pid, fd, path = spare
    if path != module_path:
        _drop(pid, fd)
        return None
    import socket

    return pid, socket.socket(fileno=fd)


def discard() -> None:
    """Drop the spare worker, if any: it exits when its socket closes."""
    global _spare
    spare, _spare = _spare, None
    if spare is not None:
        _drop(spare[0], spare[1])


def forget_in_child() -> None:
    """In a newly forked process: close the spare's socket (its EOF must reach it when
    the driver lets it go), without touching the process, which is not ours."""
    global _spare
    if _spare is not None:
        with contextlib.suppress(OSError):
            os.close(_spare[1])
        _spare = None


def _drop(pid: int, fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped now if it already exited, else at our exit
