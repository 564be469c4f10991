"""(Not tests.) Settings that point an executor at the fake servers, shared by the
conformance suite and the per-backend integration tests."""

from __future__ import annotations

from typing import Any

from jupyter_flow.config import Settings

from .batch_api import FakeBatchAPI
from .k8s_api import FakeKubeAPI

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def kube_settings(api: FakeKubeAPI, root: str, **options: Any) -> Settings:
    """A kubeconfig for the fake; short grace periods so stuck pods fail fast in tests."""
    opts = {
        "kubeconfig": str(api.kubeconfig),
        "image_pull_timeout": 0.3,
        "unschedulable_timeout": 0.5,
    }
    return Settings(
        root=root,
        executor="kubernetes",
        retry_backoff=0.05,
        extra={"kubernetes": {**opts, **options}},
    )


def batch_settings(api: FakeBatchAPI, root: str, **options: Any) -> Settings:
    opts = {
        "queue": "jupyter-flow-test",
        "endpoint_url": api.url,
        "region": "us-east-1",
        "poll_interval": 0.1,
    }
    return Settings(
        root=root, executor="batch", retry_backoff=0.05, extra={"batch": {**opts, **options}}
    )


def local_settings(root: str) -> Settings:
    return Settings(root=root, executor="local", max_workers=2, retry_backoff=0.05)
