"""A caught failure is shown as caught (⚠ and what it was), never as a plain ✓, in the
terminal's live lines, ``show``, ``runs`` and the notebook's view; ``show`` and ``runs``
print aligned columns whatever the widths."""

from __future__ import annotations

import pytest

from jupyter_flow.kernel.progress import RunState
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.store import open_store

CAUGHT = """
import time
from jupyter_flow import Flow

flow = Flow("Caught")


@flow.step(outputs="xs")
def start():
    return [1, 2, 3]


@flow.step(timeout=1, catch=True, outputs="slow_value")
def a_step_with_a_rather_long_name(xs):
    time.sleep(30)
    return 1


@flow.step(foreach="x in xs", catch=True, outputs="y")
def each(x):
    if x == 2:
        raise ValueError("two is bad")
    return x


@flow.step(outputs="total")
def end(slow_value, y):
    return [slow_value, y]


if __name__ == "__main__":
    flow.main()
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One run through the CLI, shared: its live output and the module's path."""
    import os
    import subprocess
    import sys

    here = tmp_path_factory.mktemp("caught")
    root = str(here / "store")
    path = here / "caught_flow.py"
    path.write_text(CAUGHT)

    def cli(*args):
        env = {**os.environ, "JUPYTER_FLOW_ROOT": root}
        return subprocess.run(
            [sys.executable, str(path), *args], check=False, capture_output=True, text=True, env=env
        )

    return cli, cli("run"), root, path


def test_the_live_lines_mark_caught_steps_and_say_what_failed(ran):
    _, result, _, _ = ran
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "⚠ a_step_with_a_rather_long_name" in out
    assert "caught: timed out after 1s; its outputs are None" in out
    assert "✓ a_step_with_a_rather_long_name" not in out
    assert "⚠ each[1] caught: ValueError: two is bad" in out
    assert "⚠ each (3 tasks)" in out and "1 caught" in out
    assert "✓ start" in out and "✓ end" in out
    assert "failures caught in a_step_with_a_rather_long_name, each" in out


def test_show_marks_caught_steps_in_aligned_columns(ran):
    cli, _, _, _ = ran
    shown = cli("show")
    lines = shown.stdout.splitlines()
    header = next(ln for ln in lines if ln.split()[:3] == ["step", "status", "tasks"])
    slow = next(ln for ln in lines if ln.strip().startswith("a_step_with_a_rather_long_name"))
    each = next(ln for ln in lines if ln.strip().startswith("each "))
    assert "⚠ caught" in slow and "timed out after 1s; outputs None" in slow
    assert "1 of 3 caught, outputs None; first: ValueError: two is bad" in each
    assert "✓ done" in next(ln for ln in lines if ln.strip().startswith("start "))
    # every column starts where its header does, whatever the step name's length
    for word in ("status", "tasks"):
        at = header.index(word)
        assert slow[at - 1] == " " and slow[at] != " ", (word, header, slow)
        assert each[at - 1] == " " and each[at] != " ", (word, header, each)
    artifacts = lines[lines.index("  artifacts:") + 1 :]
    head = artifacts[0]
    for row in artifacts[1:]:
        for word in ("name", "type", "value"):
            at = head.index(word)
            assert row[at - 1] == " " and row[at] != " ", (word, head, row)


def test_runs_says_which_steps_caught_a_failure(ran):
    cli, _, _, _ = ran
    listed = cli("runs").stdout.splitlines()
    assert listed[0].split()[:4] == ["run", "status", "started", "duration"]
    assert "⚠ caught failures in a_step_with_a_rather_long_name, each" in listed[1]
    assert listed[1].index("done") == listed[0].index("status")


def test_the_notebook_view_marks_caught_steps(ran):
    _, _, root, path = ran
    view = RunState(open_store(root))
    run_flow(load_flow(path), {}, root=root, observer=view)
    text = view.text()
    slow = next(ln for ln in text.splitlines() if "a_step_with_a_rather_long_name" in ln)
    assert slow.lstrip().startswith("⚠") and "caught" in slow
    assert "timed out after 1s; outputs None" in slow
    each = next(ln for ln in text.splitlines() if " each " in ln)
    assert each.lstrip().startswith("⚠") and "1 of 3 caught" in each
    assert view.steps["end"].status == "done"
    assert "jp-Flow-step-caught" in view.table_html()
    assert "timed out after 1s" in view.table_html()
    assert any("⚠ caught: ValueError: two is bad" in ln for ln in view.steps["each"].tail)


def test_the_run_summary_reports_caught_steps_with_their_error(ran):
    """``Run.summary()`` is what the Lab's run view and the server show."""
    from jupyter_flow.client import latest_run

    _, _, root, _ = ran
    summary = latest_run("Caught", root=root).summary()
    assert summary["status"] == "done"
    assert summary["caught_steps"] == ["a_step_with_a_rather_long_name", "each"]
    steps = {s["name"]: s for s in summary["steps"]}
    slow = steps["a_step_with_a_rather_long_name"]
    assert slow["status"] == "caught" and slow["tasks_caught"] == 1
    assert slow["caught_note"] == "timed out after 1s; outputs None"
    assert slow["caught"][0]["kind"] == "timeout"
    each = steps["each"]
    assert each["status"] == "caught" and (each["tasks_caught"], each["tasks_done"]) == (1, 3)
    (item,) = each["caught"]
    assert item["index"] == 1 and item["message"] == "ValueError: two is bad"
    assert item["type"] == "ValueError" and item["cell"] is None  # a module, not a notebook
    assert "caught_flow.py" in item["where"]
    assert steps["start"]["status"] == "done" and steps["start"]["caught"] == []
    assert steps["end"]["caught_note"] == ""


def test_a_run_shown_in_a_notebook_marks_caught_steps(ran):
    from jupyter_flow.client import latest_run

    _, _, root, _ = ran
    shown = latest_run("Caught", root=root)._repr_html_()
    assert "⚠ caught" in shown and "timed out after 1s; outputs None" in shown
    assert "✓ done" in shown
