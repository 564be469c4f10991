"""A pod that cannot install what the run needs (no PyPI) fails with the launcher's words,
not "exit code 78": on the fake Kubernetes against SeaweedFS. Each Job carries a presigned
PUT of its attempt's record, for a pod that has no boto3 to write it with."""

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
from tests.fakes.backends import kube_settings
from tests.fakes.k8s_api import FakeKubeAPI

if TYPE_CHECKING:
    from tests.integration.conftest import S3Server

FLOW = """
from jupyter_flow import Flow

flow = Flow("Unready")


@flow.step(outputs=("x",))
def work():
    return 1
"""


def test_a_pod_without_pypi_fails_with_what_is_missing_and_what_to_do(
    kube: FakeKubeAPI,
    s3_env: S3Server,
    write_flow: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the fake's pods have boto3, so the run asks for a package no image has
    monkeypatch.setenv(launcher.REQUIRES_ENV, "jf-absent-package==1.0")
    (tmp_path / "no-wheels").mkdir()
    plain = {**s3_env.env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "no-wheels")}
    plain["JUPYTER_FLOW_CACHE"] = str(tmp_path / "cache")
    root = s3_env.fresh_url()
    settings = kube_settings(kube, root, env=plain)
    with pytest.raises(RunFailed) as caught:
        run_flow(load_flow(write_flow(FLOW)), settings=settings)

    message = str(caught.value)
    assert "install what the run needs: this image has no jf_absent_package" in message
    assert "`pip install jf-absent-package==1.0` failed" in message
    assert "exited with code 78" not in message  # the record's words, not the exit code

    # the last Job's presigned URL writes exactly its attempt's record, with no credentials
    (job,) = kube.cluster.jobs.values()
    env = {
        e["name"]: e.get("value", "")
        for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    where = launcher.attempt_of(None, env)
    assert where is not None
    launcher.put_signed(env[launcher.FAILURE_URL_ENV], b'{"written": "by the pod"}')
    path = "runs/{flow}/{run_id}/{step}/{index}/attempt-{attempt}.json".format(**where)
    assert open_store(root).get(path) == b'{"written": "by the pod"}'
