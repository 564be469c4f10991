"""Lists saved item by item, for a foreach: each task reads its own item, not the list.

The list's artifact names a manifest blob: ``MAGIC | count | count x (kind, offset,
length) | data``. An item whose encoding is tiny is kept in the manifest's data (kind
INLINE); a bigger one is a blob of its own and the data holds its key (kind BLOB). Reading
item i decodes one table entry: the cost of a task does not grow with the list, and a warm
worker checks the manifest's hash once for all the tasks it runs.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ArtifactError
from . import serialize
from .blobs import BlobStore

MAGIC = b"JFL1"
INLINE, BLOB = 0, 1
_HEAD = struct.Struct("<4sI")
_ENTRY = struct.Struct("<B7xQQ")  # kind, offset, length


def save(
    store: BlobStore,
    items: Sequence[Any],
    encode: Callable[[Any], serialize.Encoded],
    inline_max: int,
) -> tuple[str, int]:
    """Store ``items`` (each encoded by ``encode``); returns the manifest key and the bytes
    stored for the items."""
    data: list[bytes] = []
    entries: list[tuple[int, int, int]] = []
    offset = _HEAD.size + _ENTRY.size * len(items)
    total = 0
    for item in items:
        encoded = encode(item)
        total += encoded.size
        if encoded.size <= inline_max:
            kind, body = INLINE, encoded.to_bytes()
        else:
            kind, body = BLOB, store.put_blob(encoded.chunks).encode()
        entries.append((kind, offset, len(body)))
        data.append(body)
        offset += len(body)
    table = b"".join(_ENTRY.pack(*entry) for entry in entries)
    return store.put_blob([_HEAD.pack(MAGIC, len(items)), table, *data]), total


def load_item(store: BlobStore, manifest: str, index: int) -> Any:
    view = _open(store, manifest)
    return _decode(store, view, _entry(view, index))


def load_all(store: BlobStore, manifest: str) -> list[Any]:
    view = _open(store, manifest)
    return [_decode(store, view, _entry(view, i)) for i in range(_count(view))]


def blob_keys(store: BlobStore, manifest: str) -> set[str]:
    """The keys of the items stored as blobs of their own."""
    view = _open(store, manifest)
    keys = set()
    for i in range(_count(view)):
        kind, offset, length = _entry(view, i)
        if kind == BLOB:
            keys.add(bytes(view[offset : offset + length]).decode())
    return keys


def _open(store: BlobStore, manifest: str) -> memoryview:
    view = memoryview(store.open_blob(manifest))
    if view.nbytes < _HEAD.size or _HEAD.unpack_from(view)[0] != MAGIC:
        raise ArtifactError(f"blob {manifest[:15]} is not a list manifest")
    return view


def _count(view: memoryview) -> int:
    count: int = _HEAD.unpack_from(view)[1]
    return count


def _entry(view: memoryview, index: int) -> tuple[int, int, int]:
    if not 0 <= index < _count(view):
        raise ArtifactError(f"the list has {_count(view)} items, not {index + 1}")
    kind, offset, length = _ENTRY.unpack_from(view, _HEAD.size + _ENTRY.size * index)
    return kind, offset, length


def _decode(store: BlobStore, view: memoryview, entry: tuple[int, int, int]) -> Any:
    kind, offset, length = entry
    body = view[offset : offset + length]
    if kind == INLINE:
        return serialize.decode(body)
    return serialize.decode(store.open_blob(bytes(body).decode()))
