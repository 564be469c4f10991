"""``@flow.prelude``: one zero-argument function per flow (issue 11, class 1)."""

from __future__ import annotations

import pytest

from jupyter_flow import Flow
from jupyter_flow.errors import FlowDefinitionError, StepLocation
from jupyter_flow.runtime.task import PreludeFailed, run_prelude


def test_the_prelude_is_registered_and_stays_a_plain_function():
    flow = Flow("P", module_file=__file__)
    calls = []

    @flow.prelude
    def prelude():
        calls.append(1)

    assert flow.prelude_function is prelude
    prelude()
    assert calls == [1]


def test_a_second_prelude_is_refused_naming_both():
    flow = Flow("P", module_file=__file__)

    @flow.prelude
    def first():
        pass

    with pytest.raises(FlowDefinitionError) as err:

        @flow.prelude
        def second():
            pass

    assert "'first'" in str(err.value) and "'second'" in str(err.value)
    assert flow.prelude_function is first


def test_a_prelude_with_arguments_is_refused():
    flow = Flow("P", module_file=__file__)
    with pytest.raises(FlowDefinitionError, match="takes arguments \\(seed\\)"):

        @flow.prelude
        def prelude(seed):
            pass


def test_a_flow_without_a_prelude_has_none():
    assert Flow("P", module_file=__file__).prelude_function is None


def test_sys_exit_in_the_prelude_fails_the_task_not_the_worker():
    flow = Flow("P", module_file=__file__)

    @flow.prelude
    def prelude():
        raise SystemExit(3)

    with pytest.raises(PreludeFailed) as err:
        run_prelude(flow, StepLocation("train"))
    assert str(err.value).startswith("step 'train': the flow's prelude failed: SystemExit: 3")
    info = err.value.info(__file__)
    assert info.type == "SystemExit" and info.message == "the flow's prelude failed: SystemExit: 3"
    assert "raise SystemExit(3)" in info.traceback
