"""Servers for integration tests: a real S3 (SeaweedFS) and moto for S3 error paths.

Both bind 127.0.0.1 on ephemeral ports, are session-scoped (started once per xdist
worker) and are stopped by their finalizers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fakes.seaweed import SeaweedS3

BUCKET = "jupyter-flow-test"


@dataclass(frozen=True)
class S3Server:
    """What a test needs to use the S3 server.

    ``url`` is an ``s3://bucket/prefix`` store root (the bucket exists; the prefix is unique
    to this session and worker), ``endpoint`` the HTTP endpoint, ``env`` the variables a
    subprocess needs (credentials, region, ``JUPYTER_FLOW_S3_ENDPOINT_URL``).
    """

    url: str
    endpoint: str
    env: dict[str, str]
    bucket: str
    server: SeaweedS3 = field(repr=False)

    def client(self) -> Any:
        """A boto3 S3 client signed with the server's credentials."""
        return self.server.client()

    def fresh_url(self) -> str:
        """Another, empty store root in the same bucket."""
        return f"s3://{self.bucket}/{secrets.token_hex(6)}"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
    server.start()
    try:
        server.create_bucket(BUCKET)
        yield S3Server(
            url=f"s3://{BUCKET}/{secrets.token_hex(6)}",
            endpoint=server.endpoint,
            env=server.env,
            bucket=BUCKET,
            server=server,
        )
    finally:
        server.stop()


@pytest.fixture
def s3_env(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> S3Server:
    """The S3 server's credentials and endpoint in this process's environment, so code that
    opens ``s3://`` roots through the standard chain (``open_store``, ``Run``) reaches it.
    Downloaded blobs are cached in a temporary folder, not the user's cache."""
    monkeypatch.setenv("JUPYTER_FLOW_BLOB_CACHE", str(tmp_path_factory.mktemp("blob-cache")))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server


@dataclass(frozen=True)
class MotoServer:
    endpoint: str


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's S3 (and other AWS APIs) in a thread on 127.0.0.1, for error paths."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield MotoServer(endpoint=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def read_only_server(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """Server tests: a deployment where users may read but not write or execute."""
    from tests.integration.server_auth import ReadOnlyAuthorizer

    jp_server_config["ServerApp"]["authorizer_class"] = ReadOnlyAuthorizer
    return jp_server_config
