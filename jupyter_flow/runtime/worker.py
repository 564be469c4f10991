"""A long-lived local worker process: runs task attempts sent over a socket, one at a time.

Keeping the process (and so the flow module's imports: numpy, pandas, torch...) warm between
tasks is what makes a 1000-item foreach cheap. The worker dies with its driver. It is either
a new interpreter (``main``) or a fork of the driver (``forked_main``), which starts with the
driver's imports already done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import sys
import threading
import time
from typing import NoReturn

from ..store import open_store
from ..store.blobs import BlobStore
from .task import run_task
from .taskspec import TaskSpec


def _die_with_parent() -> None:
    parent = os.getppid()
    with contextlib.suppress(Exception):  # Linux: the kernel kills us when the driver dies
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:  # portable fallback
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="jupyter-flow-parent-watch", daemon=True).start()


def serve(sock: socket.socket, preload: str | None) -> None:
    """Run the tasks the driver sends until it closes the socket (or goes away: a worker
    forked before the driver knew it would need it is let go that way)."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        _serve(sock, preload)


def _serve(sock: socket.socket, preload: str | None) -> None:
    reader = sock.makefile("rb")
    stores: dict[str, BlobStore] = {}
    if preload:
        from .loader import load_flow

        with contextlib.suppress(Exception):  # a broken module is reported by its first task
            load_flow(preload)
    sock.sendall(b'{"ready": true}\n')
    for line in reader:
        spec = TaskSpec.from_json(line.decode())
        store = stores.get(spec.store_url)
        if store is None:
            store = stores[spec.store_url] = open_store(spec.store_url)
        outcome = run_task(spec, store)
        reply: dict[str, object] = {"task_id": spec.task_id, "ok": outcome.ok}
        if not outcome.recorded and outcome.error is not None:
            reply["error"] = dataclasses.asdict(outcome.error)
        sock.sendall(json.dumps(reply).encode() + b"\n")


def _setup() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    _die_with_parent()
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]


def _fresh_stdio() -> None:
    """The driver's ``sys.stdout`` may be anything (a notebook's stream, pytest's buffer): a
    task's ``print`` must reach fd 1, which the task's log capture redirects."""
    encoding = getattr(sys.__stdout__, "encoding", None) or "utf-8"
    sys.stdin = open(0, closefd=False, encoding=encoding)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False, encoding=encoding)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False, encoding=encoding, errors="backslashreplace")  # noqa: SIM115


def forked_main(sock: socket.socket, preload: str | None) -> NoReturn:
    """The worker in a child of ``os.fork``: its own session, stdin/stdout on /dev/null (as
    for a spawned worker), and ``os._exit`` so it never runs the driver's code or exit hooks."""
    code = 1
    try:
        os.setsid()
        for name in ("SIGTERM", "SIGHUP", "SIGQUIT"):  # any handlers of the driver off
            with contextlib.suppress(AttributeError, ValueError, OSError):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)
        _fresh_stdio()
        _setup()
        with sock:
            serve(sock, preload)
        code = 0
    except BaseException:
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stderr.flush()
        os._exit(code)


def main() -> None:
    _setup()
    fd = int(sys.argv[1])
    preload = sys.argv[2] if len(sys.argv) > 2 else None
    with socket.socket(fileno=fd) as sock:
        serve(sock, preload)


if __name__ == "__main__":
    main()
