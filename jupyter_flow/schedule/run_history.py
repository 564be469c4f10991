"""History of schedules that run in a remote engine (Kubernetes, Argo, AWS), read from runs.

The engine keeps no history we could query the same way everywhere, but every run such a
schedule starts is tagged with its name (``--schedule``, see ``bootstrap.driver_command`` and
``argo_render``), so the store's run records are the history: one entry per tagged run. A
fire that never started a run (image pull failure, pod evicted before the driver began)
leaves no record and so no entry.
"""

from __future__ import annotations

from ..client import run_status
from ..store import open_store
from ..store.records import Records
from .model import Schedule
from .store import ScheduleStore

FINAL = ("done", "failed", "cancelled")  # a record in these states never changes again


def refresh_from_runs(store: ScheduleStore, schedule: Schedule, root: str | None = None) -> None:
    """Upsert one history entry per run of ``schedule`` found in the store its runs write
    to: ``root`` (a target's ``store_url``, where its pods write), else ``schedule.root``.

    Runs already recorded as final are not read again; "lost" ones are, since a driverless
    run between steps can look lost and then finish.
    """
    settled = {e.run_id for e in store.history(schedule.name) if e.status in FINAL}
    blobs = open_store(root or schedule.root)
    try:
        records = Records(blobs)
        found = []
        for run_id in records.run_ids(schedule.flow.name):
            if run_id in settled:
                continue
            record = records.read_run(schedule.flow.name, run_id)
            if record is not None and record.schedule == schedule.name:
                found.append(record)
        # run ids of one second sort by their random part: add rows in the order runs began
        for record in sorted(found, key=lambda r: r.created):
            store.sync_run(
                schedule.name,
                record.run_id,
                fire_time=record.created,
                status=run_status(records, record),
                finished=record.finished,
                reason=record.error.message if record.error else "",
            )
    finally:
        blobs.close()
