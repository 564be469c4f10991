"""``%flow run`` in a real kernel: the live view (widget and text), then results back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import LOAD, bundle_of, descendants, text_of, widget_states

STEPS = [
    LOAD,
    "%%params\nn = 4",
    "%%step load\nxs = list(range(n))",
    "%%step square --foreach x in xs\ny = x * x\nprint('squared', y)",
    "%%step total\n"
    "from IPython.display import display\n"
    "import pandas as pd\n"
    "import matplotlib.pyplot as plt\n"
    "total = sum(y)\n"
    "display(pd.DataFrame({'y': y}))\n"
    "plt.plot(y)",
]


def test_run_shows_live_progress_and_pull_binds_the_results(
    save_notebook: Callable[[list[str]], Path], execute: Callable[..., Any]
) -> None:
    save_notebook(STEPS)
    nb = execute(
        [
            LOAD,  # the step cells need not have run here: the saved notebook is what runs
            "%flow run --param n=3",
            "%flow pull\nprint(repr((xs, y, total)))",
            "%flow pull --step square y\ndel total\n%flow pull latest total\nprint(y, total)",
            "%flow runs",
            "print(_flow_run.status, _flow_run.data.total, _flow_run.view.messages)",
        ]
    )
    run_cell, pull, pull_some, runs, handle = nb.cells[1:]

    # the text a saved notebook (nbconvert, no widget manager) ends with: the final summary
    bundle = bundle_of(run_cell)
    text = bundle["text/plain"]
    assert ": done" in text
    assert "✓ square done 3/3" in " ".join(text.split())
    assert "✓ total" in text
    # what the steps displayed travels in the static HTML: the DataFrame and the figure
    assert "<table" in bundle["text/html"] and "data:image/png;base64," in bundle["text/html"]

    # the widget, as the frontend's widget manager received it
    states = widget_states(nb)
    view = descendants(states, bundle["application/vnd.jupyter.widget-view+json"]["model_id"])
    accordion = next(s for s in view if s.get("_model_name") == "AccordionModel")
    assert accordion["titles"] == [
        "✓ load — done",
        "✓ square — done 3/3",
        "✓ total — done",
    ]
    html = " ".join(s.get("value", "") for s in view if s.get("_model_name") == "HTMLModel")
    assert "squared 4" in html  # the square step's log tail
    outputs = [s for s in view if s.get("_model_name") == "OutputModel"]
    shown = [o["data"] for s in outputs for o in s.get("outputs", [])]
    assert any("image/png" in d for d in shown) and any("text/html" in d for d in shown)

    assert "([0, 1, 2], [0, 1, 4], 5)" in text_of(pull)
    assert "bound from" in text_of(pull) and "total (int)" in text_of(pull)
    assert "[0, 1, 4] 5" in text_of(pull_some)
    assert "done" in text_of(runs) and "/" in text_of(runs)
    status, total, messages = text_of(handle).split()
    assert (status, total) == ("done", "5")
    assert int(messages) < 40  # coalesced: not one message per event
