"""A step's ``packages=`` on the fake Batch with a SeaweedFS store: resolved once by the
driver, the wheels stored in S3, installed by every job with no index (as on Kubernetes,
``tests/integration/kube/test_packages.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from tests.fakes.backends import batch_settings
from tests.fakes.batch_api import FakeBatchAPI
from tests.fakes.wheels import write_wheel
from tests.integration.kube.test_packages import FLOW

if TYPE_CHECKING:
    from tests.integration.conftest import S3Server


def test_batch_jobs_install_the_resolved_packages_from_s3_without_an_index(
    batch: FakeBatchAPI,
    s3_env: S3Server,
    write_flow: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    index, empty = tmp_path / "index", tmp_path / "empty"
    index.mkdir()
    empty.mkdir()
    write_wheel(index, "jftiny", "1.1", requires=("jfdep>=2",))
    write_wheel(index, "jfdep", "2.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    plain = {k: v for k, v in s3_env.env.items() if not k.startswith("AWS_")}
    plain |= {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty)}
    plain["JUPYTER_FLOW_CACHE"] = str(tmp_path / "cache")
    settings = batch_settings(batch, s3_env.fresh_url(), env=plain)

    result = run_flow(load_flow(write_flow(FLOW)), settings=settings)

    assert result.data.ys == [(i, "1.1", "2.0", "1.1") for i in (1, 2, 3)]
    assert capfd.readouterr().err.count("resolving the packages of step each") == 1
