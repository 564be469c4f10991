"""Resume, cancel with Ctrl-C, kill -9 at random moments, concurrent runs, bad input."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jupyter_flow.client import Run, latest_run, list_runs
from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.store import artifacts, open_store
from jupyter_flow.store.records import Records, TaskRecord, from_json

from .flows import EXPECTED_SWEEP, SWEEP


def executions(path: Path) -> list[str]:
    log = path.parent / "executions.log"
    return log.read_text().splitlines() if log.exists() else []


def test_resume_reuses_finished_tasks_and_recomputes_the_rest(write_flow, root):
    path = write_flow(SWEEP)
    (path.parent / "broken").touch()
    flow = load_flow(path)
    with pytest.raises(RunFailed, match="item 2 is broken") as err:
        flow.run(root=root, max_workers=1)
    assert "resume" in str(err.value)
    failed = latest_run("Sweep", root=root)
    assert failed.status == "failed" and failed.record.failed_step == "each"

    (path.parent / "broken").unlink()
    (path.parent / "executions.log").unlink()
    run = flow.resume(failed.id, root=root)
    assert run.data.result == EXPECTED_SWEEP
    assert run.record.origin_run == failed.id
    reused = [t.index for t in run["each"].tasks if t.record.origin_run == failed.id]
    ran_again = executions(path)
    assert "start" not in ran_again  # reused
    assert "each 2" in ran_again and "join" in ran_again
    assert len(reused) + sum(1 for line in ran_again if line.startswith("each")) == 6
    # a reused task still shows its output
    assert run["each"].tasks[reused[0]].stdout.startswith("item")


def test_resume_from_a_step_recomputes_it_and_everything_downstream(write_flow, root):
    path = write_flow(SWEEP)
    flow = load_flow(path)
    first = flow.run(root=root)
    (path.parent / "executions.log").unlink()
    again = flow.resume(first.id, from_step="join", root=root)
    assert executions(path) == ["join"]
    assert again.data.result == EXPECTED_SWEEP


def _store_is_consistent(root: str) -> list[TaskRecord]:
    """Every task record points at blobs that exist and decode: no partial task."""
    store = open_store(root)
    tasks = []
    for path in store.list("runs"):
        if path.endswith("/task.json"):
            task = from_json(TaskRecord, store.get(path))
            for artifact in task.artifacts:
                artifacts.load(store, artifact)
            tasks.append(task)
    return tasks


def _default_sigint() -> None:
    # A shell starting CI in the background may leave SIGINT ignored, and an ignored signal
    # is inherited: give the driver the terminal's default, as a user's shell would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(cli_env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_flow", *args],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,  # noqa: PLW1509 - no threads start drivers here
    )


@pytest.fixture
def cli_env(root):
    return {**os.environ, "JUPYTER_FLOW_ROOT": root, "JUPYTER_FLOW_RETRY_BACKOFF": "0.05"}


def _wait_for_running_task(root: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    store = open_store(root)
    while time.monotonic() < deadline:
        for path in store.list("runs"):
            if path.endswith(".json") and "/each/" in path and "attempt-" in path:
                return
        time.sleep(0.05)
    raise AssertionError("no task started")


def test_ctrl_c_cancels_the_run_and_keeps_finished_tasks(write_flow, root, cli_env):
    path = write_flow(SWEEP)
    proc = _start(cli_env, "run", str(path), "--param", "delay=0.5", "--max-workers", "2")
    _wait_for_running_task(root)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "cancelled" in err and "resume" in err
    run = latest_run("Sweep", root=root)
    assert run.status == "cancelled"
    # the workers were stopped with the run: no attempt is still running
    records = Records(open_store(root))
    for attempt in records.attempts("Sweep", run.id):
        if attempt.status == "running":
            with pytest.raises(ProcessLookupError):
                os.kill(attempt.pid, 0)
    # a resumed run keeps the run's parameters: --param is refused, not silently dropped
    refused = subprocess.run(
        [sys.executable, "-m", "jupyter_flow", "resume", str(path), "--param", "delay=0.01"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0 and "--param delay would not be applied" in refused.stderr
    resumed = subprocess.run(  # bare resume: the latest unfinished run, with its parameters
        [sys.executable, "-m", "jupyter_flow", "resume", str(path)],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {run.id}" in resumed.stdout
    again = latest_run("Sweep", root=root)
    assert again.data.result == EXPECTED_SWEEP and again.record.origin_run == run.id
    assert again.data.delay == 0.5
    nothing = subprocess.run(
        [sys.executable, "-m", "jupyter_flow", "resume", str(path)],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert nothing.returncode != 0 and "finished: nothing to resume" in nothing.stderr


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_gives_the_same_results(write_flow, root, cli_env):
    path = write_flow(SWEEP)
    rng = random.Random(20261125)
    for trial in range(6):
        proc = _start(cli_env, "run", str(path), "--param", "delay=0.08", "--max-workers", "2")
        time.sleep(rng.uniform(0.2, 1.6))
        proc.kill()
        proc.communicate(timeout=30)
        _store_is_consistent(root)
        killed = list_runs("Sweep", root=root)
        if killed and killed[0].status != "done":
            assert killed[0].status == "lost", f"trial {trial}: {killed[0].status}"
        resumed = subprocess.run(
            [sys.executable, "-m", "jupyter_flow", "resume" if killed else "run", str(path)],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if killed and killed[0].status == "done":
            assert "nothing to resume" in resumed.stderr or resumed.returncode == 0
            continue
        assert resumed.returncode == 0, f"trial {trial}: {resumed.stderr}"
        assert latest_run("Sweep", root=root).data.result == EXPECTED_SWEEP
    _store_is_consistent(root)


@pytest.mark.slow
def test_concurrent_runs_get_distinct_ids_and_correct_results(write_flow, root, cli_env):
    path = write_flow(SWEEP)

    def one(_: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "jupyter_flow",
                "run",
                str(path),
                "-q",
                "--max-workers",
                "1",
                "--param",
                "delay=0.01",
            ],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    runs = list_runs("Sweep", root=root)
    assert len({r.id for r in runs}) == 8
    assert all(Run(r.pathspec, root=root).data.result == EXPECTED_SWEEP for r in runs)


def test_bad_input_gets_a_clear_error_and_writes_nothing(write_flow, root, cli):
    path = write_flow(SWEEP)
    for args, message in [
        (["--param", "nope=1"], "unknown parameter 'nope'"),
        (["--param", "items=[1,"], "expects a list"),
        (["--param", "items"], "is not NAME=VALUE"),
        (["--on", "mainframe"], "unknown executor 'mainframe'"),
    ]:
        result = cli("run", str(path), *args)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    bad = write_flow(
        "from jupyter_flow import Flow\nflow = Flow('Bad')\n@flow.step\ndef a(ghost):\n    pass\n"
    )
    result = cli("run", str(bad))
    assert result.returncode == 2 and "unknown input 'ghost'" in result.stderr
    assert not (Path(root) / "runs").exists()


def test_every_verb_has_help(cli):
    for verb in ["run", "resume", "show", "graph", "runs", "logs"]:
        result = cli(verb, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, verb


def test_run_records_are_json_documents(write_flow, root):
    run = load_flow(write_flow(SWEEP)).run(root=root)
    raw = json.loads((Path(root) / "runs" / "Sweep" / run.id / "run.json").read_text())
    assert raw["status"] == "done" and [s["name"] for s in raw["steps"]] == [
        "start",
        "each",
        "join",
    ]


def test_the_run_index_is_rebuilt_from_the_records_when_lost(write_flow, root, cli):
    path = write_flow(SWEEP)
    assert cli("run", str(path), "-q").returncode == 0
    assert cli("runs", str(path)).returncode == 0  # builds the index (a run does not)
    (Path(root) / "index.sqlite").unlink()
    listed = cli("runs", str(path))
    assert listed.returncode == 0 and "Sweep/" in listed.stdout and "done" in listed.stdout
