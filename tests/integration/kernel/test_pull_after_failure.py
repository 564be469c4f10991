"""After a failed run, values are never partial or silently replaced (issue 14, item 3):
``%flow pull`` binds from the latest successful run and says which run it used and that a
newer one failed; a failed foreach's output is an error naming the missing items, in the
kernel and through the client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.client import Run, latest_run, latest_successful_run
from jupyter_flow.errors import RunNotFound
from jupyter_flow.runtime.loader import load_flow

from .conftest import LOAD, text_of

STEPS = [
    LOAD,
    "%%params\nn = 6\nbad = -1",
    "%%step load\nxs = list(range(n))",
    "%%step square --foreach x in xs\n"
    "if x == bad:\n"
    "    raise ValueError(f'item {x} is bad')\n"
    "y = x * x",
    "%%step total\ntotal = sum(y)",
]


def test_pull_after_a_failed_run_binds_the_last_good_one_and_says_so(
    save_notebook: Callable[[list[str]], Path], execute: Callable[..., Any]
) -> None:
    save_notebook(STEPS)
    nb = execute(
        [
            LOAD,
            "%flow run --max-workers 1",
            "try:\n    %flow run --param bad=3 --max-workers 1\nexcept Exception as e:\n"
            "    print('failed as expected')",
            "y, total = 'mine', 'mine'\n%flow pull\nprint(repr((y, total)))",
            "from jupyter_flow.client import latest_run\nfailed = latest_run('NbFlow').id\n"
            "y = 'mine'\n%flow pull {failed}\nprint(repr(y))",
            "try:\n    %flow pull {failed} y\nexcept Exception as e:\n    print('refused:', e)",
        ],
        allow_errors=True,
    )
    _first, failed, pull, pull_failed, pull_named = nb.cells[1:]
    assert "failed as expected" in text_of(failed)
    text = text_of(pull)
    assert "([0, 1, 4, 9, 16, 25], 55)" in text
    assert "(done) (the newest run," in text and "is failed" in text
    # the failed run: the partial foreach output is not bound over the user's variable
    assert "'mine'" in text_of(pull_failed) and "not computed in this run: " in text_of(pull_failed)
    assert "refused:" in text_of(pull_named) and "items 3, 4, 5 did not finish" in text_of(
        pull_named
    )


FLOW = """
from jupyter_flow import Flow
flow = Flow("Partial", parameters={"bad": -1})

@flow.step(outputs="xs")
def load():
    return list(range(6))

@flow.step(foreach="x in xs", outputs="y")
def square(x, bad):
    if x == bad:
        raise ValueError(f"item {x} is bad")
    return x * x
"""


def test_a_failed_foreach_output_names_its_missing_items(write_flow, root):
    flow = load_flow(write_flow(FLOW))
    good = flow.run(root=root)
    with pytest.raises(Exception):  # noqa: B017 - RunFailed, whatever its wording
        flow.run(root=root, params={"bad": 3}, max_workers=1)
    failed = latest_run("Partial", root=root)
    assert failed.status == "failed" and failed.id != good.id
    with pytest.raises(RunNotFound, match=r"has 3 of 6 items .*items 3, 4, 5 did not finish"):
        _ = Run(failed.pathspec, root=root).data.y
    assert latest_successful_run("Partial", root=root).data.y == [0, 1, 4, 9, 16, 25]
