"""S3 store pieces that need no server: settings, URLs, the chunk reader, error wording."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from jupyter_flow.errors import ConfigError, StoreError
from jupyter_flow.store.hashing import matches
from jupyter_flow.store.s3 import MB, ChunkReader, S3Blobs, S3Options, parse_url


def test_urls_name_a_bucket_and_an_optional_prefix():
    assert parse_url("s3://bucket") == ("bucket", "")
    assert parse_url("s3://bucket/a/b/") == ("bucket", "a/b")
    with pytest.raises(StoreError, match="names no bucket"):
        parse_url("s3:///prefix")


def test_environment_beats_the_config_file_which_beats_defaults():
    configured = {"endpoint_url": "http://file:9000", "concurrency": 4, "region": "eu-west-1"}
    env = {"JUPYTER_FLOW_S3_ENDPOINT_URL": "http://env:9000", "JUPYTER_FLOW_S3_CONCURRENCY": "32"}
    options = S3Options.load(env=env, configured=configured)
    assert (options.endpoint_url, options.concurrency, options.region) == (
        "http://env:9000",
        32,
        "eu-west-1",
    )
    assert S3Options.load(env={}, configured={}).part_size_mb == S3Options().part_size_mb
    aws = S3Options.load(env={"AWS_ENDPOINT_URL_S3": "http://aws:1"}, configured={})
    assert aws.endpoint_url == "http://aws:1"


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        ({"endpoint": "x"}, "unknown s3 setting 'endpoint'"),
        ({"concurrency": "many"}, "bad s3 setting"),
        ({"retry_mode": "eager"}, "unknown s3 retry_mode"),
    ],
)
def test_bad_settings_are_config_errors(configured, message):
    with pytest.raises(ConfigError, match=message):
        S3Options.load(env={}, configured=configured)


def test_the_blob_cache_folder_can_be_moved(tmp_path):
    options = S3Options.load(env={"JUPYTER_FLOW_BLOB_CACHE": str(tmp_path)}, configured={})
    assert options.blob_cache() == tmp_path
    options = S3Options.load(env={"JUPYTER_FLOW_CACHE": str(tmp_path)}, configured={})
    assert options.blob_cache() == tmp_path / "blobs"  # with the other caches


def test_chunk_reader_reads_across_chunks_without_joining_them_first():
    chunks = [memoryview(b"abc"), b"", memoryview(b"defgh"), b"ij"]
    reader = ChunkReader(chunks)
    assert reader.size == 10
    assert matches(reader.key(), b"abcdefghij")
    assert reader.read(2) == b"ab" and reader.read(4) == b"cdef"
    assert reader.seek(-3, 2) == 7 and reader.read() == b"hij" and reader.read(5) == b""
    reader.seek(1)
    buffer = bytearray(4)
    assert reader.readinto(buffer) == 4 and bytes(buffer) == b"bcde"


def test_huge_blobs_get_bigger_parts_to_stay_under_the_part_limit(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    store = S3Blobs("s3://b/p", S3Options(region="us-east-1"))
    assert store._part_size(100 * MB) == store.options.part_size_mb * MB
    assert 1_000_000 * MB / store._part_size(1_000_000 * MB) <= 9_000


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    store = S3Blobs("s3://data-eu/flows", S3Options(region="us-east-1"))
    with Stubber(store._client) as stub:
        yield store, stub


def test_a_bucket_in_another_region_says_which_region_to_set(stubbed):
    store, stub = stubbed
    stub.add_client_error(
        "get_object",
        service_error_code="PermanentRedirect",
        service_message="The bucket you are attempting to access must be addressed using "
        "the specified endpoint.",
        http_status_code=301,
        response_meta={"HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"}},
    )
    with pytest.raises(StoreError) as err:
        store.get("runs/F/1/run.json")
    assert "the bucket 'data-eu' is in region 'eu-west-1'" in str(err.value)
    assert "AWS_DEFAULT_REGION=eu-west-1" in (err.value.hint or "")


def test_a_wrong_signing_region_is_reported_as_a_region_problem(stubbed):
    store, stub = stubbed
    stub.add_client_error(
        "put_object",
        service_error_code="AuthorizationHeaderMalformed",
        service_message="the region 'us-east-1' is wrong; expecting 'ap-south-1'",
        http_status_code=400,
    )
    with pytest.raises(StoreError) as err:
        store.put("runs/a.json", b"{}")
    assert "expecting 'ap-south-1'" in str(err.value) and "AWS_DEFAULT_REGION" in err.value.hint


def test_throttling_that_outlasts_the_retries_says_so(stubbed):
    store, stub = stubbed
    stub.add_client_error("list_objects_v2", service_error_code="SlowDown", http_status_code=503)
    with pytest.raises(StoreError) as err:
        store.list("runs")
    assert "throttling" in (err.value.hint or "")
    assert "JUPYTER_FLOW_S3_MAX_ATTEMPTS" in (err.value.hint or "")


def test_retries_use_the_configured_mode_and_attempts(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    options = S3Options(region="us-east-1", retry_mode="adaptive", max_attempts=5)
    config = S3Blobs("s3://b", options)._client.meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 5}
