"""A fake AWS Batch + CloudWatch Logs endpoint per test module, and test credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.backends import AWS_TEST_ENV
from tests.fakes.batch_api import FakeBatchAPI


@pytest.fixture(scope="module")
def batch_api() -> Iterator[FakeBatchAPI]:
    with FakeBatchAPI() as api:
        yield api


@pytest.fixture
def batch(batch_api: FakeBatchAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBatchAPI]:
    """The module's endpoint with fake credentials in the environment; hooks reset after."""
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    yield batch_api
    batch_api.faults.clear()
