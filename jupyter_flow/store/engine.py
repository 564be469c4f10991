"""The ``Engine``: one store, its records and its run index, opened for one settings object.

It lives beside the store (not in ``runtime``) so that reading runs back (``client``) needs
nothing of the driver. The index (SQLite) is opened and synced on first use: a local run
never touches it (it is a cache of the records, and the next reader catches up), which
keeps ``sqlite3`` off a short run's start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import open_store
from .records import Records

if TYPE_CHECKING:
    from ..config import Settings
    from .blobs import BlobStore
    from .index import RunIndex


class Engine:
    """The store, its records and index for one settings object."""

    __slots__ = ("_index", "records", "settings", "store")

    def __init__(
        self,
        settings: Settings,
        store: BlobStore,
        records: Records,
        index: RunIndex | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.records = records
        self._index = index

    @classmethod
    def open(cls, settings: Settings) -> Engine:
        """Open the store; its index is opened (and brought up to date) when first used."""
        store = open_store(settings.root)
        return cls(settings, store, Records(store))

    @property
    def index(self) -> RunIndex:
        """The run index, brought up to date on first use: rebuilt when missing, of an older
        schema or corrupt; for a local root, only flows with new runs (and runs it last saw
        running) are re-read."""
        if self._index is None:
            from .index import RunIndex, index_path

            local = self.store.local_path("index.sqlite")
            root = local.parent if local else None
            index = RunIndex(
                index_path(self.store.url, root),
                runs_dir=root / "runs" if root is not None else None,
                store=self.store.url,
            )
            index.sync(self.records)
            self._index = index
        return self._index

    @property
    def index_is_local(self) -> bool:
        """Whether the index catches up on its own with runs recorded behind its back (a
        local root); a remote store's index must be told of each run."""
        return self.store.local_path("index.sqlite") is not None
