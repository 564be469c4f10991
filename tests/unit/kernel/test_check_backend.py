"""%flow run asks the chosen backend what it can do before anything starts: one that
cannot run here is refused with what to install; a GPU step on one that gives no GPU is
said, not silently run as if it had one."""

from __future__ import annotations

from typing import ClassVar

import pytest

from jupyter_flow import Flow, plugins
from jupyter_flow.errors import ConfigError
from jupyter_flow.kernel.session import check_backend
from jupyter_flow.runtime.executors.base import Requirement
from jupyter_flow.runtime.executors.local import LocalExecutor


class NeedsMissingSDK(LocalExecutor):
    requires: ClassVar[tuple[Requirement, ...]] = (
        Requirement("no_such_sdk_for_jupyter_flow", "slurm", "jupyter-flow-slurm"),
    )


def _flow(gpu: int) -> Flow:
    flow = Flow("GpuFlow")

    @flow.step(outputs="x", gpu=gpu)
    def train() -> int:
        return 1

    return flow


def test_a_backend_whose_sdk_is_missing_is_refused_with_what_to_install(monkeypatch):
    table = {**plugins.BUILTIN["executor"], "slurm": f"{__name__}:NeedsMissingSDK"}
    monkeypatch.setitem(plugins.BUILTIN, "executor", table)
    plugins.table.cache_clear()
    try:
        with pytest.raises(ConfigError) as info:
            check_backend(_flow(0), "slurm")
    finally:
        plugins.table.cache_clear()
    assert "the slurm backend cannot run here" in info.value.headline
    assert "no_such_sdk_for_jupyter_flow" in info.value.headline
    assert info.value.hint == "pip install 'jupyter-flow-slurm[slurm]'"


def test_a_gpu_step_on_a_backend_without_gpus_is_said(capsys):
    check_backend(_flow(1), "local")
    said = capsys.readouterr().err
    assert "step 'train' asks for 1 GPU; the local backend does not give it one" in said
    check_backend(_flow(0), "local")
    assert capsys.readouterr().err == ""
