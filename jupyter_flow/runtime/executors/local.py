"""Local executor: a pool of warm worker processes on this machine.

Each worker is its own session (process group), so a timeout or a cancel kills the task's
own subprocesses too, and a terminal's Ctrl-C reaches only the driver, which then stops the
workers in order. A worker that dies (segfault, OOM kill, ``os._exit``) is reported as a
failed attempt and replaced on the next submission.

On Linux a worker is forked from the driver, which has already imported jupyter_flow and
the flow module's own imports, so a worker is ready in about a millisecond instead of
paying a new interpreter's start-up (~0.1 s). It still runs in its own process: a task that
crashes or is killed never takes the driver with it. A driver with threads (a Jupyter
kernel, a flow module that started some) cannot fork safely, so it starts a fresh
interpreter instead; so does ``JUPYTER_FLOW_WORKER_START=spawn``.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ...store.records import ErrorInfo
from .. import prespawn
from ..taskspec import TaskSpec
from .base import Executor, TaskEvent

if TYPE_CHECKING:
    import subprocess

    from ...flow.secret_params import Secret

_SRC_ROOT = str(Path(__file__).resolve().parents[3])


def _can_fork() -> bool:
    """Forking is safe only from a single-threaded process (no lock held by a lost thread)."""
    if os.environ.get("JUPYTER_FLOW_WORKER_START", "").strip().lower() == "spawn":
        return False
    return sys.platform.startswith("linux") and threading.active_count() == 1


class _Forked:
    """The parts of ``Popen`` the executor uses, for a worker made by ``os.fork``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its status is gone
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"worker {self.pid} still runs after {timeout or 0.0:g}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        return code


class _Spawned:
    """A worker started as a new interpreter (``subprocess`` is imported only then: a
    forked worker's driver never needs it)."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    def poll(self) -> int | None:
        return self._popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        import subprocess

        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"worker {self.pid} still runs after {timeout or 0.0:g}s") from None


class _Worker:
    __slots__ = ("buffer", "preload", "proc", "sock", "spec", "started")

    def __init__(
        self, proc: _Spawned | _Forked, sock: socket.socket, preload: str | None = None
    ) -> None:
        self.proc = proc
        self.sock = sock
        self.buffer = b""
        self.spec: TaskSpec | None = None
        self.started = 0.0
        self.preload = preload


# Forked workers told to exit at ``close`` and not yet reaped: a driver does not wait for
# idle workers to exit (a few ms of every short run); they are reaped on the next executor
# use in this process, and killed if they linger past their grace time.
_closing: list[tuple[_Forked, float]] = []
CLOSE_GRACE = 2.0


def _reap_closed() -> None:
    now = time.monotonic()
    for entry in list(_closing):
        proc, deadline = entry
        if proc.poll() is None:
            if now < deadline:
                continue
            _kill(proc.pid)
            with contextlib.suppress(TimeoutError):
                proc.wait(timeout=1)
        _closing.remove(entry)


def _signal_name(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def _kill(pid: int) -> None:
    """Kill the worker's whole session; the worker itself too if it has not made one yet."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


