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
import socket
import sys

_spare: tuple[int, socket.socket, str] | None = None  # pid, the driver's end, module path


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
    from ..store import artifacts, open_store  # noqa: F401
    from . import taskspec  # noqa: F401

    parent, child = socket.socketpair()
    sys.stdout.flush()  # or the child would write the driver's pending output again
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the worker: never returns into the driver's code
        try:
            parent.close()
            from . import worker  # its imports run beside the driver's
        except BaseException:
            os._exit(1)
        worker.forked_main(child, module_path)
    child.close()
    _spare = (pid, parent, module_path)


def take(module_path: str | None) -> tuple[int, socket.socket] | None:
    """The spare worker (pid, socket) if it was started for ``module_path``; else None
    (and a spare for another module is dropped)."""
    global _spare
    spare, _spare = _spare, None
    if spare is None:
        return None
    pid, sock, path = spare
    if path != module_path:
        _drop(pid, sock)
        return None
    return pid, sock


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
        _spare[1].close()
        _spare = None


def _drop(pid: int, sock: socket.socket) -> None:
    sock.close()
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped now if it already exited, else at our exit
