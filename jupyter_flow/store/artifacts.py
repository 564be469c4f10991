"""Values <-> artifacts: encode, store (inline when tiny), load lazily and zero-copy.

A task's outputs that share objects (``sharing.py``) are saved as one group: one blob
holding ``{name: value}`` pickled with one memo, each member's record naming the group.
Loading a member decodes its group once per ``Groups`` cache, so members loaded with the
same cache are the same objects they were in the task (``data[0] is train_df``). A caller
scopes one cache to what the kernel would have seen as one namespace: a task's inputs, or
a run read back through the client. Unshared outputs are saved one per blob, as ever.

A list or tuple that a later foreach iterates is saved item by item (``split``): each item
an artifact of its own (inline when tiny), listed in a small manifest blob, so each of N
foreach tasks loads one item instead of the whole list (which made a foreach quadratic).
Loading the whole list reads every item back. A list whose items share objects is saved
whole, or loading it whole would give copies where the kernel had one object.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from ..errors import ArtifactError, Location
from . import itemlists, serialize, sharing
from .blobs import BlobStore
from .records import Artifact

INLINE_MAX = 1024  # encoded bytes kept in the task record itself

Groups = dict[str, dict[str, Any]]  # group_id -> the decoded {name: value} of that group


def save(store: BlobStore, name: str, value: Any, *, location: Location | None = None) -> Artifact:
    encoded = _encode(name, value, location)
    meta = _meta(name, value, encoded.size)
    if encoded.size <= INLINE_MAX:
        return replace(meta, inline=base64.b64encode(encoded.to_bytes()).decode())
    return replace(meta, key=store.put_blob(encoded.chunks))


def save_outputs(
    store: BlobStore,
    values: Mapping[str, Any],
    *,
    task: str,
    location: Location | None = None,
    split: Collection[str] = (),
) -> tuple[Artifact, ...]:
    """Save a task's outputs, those that share objects together, those named in ``split``
    item by item. ``task`` (the attempt's id) makes each group's id unique across tasks:
    two tasks never share a loaded object."""
    saved: dict[str, Artifact] = {}
    for number, names in enumerate(sharing.shared_groups(values)):
        members = {name: values[name] for name in names}
        encoded = _encode_group(members, location)
        key = store.put_blob(encoded.chunks)
        for name in names:
            meta = _meta(name, values[name], encoded.size)
            saved[name] = replace(meta, group=key, group_id=f"{task}#{number}")
    for name, value in values.items():
        if name in saved:
            continue
        if name in split and _splittable(value):
            saved[name] = _save_items(store, name, value, location)
        else:
            saved[name] = save(store, name, value, location=location)
    return tuple(saved[name] for name in values)


def _splittable(value: Any) -> bool:
    if type(value) not in (list, tuple) or len(value) < 2:
        return False
    return not sharing.shared_groups({str(i): item for i, item in enumerate(value)})


def _save_items(
    store: BlobStore, name: str, value: list[Any] | tuple[Any, ...], location: Location | None
) -> Artifact:
    manifest, size = itemlists.save(
        store, value, lambda item: _encode(name, item, location), INLINE_MAX
    )
    return replace(_meta(name, value, size), items=manifest)


def load_item(store: BlobStore, artifact: Artifact, index: int) -> Any:
    """Item ``index`` of a list saved item by item: reads that item only."""
    return itemlists.load_item(store, artifact.items or "", index)


def blob_keys(store: BlobStore, artifact: Artifact) -> Collection[str]:
    """Every blob the artifact's value needs (its items' too); what resume checks."""
    if artifact.items is None:
        return {k for k in (artifact.key, artifact.group) if k}
    if store.missing_blobs([artifact.items]):
        return {artifact.items}
    return {artifact.items, *itemlists.blob_keys(store, artifact.items)}


def load(store: BlobStore, artifact: Artifact, groups: Groups | None = None) -> Any:
    """The artifact's value; a group member comes from ``groups`` when its group was
    decoded already (pass one dict to every load that must keep identity)."""
    if artifact.group is not None:
        gid = artifact.group_id or artifact.group
        members = groups.get(gid) if groups is not None else None
        if members is None:
            members = serialize.decode(store.open_blob(artifact.group))
            if groups is not None:
                groups[gid] = members
        return members[artifact.name]
    if artifact.items is not None:
        whole = itemlists.load_all(store, artifact.items)
        return tuple(whole) if artifact.type == "tuple" else whole
    if artifact.inline is not None:
        return serialize.decode(base64.b64decode(artifact.inline))
    if artifact.key is None:
        raise ArtifactError(f"artifact {artifact.name!r} has neither a blob nor inline data")
    return serialize.decode(store.open_blob(artifact.key))


def _meta(name: str, value: Any, size: int) -> Artifact:
    return Artifact(
        name=name,
        type=serialize.type_name(value),
        size=size,
        summary=serialize.summarize(value),
        length=serialize.length_of(value),
    )


def _encode(name: str, value: Any, location: Location | None) -> serialize.Encoded:
    try:
        return serialize.encode(value)
    except Exception as err:  # the user's __reduce__/__getstate__ may raise anything
        raise ArtifactError(
            f"output {name!r} of type {serialize.type_name(value)} cannot be saved "
            f"({serialize.safe_str(err)})",
            location=location,
            hint=serialize.unpicklable_hint(value, err),
        ) from None


def _encode_group(members: dict[str, Any], location: Location | None) -> serialize.Encoded:
    try:
        return serialize.encode(members)
    except Exception as err:
        for name, value in members.items():  # name the output that cannot be pickled
            _encode(name, value, location)
        raise ArtifactError(
            f"outputs {', '.join(members)} cannot be saved together ({serialize.safe_str(err)})",
            location=location,
            hint="return only picklable values",
        ) from None
