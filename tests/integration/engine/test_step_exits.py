"""A step that calls sys.exit(3), raises KeyboardInterrupt or calls os._exit(3) fails with
a message saying so (issue 14, item 9: all three said only "worker exited with code 3")."""

from __future__ import annotations

import pytest

from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.loader import load_flow

FLOW = """
import os
import sys
from jupyter_flow import Flow
flow = Flow("Exits", parameters={"how": "exit"})

@flow.step(outputs="x")
def stop(how):
    if how == "exit":
        sys.exit(3)
    if how == "interrupt":
        raise KeyboardInterrupt
    print("about to leave", flush=True)
    os._exit(3)
"""


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("exit", "SystemExit: 3"),
        ("interrupt", "KeyboardInterrupt"),
        ("hard", "exited with code 3 while running the step (os._exit"),
    ],
)
def test_a_step_that_exits_says_how(write_flow, root, how, said):
    flow = load_flow(write_flow(FLOW))
    with pytest.raises(RunFailed) as caught:
        flow.run(root=root, params={"how": how})
    assert said in str(caught.value)
