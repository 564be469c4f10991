"""The stores a Jupyter server remembers firing: kept across restarts, pruned of stores that
are gone, and only those under a server's root are taken up by it."""

from __future__ import annotations

from pathlib import Path

from jupyter_flow.schedule.store import ScheduleStore
from jupyter_flow.server.scheduler import KnownStores, stores_under


def _store(folder: Path) -> str:
    ScheduleStore(str(folder)).all()  # creates its database
    return str(folder)


def test_known_stores_are_kept_pruned_and_filtered_by_root(tmp_path: Path) -> None:
    known = KnownStores(tmp_path / "data" / "stores.json")
    served = tmp_path / "served"
    inside = _store(served / "proj" / ".jupyter_flow")
    outside = _store(tmp_path / "elsewhere" / ".jupyter_flow")
    gone = _store(served / "old" / ".jupyter_flow")
    for root in (inside, outside, gone, inside):
        known.add(root)
    assert KnownStores(known.path).load() == [inside, outside, gone]  # once each, on disk
    (Path(gone) / "schedules.sqlite").unlink()
    assert known.load() == [inside, outside]
    assert stores_under(known, served) == [inside]
    known.add("s3://bucket/flows")  # a remote root has no database here: not kept
    assert known.load() == [inside, outside]
