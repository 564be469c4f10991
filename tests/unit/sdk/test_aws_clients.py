"""boto3 clients made in one place: a profile that does not exist is a setting to fix, for
the store, the Batch executor and the schedule's clients alike (not a botocore traceback)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jupyter_flow.errors import FlowError
from jupyter_flow.store.s3 import S3Blobs, S3Options


@pytest.fixture
def no_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[profile flows]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_a_store_profile_that_does_not_exist_is_named(no_profiles: None) -> None:
    with pytest.raises(FlowError, match="AWS profile 'flowz' does not exist") as caught:
        S3Blobs("s3://bucket/prefix", S3Options(profile="flowz"))
    assert "flows" in (caught.value.hint or "")  # the profiles that do exist


def test_the_profile_gives_the_store_its_region(no_profiles: None) -> None:
    store = S3Blobs("s3://bucket/prefix", S3Options(profile="flows"))
    assert store._client.meta.region_name == "eu-west-1"


def test_without_boto3_every_aws_caller_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jupyter_flow.errors import MissingExtraError
    from jupyter_flow.runtime.executors.batch_client import BatchClient
    from jupyter_flow.runtime.executors.batch_job import BatchOptions

    monkeypatch.setitem(sys.modules, "boto3", None)  # as if it were not installed
    for make in (
        lambda: S3Blobs("s3://bucket/prefix", S3Options()),
        lambda: BatchClient(BatchOptions(queue="flows", region="us-east-1")),
    ):
        with pytest.raises(MissingExtraError) as caught:
            make()
        assert caught.value.hint == "pip install 'jupyter-flow[aws]'"
