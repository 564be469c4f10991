"""A store with one damaged record still works: every CLI command and the Python API skip
the bad file with a warning naming it, never a traceback. The store is made by real runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from jupyter_flow import client
from jupyter_flow.client import Run, latest_run, list_runs
from jupyter_flow.errors import RunNotFound
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.store.records import DamagedRecordWarning

from .flows import LINEAR

DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "garbage": lambda data: b"\xff\xfe not json",
    "wrong shape": lambda data: b"[1, 2, 3]",
}
RECORDS = {
    "run.json": "run.json",
    "heartbeat.json": "heartbeat.json",
    # loose records: a run still running, or whose driver was killed, has them
    "task.json": "one/0/task.json",
    "attempt-1.json": "one/0/attempt-1.json",
    # an ended run's records are packed: one line each, or the whole pack
    "packed task": "records.jsonl",
    "packed attempt": "records.jsonl",
    "records.jsonl": "records.jsonl",
}
PACKED_LINE = {"packed task": '{"task":', "packed attempt": '{"attempt":'}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, str]:
    """A store with two finished runs of Linear: (store, flow file, damaged id, healthy id)."""
    base = tmp_path_factory.mktemp("damaged")
    module = base / "linear.py"
    module.write_text(LINEAR)
    flow = load_flow(module)
    store = base / "store"
    first = flow.run(root=str(store)).id
    second = flow.run(root=str(store)).id
    return store, module, first, second


@pytest.fixture
def damaged_copy(made, tmp_path, request):
    store, module, bad, good = made
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    client._engines.clear()
    yield copy, module, bad, good
    client._engines.clear()


def _cli(module: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUPYTER_FLOW_ROOT": str(root)}
    return subprocess.run(
        [sys.executable, str(module), *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _unpack(run: Path) -> None:
    """Lay the pack's records out as loose files, as an unfinished run has them."""
    pack = run / "records.jsonl"
    for line in pack.read_text().splitlines():
        ((kind, record),) = json.loads(line).items()
        folder = run / record["step"] / str(record["index"])
        folder.mkdir(parents=True, exist_ok=True)
        name = "task.json" if kind == "task" else f"attempt-{record['attempt']}.json"
        (folder / name).write_text(json.dumps(record))
    pack.unlink()


def _damage(root: Path, run_id: str, record: str, how: str) -> Path:
    run = root / "runs" / "Linear" / run_id
    path = run / RECORDS[record]
    if record in ("task.json", "attempt-1.json"):
        _unpack(run)
    if record in PACKED_LINE:  # the line of task one/0 (or its first attempt)
        lines = path.read_bytes().split(b"\n")
        start = PACKED_LINE[record].encode()
        at = next(i for i, x in enumerate(lines) if x.startswith(start) and b'"one"' in x)
        lines[at] = DAMAGE[how](lines[at])
        path.write_bytes(b"\n".join(lines))
    else:
        path.write_bytes(DAMAGE[how](path.read_bytes()))
    return path


@pytest.mark.parametrize("how", sorted(DAMAGE))
@pytest.mark.parametrize("record", sorted(RECORDS))
def test_every_cli_command_survives_a_damaged_record(damaged_copy, record, how):
    root, module, bad, good = damaged_copy
    path = _damage(root, bad, record, how)
    if record == "run.json":
        (root / "index.sqlite").unlink(missing_ok=True)  # the rebuild must skip it too

    listed = _cli(module, root, "runs")
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    assert good in listed.stdout
    if record == "run.json":
        assert bad not in listed.stdout
        assert str(path) in listed.stderr and "damaged record" in listed.stderr
    else:
        assert bad in listed.stdout

    shown = _cli(module, root, "show", good)
    assert shown.returncode == 0, shown.stderr
    assert "Traceback" not in shown.stderr

    shown_bad = _cli(module, root, "show", bad)
    assert "Traceback" not in shown_bad.stderr
    if record not in ("run.json", "heartbeat.json"):
        assert str(path) in shown_bad.stderr  # the show reads every task and attempt

    ran = _cli(module, root, "run")
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize("record", sorted(RECORDS))
def test_the_python_api_skips_the_damaged_record_with_a_warning(damaged_copy, record):
    root, _module, bad, good = damaged_copy
    # a truncated pack keeps its first lines: garbage loses every task of the run
    path = _damage(root, bad, record, "garbage" if record == "records.jsonl" else "truncated")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = [r.id for r in list_runs("Linear", root=str(root))]
        assert Run(f"Linear/{good}", root=str(root)).data.total == 19
        if record == "run.json":
            assert ids == [good]
            with pytest.raises(RunNotFound, match="damaged"):
                Run(f"Linear/{bad}", root=str(root))
        else:
            assert ids == [good, bad]
            run = Run(f"Linear/{bad}", root=str(root))
            run.summary()
            if record in ("task.json", "packed task", "records.jsonl"):
                with pytest.raises(RunNotFound, match="did not finish"):
                    _ = run.data.a  # the task is gone: resume recomputes it
            else:
                assert run.data.total == 19
            if record == "heartbeat.json":
                assert run.status == "done"  # a finished run needs no heartbeat
        assert latest_run("Linear", root=str(root)).id == good
    messages = [str(w.message) for w in caught if issubclass(w.category, DamagedRecordWarning)]
    if record == "heartbeat.json":
        assert messages == []  # a finished run's heartbeat is never read
    else:
        assert any(str(path) in m for m in messages), messages


def test_a_running_run_with_a_damaged_heartbeat_is_judged_by_its_record(damaged_copy):
    root, _module, bad, _good = damaged_copy
    run_json = root / "runs" / "Linear" / bad / "run.json"
    record = json.loads(run_json.read_bytes())
    record.update(status="running", finished=None, created=record["created"] - 3600)
    run_json.write_text(json.dumps(record))
    (root / "runs" / "Linear" / bad / "heartbeat.json").write_bytes(b'{"time": "soon"')
    (root / "index.sqlite").unlink(missing_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedRecordWarning)
        # no readable heartbeat: the run's created time (an hour ago) decides -> lost
        assert [r.id for r in list_runs("Linear", status="lost", root=str(root))] == [bad]
        assert latest_run("Linear", status="lost", root=str(root)).id == bad
        assert list_runs("Linear", status="running", root=str(root)) == []


@pytest.mark.parametrize("record", ["task.json", "packed task"])
def test_resume_recomputes_a_task_whose_record_is_damaged(damaged_copy, record):
    root, module, bad, _good = damaged_copy
    _damage(root, bad, record, "empty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedRecordWarning)
        run = load_flow(module).resume(bad, root=str(root))
    assert run.status == "done"
    assert run.data.total == 19
