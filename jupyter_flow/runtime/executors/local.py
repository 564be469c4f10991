"""Local executor: a pool of warm worker processes on this machine.

Each worker is its own session (process group), so a timeout or a cancel kills the task's
own subprocesses too, and a terminal's Ctrl-C reaches only the driver, which then stops the
workers in order. A worker that dies (segfault, OOM kill, ``os._exit``) is reported as a
failed attempt and replaced on the next submission.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ...store.records import ErrorInfo
from ..taskspec import TaskSpec
from .base import Executor, TaskEvent

_SRC_ROOT = str(Path(__file__).resolve().parents[3])


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    sock: socket.socket
    buffer: bytes = b""
    spec: TaskSpec | None = None
    started: float = 0.0
    preload: str | None = field(default=None)


def _signal_name(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


class LocalExecutor(Executor):
    name: ClassVar[str] = "local"
    capabilities: ClassVar[frozenset[str]] = frozenset({"cancel", "timeout", "logs"})

    def __init__(self, settings, store, max_workers):  # type: ignore[no-untyped-def]
        super().__init__(settings, store, max_workers)
        self._workers: list[_Worker] = []
        self._queue: deque[TaskSpec] = deque()
        self._selector = selectors.DefaultSelector()

    # -- workers ------------------------------------------------------------------------
    def _spawn(self, preload: str | None) -> _Worker:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC_ROOT, env.get("PYTHONPATH")) if p)
        args = [sys.executable, "-m", "jupyter_flow.runtime.worker", str(child.fileno())]
        if preload:
            args.append(preload)
        proc = subprocess.Popen(
            args,
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        child.close()
        parent.setblocking(False)
        worker = _Worker(proc, parent, preload=preload)
        self._selector.register(parent, selectors.EVENT_READ, worker)
        self._workers.append(worker)
        return worker

    def _retire(self, worker: _Worker, kill: bool) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(worker.sock)
        if kill:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
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
            hint = " (out of memory?)" if worker.proc.returncode == -signal.SIGKILL else ""
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
        deadline = time.monotonic() + 2
        for worker in self._workers:
            try:
                worker.proc.wait(timeout=max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(worker.proc.pid, signal.SIGKILL)
                worker.proc.wait()
        self._workers.clear()
        self._selector.close()
