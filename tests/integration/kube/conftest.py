"""A fake Kubernetes API server per test module (127.0.0.1, port 0, stopped in the finalizer)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.k8s_api import FakeKubeAPI


@pytest.fixture(scope="module")
def kube_api() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI() as api:
        yield api


@pytest.fixture
def kube(kube_api: FakeKubeAPI) -> Iterator[FakeKubeAPI]:
    """The module's server, with test hooks reset after each test."""
    yield kube_api
    kube_api.cluster.faults.clear()
    kube_api.cluster.paused = False
    with kube_api._httpd.counter_lock:
        kube_api._httpd.failures.clear()
