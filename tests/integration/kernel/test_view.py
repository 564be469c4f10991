"""The run view fed by a real run (local executor, in-process driver, no kernel): bounded
updates for a big foreach, retries shown as such, displays recorded by the task."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.errors import RunFailed
from jupyter_flow.kernel.widgets import RunView
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.store import open_store


def view_for(root: str, **options: Any) -> tuple[RunView, list[dict[str, Any]]]:
    published: list[dict[str, Any]] = []
    view = RunView(
        open_store(root), publish=lambda bundle, _id: published.append(bundle), **options
    )
    return view, published


def test_a_big_foreach_costs_a_bounded_number_of_updates(
    write_flow: Callable[..., Path], root: str
) -> None:
    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("Wide", parameters={"n": 300})

        @flow.step(outputs="xs")
        def make(n):
            return list(range(n))

        @flow.step(foreach="x in xs", outputs="y")
        def each(x):
            print("item", x)
            return x + 1
        """
    )
    view, published = view_for(root)
    run_flow(load_flow(path), root=root, max_workers=2, observer=view)
    each = view.steps["each"]
    assert (each.status, each.done, each.total) == ("done", 300, 300)
    # coalesced: at most ~4 widget + 0.5 text updates a second, not one per task event
    assert view.messages <= view.elapsed() * 4.5 + 10
    assert view.messages < 300
    final = published[-1]["text/plain"]
    assert ": done" in final and "each done 300/300" in " ".join(final.split())
    assert len(each.tail) <= 40 and "item 299" in "\n".join(each.tail)  # a bounded tail
    titles = view.details.titles
    assert titles == ("✓ make — done", "✓ each — done 300/300")


def test_a_worker_imports_ipython_only_for_a_step_that_displays(
    write_flow: Callable[..., Path], root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kernel's driver has threads, so its workers are new interpreters, not forks of a
    # process that has IPython loaded already: that is the case this is about.
    monkeypatch.setenv("JUPYTER_FLOW_WORKER_START", "spawn")
    path = write_flow(
        """
        import sys
        from jupyter_flow import Flow
        flow = Flow("Lazy")

        @flow.step(outputs="before")
        def plain():
            return "IPython" in sys.modules  # importing it costs a fresh worker ~0.1 s

        @flow.step(outputs="after")
        def shows(before):
            from IPython.display import display

            display({"a": 1}, raw=False)
            return "IPython" in sys.modules
        """
    )
    view, _ = view_for(root)
    run = run_flow(load_flow(path), root=root, max_workers=1, observer=view)

    assert run.data.before is False and run.data.after is True
    assert [b["data"]["text/plain"] for b in view.steps["shows"].displays] == ["{'a': 1}"]


def test_a_display_shows_while_its_step_is_still_running(
    write_flow: Callable[..., Path], root: str, tmp_path: Path
) -> None:
    seen = tmp_path / "seen"
    path = write_flow(
        f"""
        import time
        from pathlib import Path
        from jupyter_flow import Flow
        flow = Flow("Live")

        @flow.step(outputs="done")
        def slow():
            from IPython.display import HTML, display

            display(HTML("<i>halfway</i>"))
            deadline = time.monotonic() + 30
            while not Path({str(seen)!r}).exists() and time.monotonic() < deadline:
                time.sleep(0.05)  # until the view has shown the display
            return Path({str(seen)!r}).exists()
        """
    )

    class Watching(RunView):
        def poll(self) -> None:
            super().poll()
            state = self.steps.get("slow")
            if state is not None and state.status == "running" and state.displays:
                seen.touch()

    view = Watching(open_store(root), publish=lambda bundle, _id: None)
    run = run_flow(load_flow(path), root=root, observer=view)

    assert run.data.done is True  # the step saw the view show its display before it ended
    assert [b["data"]["text/html"] for b in view.steps["slow"].displays] == ["<i>halfway</i>"]


def test_retries_and_the_traceback_show_as_text_where_there_are_no_widgets(
    write_flow: Callable[..., Path], root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_FLOW_RETRY_BACKOFF", "0.01")
    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("Flaky")

        @flow.step(retries=1, outputs="v")
        def flaky():
            raise ValueError("broken input")
        """
    )
    view, published = view_for(root, use_widgets=False)  # e.g. ipywidgets not installed
    with pytest.raises(RunFailed):
        run_flow(load_flow(path), root=root, observer=view)
    step = view.steps["flaky"]
    assert step.status == "failed"
    # a hand-written flow: the module's line, with the exception
    assert "attempt 1 failed (flow_0.py, line 7: 'raise ValueError(\"broken input\")'): " + (
        "ValueError: broken input"
    ) in "\n".join(step.tail)
    assert 'raise ValueError("broken input")' in step.error
    text = published[-1]["text/plain"]
    assert "✗ flaky" in text and "resume with: %flow run --resume" in text
    assert "ValueError: broken input" in text
    assert list(published[-1]) == ["text/plain", "text/html"]


def test_what_a_task_displays_is_recorded_and_shown_under_its_step(
    write_flow: Callable[..., Path], root: str
) -> None:
    path = write_flow(
        """
        from jupyter_flow import Flow
        flow = Flow("Shows")

        @flow.step(outputs="df")
        def table():
            import matplotlib.pyplot as plt
            import pandas as pd
            from IPython.display import HTML, display

            df = pd.DataFrame({"a": [1, 2]})
            display(df)
            display(HTML("<b>bold</b>"))
            plt.plot([1, 2, 3])
            return df
        """
    )
    view, published = view_for(root)
    run_flow(load_flow(path), root=root, observer=view)
    shown = view.steps["table"].displays
    assert [sorted(b["data"]) for b in shown] == [
        ["text/html", "text/plain"],
        ["text/html", "text/plain"],
        ["image/png", "text/plain"],
    ]
    assert "<table" in shown[0]["data"]["text/html"]
    assert shown[1]["data"]["text/html"] == "<b>bold</b>"
    assert view._panels["table"].outputs.outputs[2]["data"]["image/png"].startswith("iVBOR")
    assert "data:image/png;base64," in published[-1]["text/html"]
