"""Every Job the Kubernetes executor hands to its submit threads is reported back: an
unexpected error there fails the task by name (as on Batch, ``batch/test_submit_threads``)
instead of leaving the run waiting forever for a Job that was never created."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.executors import kubernetes as kube_executor
from jupyter_flow.runtime.loader import load_flow
from tests.fakes.backends import kube_settings
from tests.fakes.k8s_api import FakeKubeAPI
from tests.integration.batch.test_submit_threads import WIDE, _watched


def test_an_unexpected_error_creating_a_job_fails_the_task_by_name(
    kube: FakeKubeAPI,
    root: str,
    write_flow: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = kube_executor._signed

    def flaky(manifest: dict[str, Any], store: Any, spec: Any) -> dict[str, Any]:
        if spec.step == "square" and spec.index == 3:
            raise RuntimeError("the signer fell over")
        return real(manifest, store, spec)

    monkeypatch.setattr(kube_executor, "_signed", flaky)
    path = write_flow(WIDE.replace('"Wide"', '"WideKube"'))
    started = time.monotonic()
    with pytest.raises(RunFailed) as caught:
        _watched(lambda: run_flow(load_flow(path), settings=kube_settings(kube, root)), 90)
    text = str(caught.value)
    assert (
        "/square/3/" in text
        and "could not be submitted: RuntimeError: the signer fell over" in text
    )
    assert time.monotonic() - started < 60
