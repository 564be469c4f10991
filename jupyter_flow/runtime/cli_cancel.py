"""``cancel RUN``: stop a running run from another terminal, whatever started it.

The request goes through the store (``cancel_request.py``): every driver's runner looks
for it (a terminal's ``run``, ``--quiet``, a kernel's ``%flow run``, a script's
``flow.run()``, a server or schedule launch) and stops as Ctrl-C would, so the run ends
``cancelled`` with its finished tasks kept for ``resume``. A driver on this machine that
does not answer in time (one stuck outside its loop) gets the SIGINT Ctrl-C would send,
unless it is a kernel: there SIGINT would interrupt the user's cell, not the run.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import time
from typing import Any

from ..errors import FlowError, RunNotFound

POLL = 0.2
SIGNAL_GRACE = 10.0  # seconds a signalled driver gets to record the run cancelled


class CancelRefused(FlowError):
    """The run cannot be cancelled: it ended, or its driver is gone."""

    exit_code = 1


def add_parser(verb: Any, *, bound: Any) -> None:
    p: argparse.ArgumentParser = verb(
        "cancel", "Stop a running run; its finished tasks are kept for resume.", with_flow=False
    )
    if bound is None:
        p.add_argument(
            "target",
            nargs="+",
            metavar="[FLOW] RUN",
            help="a run id, FLOW/RUN, or the flow (name or .py file) and a run id",
        )
    else:
        p.add_argument("target", nargs=1, metavar="RUN", help="run id (see `runs`)")
    p.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for the run to stop (default: 30)",
    )
    p.set_defaults(func=cmd_cancel)


def _find(args: argparse.Namespace) -> Any:
    """The run named by ``[FLOW] RUN``; a bare run id is looked up in every flow of the
    store (ids are unique enough that a user should not have to name the flow)."""
    from ..client import Run, _engine_for
    from .cli_engine import _flow_name

    target = list(args.target)
    if len(target) > 2:
        raise RunNotFound(f"cancel takes one run, not {' '.join(target)!r}", hint="cancel RUN")
    if len(target) == 2:
        args.flow = target[0]
        return Run(f"{_flow_name(args)}/{target[1]}", root=args.root)
    run_id = target[0]
    if "/" in run_id:
        return Run(run_id, root=args.root)
    if getattr(args, "flow_object", None) is not None:
        return Run(f"{_flow_name(args)}/{run_id}", root=args.root)
    engine = _engine_for(args.root)
    flows = [f for f in engine.records.flows() if engine.records.read_run(f, run_id)]
    if len(flows) == 1:
        return Run(f"{flows[0]}/{run_id}", root=args.root, _engine=engine)
    if flows:
        raise RunNotFound(
            f"run id {run_id} exists in several flows: {', '.join(flows)}",
            hint=f"name one: cancel {flows[0]}/{run_id}",
        )
    raise RunNotFound(
        f"there is no run {run_id} in {engine.settings.root}",
        hint="list the running ones with: jupyter flow runs FLOW --status running",
    )


def cmd_cancel(args: argparse.Namespace) -> int:
    run = _find(args)
    _refuse_unless_running(run)
    record = run.record
    from .cancel_request import request_cancel

    asked = time.monotonic()
    request_cancel(run._engine.store, run.flow, run.id)
    where = f"pid {record.pid} on {record.host}" if record.pid else f"on {record.host or '?'}"
    print(f"asked {run.pathspec} to stop (its driver: {where})")
    status = _wait(run, args.wait)
    if status == "running" and _may_signal(record):
        print(f"the driver did not answer in {args.wait:g}s: sending it SIGINT (as Ctrl-C)")
        try:
            os.kill(record.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        status = _wait(run, SIGNAL_GRACE)
    if status == "running":
        raise CancelRefused(
            f"{run.pathspec} is still running {time.monotonic() - asked:.0f}s after the request "
            f"(its driver: {where})",
            hint="it stops when its driver next looks at the store; or press Ctrl-C "
            "where it runs (%flow cancel in its kernel)",
        )
    if status != "cancelled":
        print(f"{run.pathspec} ended {status} before it could be cancelled")
        return 0 if status == "done" else 1
    print(f"cancelled {run.pathspec}: its running tasks were stopped, finished ones are kept")
    print(f"  continue it with: resume {run.id}")
    return 0


def _refuse_unless_running(run: Any) -> None:
    status = run.status
    if status == "running":
        return
    record = run.record
    if status == "lost":
        raise CancelRefused(
            f"{run.pathspec} is not running: its driver (pid {record.pid} on {record.host}) "
            "stopped without recording an end, so there is nothing to cancel",
            hint=f"continue it with: resume {run.id}",
        )
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.finished or record.created))
    ended = {"done": "already finished", "failed": "already failed"}
    raise CancelRefused(
        f"{run.pathspec} {ended.get(status, 'was already ' + status)} at {when}: nothing to cancel",
        hint="list the running ones with: runs --status running"
        if status == "done"
        else f"continue it with: resume {run.id}",
    )


def _wait(run: Any, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        status = str(run.refresh().status)
        if status != "running" or time.monotonic() >= deadline:
            return status
        time.sleep(POLL)


def _may_signal(record: Any) -> bool:
    """A driver on this machine that is not a kernel (Ctrl-C there interrupts the cell)."""
    if not record.pid or record.host != socket.gethostname() or record.pid == os.getpid():
        return False
    try:
        with open(f"/proc/{record.pid}/cmdline", "rb") as fh:
            argv = fh.read().decode(errors="replace")
    except OSError:
        return False  # cannot tell what the process is: do not signal it
    return "ipykernel" not in argv and "kernel" not in argv.split("\0")[0]
