"""Artifacts and records: content-addressed blobs, pickle-5 encoding, run records."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .blobs import BlobStore


def open_store(url: str) -> BlobStore:
    """The blob store for a root: ``s3://bucket/prefix`` or a local directory."""
    from .. import plugins

    scheme = url.split("://", 1)[0] if "://" in url else "file"
    if scheme == "file" and url.startswith("file://"):
        url = url[len("file://") :]
    cls = plugins.load("store", scheme)
    store: BlobStore = cls(url)
    return store
