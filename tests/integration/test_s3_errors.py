"""What a user sees when the S3 store is misconfigured: one clear StoreError, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from jupyter_flow.errors import StoreError
from jupyter_flow.store.blobs import blob_path
from jupyter_flow.store.hashing import hex_part
from jupyter_flow.store.s3 import S3Blobs, S3Options
from tests.conftest import REPO
from tests.fakes.seaweed import free_ports

_CREDENTIAL_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
)


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """No credentials from this machine: no files, no instance metadata (no network)."""
    for name in _CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return monkeypatch


def store_at(url: str, endpoint: str, tmp_path, **configured) -> S3Blobs:
    env = {"JUPYTER_FLOW_S3_ENDPOINT_URL": endpoint, "JUPYTER_FLOW_BLOB_CACHE": str(tmp_path)}
    return S3Blobs(url, S3Options.load(env=env, configured=configured))


def test_missing_bucket_says_to_create_it(aws_env, moto_server, tmp_path):
    aws_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = store_at("s3://no-such-bucket/flows", moto_server.endpoint, tmp_path)
    for action in (lambda: store.put("runs/a.json", b"{}"), lambda: store.list("runs")):
        with pytest.raises(StoreError) as err:
            action()
        assert "the bucket 'no-such-bucket' does not exist" in str(err.value)
        assert "create it" in (err.value.hint or "")


def test_no_credentials_says_what_to_set(aws_env, moto_server, tmp_path):
    store = store_at("s3://any-bucket/flows", moto_server.endpoint, tmp_path)
    with pytest.raises(StoreError) as err:
        store.get("runs/a.json")
    assert "no AWS credentials found" in str(err.value)
    assert "AWS_ACCESS_KEY_ID" in (err.value.hint or "")


def test_read_only_credentials_are_told_which_permission_is_missing(aws_env, s3_server, tmp_path):
    aws_env.setenv("AWS_ACCESS_KEY_ID", s3_server.server.reader_key)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", s3_server.server.reader_secret)
    store = store_at(s3_server.fresh_url(), s3_server.endpoint, tmp_path)
    assert store.get("runs/a.json") is None  # reading is allowed
    with pytest.raises(StoreError) as err:
        store.put("runs/a.json", b"{}")
    assert "access denied" in str(err.value)
    assert "s3:PutObject" in (err.value.hint or "")


def test_a_wrong_secret_is_access_denied(aws_env, s3_server, tmp_path):
    aws_env.setenv("AWS_ACCESS_KEY_ID", s3_server.server.access_key)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    store = store_at(s3_server.fresh_url(), s3_server.endpoint, tmp_path)
    with pytest.raises(StoreError, match="access denied"):
        store.list("runs")


def test_an_unreachable_endpoint_names_the_setting(aws_env, tmp_path):
    aws_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    (port,) = free_ports(1)  # nothing listens there
    store = store_at("s3://b/p", f"http://127.0.0.1:{port}", tmp_path, max_attempts=1)
    with pytest.raises(StoreError) as err:
        store.get("runs/a.json")
    assert "cannot reach S3" in str(err.value)
    assert "JUPYTER_FLOW_S3_ENDPOINT_URL" in (err.value.hint or "")


def test_the_cli_prints_one_clear_line_for_a_missing_bucket(moto_server, tmp_path):
    flow = tmp_path / "tiny_flow.py"
    flow.write_text(
        textwrap.dedent(
            """
            from jupyter_flow import Flow
            flow = Flow("Tiny")

            @flow.step
            def only():
                pass
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_VARS}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        JUPYTER_FLOW_S3_ENDPOINT_URL=moto_server.endpoint,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_flow", "run", str(flow), "--root", "s3://gone/x"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "the bucket 'gone' does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_multipart_blob_round_trips_through_moto_too(aws_env, moto_server, tmp_path):
    """Our own multipart upload on a second S3 implementation: parts complete into one
    object that S3 keeps a CRC32 checksum for (the upload is created with the algorithm)."""
    import boto3
    import numpy as np

    from jupyter_flow.store import artifacts

    aws_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="multipart")
    store = store_at("s3://multipart/flows", moto_server.endpoint, tmp_path, part_size_mb=5)
    value = np.random.default_rng(3).random(2_000_000)  # 16 MB, incompressible: four parts
    parts = []
    store._client.meta.events.register(
        "before-parameter-build.s3.UploadPart", lambda params, **_: parts.append(params)
    )

    art = artifacts.save(store, "value", value)
    (tmp_path / hex_part(art.key)[:2] / art.key).unlink(missing_ok=True)  # really download it

    np.testing.assert_array_equal(artifacts.load(store, art), value)
    head = client.head_object(
        Bucket="multipart", Key=f"flows/{blob_path(art.key)}", ChecksumMode="ENABLED"
    )
    assert len(parts) == 4 and head["ContentLength"] >= value.nbytes
    assert "ChecksumCRC32" in head
