"""Values <-> artifacts: encode, store (inline when tiny), load lazily and zero-copy."""

from __future__ import annotations

import base64
import pickle
from dataclasses import replace
from typing import Any

from ..errors import ArtifactError, Location
from . import serialize
from .blobs import BlobStore
from .records import Artifact

INLINE_MAX = 1024  # encoded bytes kept in the task record itself


def save(store: BlobStore, name: str, value: Any, *, location: Location | None = None) -> Artifact:
    try:
        encoded = serialize.encode(value)
    except (pickle.PicklingError, TypeError, AttributeError, ValueError) as err:
        raise ArtifactError(
            f"output {name!r} of type {serialize.type_name(value)} cannot be saved ({err})",
            location=location,
            hint=serialize.unpicklable_hint(value, err),
        ) from None
    meta = Artifact(
        name=name,
        type=serialize.type_name(value),
        size=encoded.size,
        summary=serialize.summarize(value),
        length=serialize.length_of(value),
    )
    if encoded.size <= INLINE_MAX:
        return replace(meta, inline=base64.b64encode(encoded.to_bytes()).decode())
    return replace(meta, key=store.put_blob(encoded.chunks))


def load(store: BlobStore, artifact: Artifact) -> Any:
    if artifact.inline is not None:
        return serialize.decode(base64.b64decode(artifact.inline))
    if artifact.key is None:
        raise ArtifactError(f"artifact {artifact.name!r} has neither a blob nor inline data")
    return serialize.decode(store.open_blob(artifact.key))
