"""The store lease: one holder at a time, a dead holder's lease free at once, another
host's holder trusted while it beats, an older daemon's bare pid file respected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from jupyter_flow.schedule.lease import HEARTBEAT_NAME, Lease, live_holder, read_holder


def test_one_holder_then_the_standby_takes_over(tmp_path: Path) -> None:
    first, second = Lease(tmp_path, "daemon"), Lease(tmp_path, "jupyter-server")
    assert first.hold()
    assert not second.hold()  # flock: also between two leases of one process
    holder = live_holder(tmp_path)
    assert holder is not None and (holder.pid, holder.kind) == (os.getpid(), "daemon")
    assert first.hold()  # renewing
    first.release()
    assert not (tmp_path / HEARTBEAT_NAME).exists()
    assert live_holder(tmp_path) is None
    assert second.hold()
    assert live_holder(tmp_path).kind == "jupyter-server"  # type: ignore[union-attr]
    second.release()


def test_a_killed_holder_leaves_a_free_lease(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path\n"
        "from jupyter_flow.schedule.lease import Lease\n"
        "assert Lease(Path(sys.argv[1]), 'daemon').hold(); print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        assert live_holder(tmp_path).pid == proc.pid  # type: ignore[union-attr]
        assert not Lease(tmp_path, "jupyter-server").hold()
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert live_holder(tmp_path) is None  # its heartbeat is still there, naming a dead pid
    lease = Lease(tmp_path, "jupyter-server")
    assert lease.hold()
    assert read_holder(tmp_path).pid == os.getpid()  # type: ignore[union-attr]
    lease.release()


def _beat(folder: Path, host: str, age: float) -> None:
    now = time.time()
    data = {"pid": 1, "host": host, "since": now - 3600, "beat": now - age, "kind": "daemon"}
    (folder / HEARTBEAT_NAME).write_text(json.dumps(data))


def test_another_hosts_holder_counts_while_it_beats(tmp_path: Path) -> None:
    _beat(tmp_path, "other-machine", age=2)
    lease = Lease(tmp_path, "daemon")
    assert not lease.hold()  # the lock is free here, but locks may not cross machines
    assert live_holder(tmp_path).host == "other-machine"  # type: ignore[union-attr]
    _beat(tmp_path, "other-machine", age=120)  # stopped beating: dead
    assert live_holder(tmp_path) is None
    assert lease.hold()
    lease.release()


def test_a_holder_that_lost_its_lease_stands_down(tmp_path: Path) -> None:
    lease = Lease(tmp_path, "daemon")
    assert lease.hold()
    _beat(tmp_path, "other-machine", age=0)  # it took over while this one was asleep
    assert not lease.hold()
    assert not lease.held
    assert read_holder(tmp_path).host == "other-machine"  # type: ignore[union-attr]


def test_an_older_daemons_pid_file_is_respected(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / HEARTBEAT_NAME).write_text(str(sleeper.pid))
        assert live_holder(tmp_path).pid == sleeper.pid  # type: ignore[union-attr]
        assert not Lease(tmp_path, "daemon").hold()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert live_holder(tmp_path) is None
