"""The ``Engine``: one store, its records and its run index, opened for one settings object.

It lives beside the store (not in ``runtime``) so that reading runs back (``client``) needs
nothing of the driver.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings
from . import open_store
from .blobs import BlobStore
from .index import RunIndex, index_path
from .records import Records


@dataclass(frozen=True)
class Engine:
    """The store, its records and index for one settings object."""

    settings: Settings
    store: BlobStore
    records: Records
    index: RunIndex

    @classmethod
    def open(cls, settings: Settings) -> Engine:
        """Open the store and bring its index up to date: rebuilt when missing, of an older
        schema or corrupt; for a local root, only flows with new runs are re-read."""
        store = open_store(settings.root)
        local = store.local_path("index.sqlite")
        root = local.parent if local else None
        index = RunIndex(
            index_path(store.url, root),
            runs_dir=root / "runs" if root is not None else None,
            store=store.url,
        )
        records = Records(store)
        index.sync(records)
        return cls(settings, store, records, index)
