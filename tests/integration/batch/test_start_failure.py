"""A Batch job that cannot install what the run needs (no PyPI) fails with the launcher's
words, not "exit code 78", on the fake Batch against SeaweedFS; each job carries a
presigned PUT of its attempt's record, for a container without boto3 to write it with."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jupyter_flow.errors import RunFailed
from jupyter_flow.runtime import launcher
from jupyter_flow.runtime.api import run_flow
from jupyter_flow.runtime.loader import load_flow
from jupyter_flow.store import open_store
from tests.fakes.backends import batch_settings
from tests.fakes.batch_api import FakeBatchAPI
from tests.integration.kube.test_start_failure import FLOW

if TYPE_CHECKING:
    from tests.integration.conftest import S3Server


def test_a_job_without_pypi_fails_with_what_is_missing_and_what_to_do(
    batch: FakeBatchAPI,
    s3_env: S3Server,
    write_flow: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the fake's containers have boto3, so the run asks for a package no image has
    monkeypatch.setenv(launcher.REQUIRES_ENV, "jf-absent-package==1.0")
    (tmp_path / "no-wheels").mkdir()
    plain = {k: v for k, v in s3_env.env.items() if not k.startswith("AWS_")}
    plain |= {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "no-wheels")}
    plain["JUPYTER_FLOW_CACHE"] = str(tmp_path / "cache")
    root = s3_env.fresh_url()
    with pytest.raises(RunFailed) as caught:
        run_flow(load_flow(write_flow(FLOW)), settings=batch_settings(batch, root, env=plain))

    message = str(caught.value)
    assert "install what the run needs: this image has no jf_absent_package" in message
    assert "`pip install jf-absent-package==1.0` failed" in message
    assert "exited with code 78" not in message  # the record's words, not the exit code

    # a job's presigned URL writes exactly its attempt's record, with no credentials
    job = next(iter(batch.jobs.values()))
    env = {e["name"]: e["value"] for e in job.doc["container"]["environment"]}
    where = launcher.attempt_of(None, env)
    assert where is not None
    launcher.put_signed(env[launcher.FAILURE_URL_ENV], b'{"written": "by the job"}')
    path = "runs/{flow}/{run_id}/{step}/{index}/attempt-{attempt}.json".format(**where)
    assert open_store(root).get(path) == b'{"written": "by the job"}'
