"""What a run looks like, as JSON, for the CLI's ``show``, the server (the Lab's run view)
and the notebook: a pure builder over the run's records (``Run.summary()`` reads them).

Run: ``id``, ``flow``, ``pathspec``, ``status`` (waiting/running/done/failed/cancelled/lost),
``created``, ``finished``, ``params``, ``origin_run``, ``schedule`` (the schedule that
started it, or None), ``executor``, ``error``, ``failed_step``,
``failure`` (where the run failed), ``caught_steps`` (steps with a caught failure, in flow
order) and ``steps``. A step: ``name``, ``status`` (waiting/running/done/caught/failed, or
cancelled/lost for a step of an ended run whose tasks never finished),
``foreach``, ``upstream``, ``tasks_total``/``_done`` (finished, caught ones included)/
``_running``/``_stopped`` (never finished, the run ended)/``_failed``/``_caught``,
``caught`` (one entry per caught task: ``index``, ``kind``, ``type``, ``message``,
``where``, ``cell``, ``cell_id``, ``line``, ``note``) and
``caught_note`` (the phrase the terminal shows beside ⚠, "" when nothing was caught).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .store.records import AttemptRecord, RunRecord, TaskRecord


def run_summary(
    record: RunRecord, status: str, tasks: Sequence[TaskRecord], attempts: Sequence[AttemptRecord]
) -> dict[str, Any]:
    """The run as every view shows it. A step whose failure ``catch=True`` let the flow
    pass is ``caught``, not ``done`` (its outputs are None), with what it failed with."""
    from .runtime.observer import caught_summary

    steps = []
    for info in record.steps:
        done = [t for t in tasks if t.step == info.name]
        mine = [a for a in attempts if a.step == info.name]
        running = {a.index for a in mine if a.status == "running"} - {t.index for t in done}
        # an ended run has nothing running: an attempt it never heard back from was stopped
        # with the run (cancelled, or a sibling's failure) or lost with its driver
        stopped = set(running) if status != "running" else set()
        running -= stopped
        failed = {a.index for a in mine if a.status == "failed"} - {t.index for t in done}
        cancelled = {a.index for a in mine if a.error and a.error.kind == "cancelled"}
        stopped |= failed & cancelled - {a.index for a in mine if a.status == "running"}
        failed -= stopped
        found = (_caught(t) for t in sorted(done, key=lambda t: t.index))
        caught = [c for c in found if c is not None]
        state = "done" if done and not running and not failed else "waiting"
        if running:
            state = "running"
        elif stopped:
            state = "lost" if status == "lost" else "cancelled"
        elif failed and info.name == record.failed_step:
            state = "failed"
        elif state == "done" and caught:
            state = "caught"
        total = len(done) + len(running) + len(stopped) + len(failed) if info.foreach else 1
        total = max(total, len(done))
        steps.append(
            {
                "name": info.name,
                "status": state,
                "foreach": info.foreach,
                "upstream": list(info.upstream),
                "tasks_total": total,
                "tasks_done": len(done),
                "tasks_running": len(running),
                "tasks_stopped": len(stopped),
                "tasks_failed": len(failed),
                "tasks_caught": len(caught),
                "caught": caught,
                "caught_note": caught_summary([c["note"] for c in caught], total),
            }
        )
    return {
        "id": record.run_id,
        "flow": record.flow,
        "pathspec": record.pathspec,
        "status": status,
        "created": record.created,
        "finished": record.finished,
        "params": dict(record.params),
        "origin_run": record.origin_run,
        "schedule": record.schedule or None,
        "executor": record.executor,
        "error": record.error.message if record.error else None,
        "failed_step": record.failed_step,
        "failure": _failure(record),
        "caught_steps": [s["name"] for s in steps if s["tasks_caught"]],
        "steps": steps,
    }


def _caught(task: TaskRecord) -> dict[str, Any] | None:
    """A caught task's failure, for ``summary()``: where and why, and the short note the
    terminal and the notebook show beside its ⚠."""
    if task.status != "caught":
        return None
    from .runtime.observer import caught_note

    error = task.error
    return {
        "index": task.index,
        "kind": error.kind if error else None,
        "type": error.type if error else "",
        "message": error.message if error else "",
        "where": error.where if error else "",
        "cell": error.cell if error else None,
        "cell_id": error.cell_id if error else None,
        "line": error.line if error else None,
        "note": caught_note(error),
    }


def _failure(record: RunRecord) -> dict[str, Any] | None:
    """Where and why the run failed, as every viewer words it (the Lab run view shows it)."""
    error = record.error
    if error is None:
        return None
    from .runtime.tracemap import headline

    return {
        "headline": headline(record.failed_step or "?", error.message, error.where),
        "where": error.where,
        "cell": error.cell,
        "cell_id": error.cell_id,
        "line": error.line,
    }