class LocalExecutor(Executor):
    name: ClassVar[str] = "local"
    capabilities: ClassVar[frozenset[str]] = frozenset({"cancel", "timeout", "logs", "secret-env"})

    def __init__(self, settings, store, max_workers):  # type: ignore[no-untyped-def]
        super().__init__(settings, store, max_workers)
        self._workers: list[_Worker] = []
        self._queue: deque[TaskSpec] = deque()
        self._selector = selectors.DefaultSelector()
        _reap_closed()

    def unreachable_secrets(self, secrets: Mapping[str, Secret]) -> dict[str, str]:
        """Workers inherit the driver's environment: each variable must be set here."""
        return {
            name: f"${ref.env} is not set in the environment that started the run"
            for name, ref in secrets.items()
            if ref.env not in os.environ
        }

    # -- workers ------------------------------------------------------------------------
    def _spawn(self, preload: str | None) -> _Worker:
        spare = prespawn.take(preload) if _can_fork() else None
        if spare is not None:  # forked when the command began (``prespawn.py``)
            proc: _Forked | _Spawned = _Forked(spare[0])
            parent = spare[1]
        else:
            parent, child = socket.socketpair()
            proc = self._fork(parent, child, preload) if _can_fork() else self._exec(child, preload)
            child.close()
        parent.setblocking(False)
        worker = _Worker(proc, parent, preload=preload)
        self._selector.register(parent, selectors.EVENT_READ, worker)
        self._workers.append(worker)
        return worker

    def _fork(self, parent: socket.socket, child: socket.socket, preload: str | None) -> _Forked:
        from .. import worker as worker_module  # imported before the fork, so once

        sys.stdout.flush()  # or the child would write the driver's pending output again
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the driver's code
            try:
                parent.close()  # so each worker sees EOF when the driver closes its socket
                for other in self._workers:
                    other.sock.close()
                prespawn.forget_in_child()
            finally:
                worker_module.forked_main(child, preload)
        return _Forked(pid)

    def _exec(self, child: socket.socket, preload: str | None) -> _Spawned:
        import subprocess

        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC_ROOT, env.get("PYTHONPATH")) if p)
        args = [sys.executable, "-m", "jupyter_flow.runtime.worker", str(child.fileno())]
        if preload:
            args.append(preload)
        popen = subprocess.Popen(
            args,
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        return _Spawned(popen)

    def _retire(self, worker: _Worker, kill: bool) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(worker.sock)
        if kill:
            _kill(worker.proc.pid)
        worker.sock.close()
        with contextlib.suppress(TimeoutError):
            worker.proc.wait(timeout=5)
        if worker in self._workers:
            self._workers.remove(worker)

    def _dispatch(self) -> None:
        while self._queue:
            idle = next((w for w in self._workers if w.spec is None), None)
            if idle is None:
                if len(self._workers) >= self.max_workers:
                    return
                idle = self._spawn(self._queue[0].code.module_path)
            spec = self._queue.popleft()
            idle.spec, idle.started = spec, time.monotonic()
            try:
                idle.sock.setblocking(True)
                idle.sock.sendall(spec.to_json().encode() + b"\n")
            except OSError:
                pass  # it died: reported by wait() as a dead worker running this spec
            finally:
                with contextlib.suppress(OSError):
                    idle.sock.setblocking(False)

    # -- the seam -----------------------------------------------------------------------
    def submit(self, spec: TaskSpec) -> None:
        self._queue.append(spec)
        self._dispatch()

    def wait(self, timeout: float) -> list[TaskEvent]:
        end = time.monotonic() + timeout
        events: list[TaskEvent] = []
        while True:
            self._dispatch()
            now = time.monotonic()
            limit = end - now
            for w in self._workers:
                if w.spec is not None and w.spec.timeout is not None:
                    limit = min(limit, w.started + w.spec.timeout - now)
            if self._workers:
                for key, _ in self._selector.select(max(0.0, limit)):
                    events.extend(self._read(key.data))
            else:
                time.sleep(max(0.0, min(limit, 0.05)))
            events.extend(self._expire())
            if events or time.monotonic() >= end:
                return events

    def _read(self, worker: _Worker) -> list[TaskEvent]:
        try:
            data = worker.sock.recv(65536)
        except BlockingIOError:
            return []
        except OSError:
            data = b""
        if not data:
            spec = worker.spec
            self._retire(worker, kill=False)
            if spec is None:
                return []
            reason = _signal_name(worker.proc.returncode)
            if worker.proc.returncode == -signal.SIGKILL:
                hint = " (out of memory?)"
            elif (worker.proc.returncode or 0) > 0:
                hint = (
                    " while running the step (os._exit, or a crash in native code); "
                    "its log has its last output"
                )
            else:
                hint = ""
            return [
                TaskEvent(
                    spec.task_id,
                    False,
                    ErrorInfo("worker-died", f"the worker process {reason}{hint}"),
                )
            ]
        worker.buffer += data
        events = []
        while b"\n" in worker.buffer:
            line, worker.buffer = worker.buffer.split(b"\n", 1)
            message = json.loads(line)
            if "task_id" in message and worker.spec is not None:
                error = ErrorInfo(**message["error"]) if message.get("error") else None
                events.append(TaskEvent(message["task_id"], bool(message["ok"]), error))
                worker.spec = None
        return events

    def _expire(self) -> list[TaskEvent]:
        events = []
        now = time.monotonic()
        for worker in list(self._workers):
            spec = worker.spec
            if (
                spec is not None
                and spec.timeout is not None
                and now - worker.started >= spec.timeout
            ):
                self._retire(worker, kill=True)
                events.append(
                    TaskEvent(
                        spec.task_id,
                        False,
                        ErrorInfo(
                            "timeout", f"the task ran longer than its timeout of {spec.timeout:g}s"
                        ),
                    )
                )
        return events

    def cancel(self, task_ids: Iterable[str] | None = None) -> None:
        wanted = None if task_ids is None else set(task_ids)
        self._queue = deque(
            s for s in self._queue if wanted is not None and s.task_id not in wanted
        )
        for worker in list(self._workers):
            if worker.spec is not None and (wanted is None or worker.spec.task_id in wanted):
                self._retire(worker, kill=True)

    def close(self) -> None:
        self.cancel()
        for worker in self._workers:  # idle workers exit when their socket closes
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(worker.sock)
            worker.sock.close()
        deadline = time.monotonic() + CLOSE_GRACE
        for worker in self._workers:
            if isinstance(worker.proc, _Forked):  # idle: it exits on its own, reaped later
                if worker.proc.poll() is None:
                    _closing.append((worker.proc, deadline))
                continue
            try:
                worker.proc.wait(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                _kill(worker.proc.pid)
                worker.proc.wait()
        self._workers.clear()
        self._selector.close()
