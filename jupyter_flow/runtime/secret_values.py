"""A task's secret parameter values: read from its environment, kept out of what it stores.

The ``_parameters`` task stores a ``Secret`` reference; the task that reads it gets the
value from its own environment here. The values it saw are then masked in its logs and
error, and an output that holds one is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..errors import ArtifactError, StepLocation
from ..flow.secret_params import Secret, mask_text, masked_values
from ..store.records import ErrorInfo

_MAX_VISITED = 10_000  # how much of an output is searched for a secret value


def reveal(kwargs: Mapping[str, Any], location: StepLocation) -> tuple[dict[str, Any], list[bytes]]:
    """The step's arguments with secrets read from the environment, and the byte strings
    to mask in what the task leaves behind."""
    values = dict(kwargs)
    seen = []
    for name, value in kwargs.items():
        if isinstance(value, Secret):
            values[name] = value.value(name, location)
            seen.append(values[name])
    return values, list(masked_values(seen))


def refuse_leaks(outputs: Mapping[str, Any], masks: list[bytes], location: StepLocation) -> None:
    """Refuse an output that holds a secret value (as a string, or in a str inside a
    list, tuple, set or dict) before it is written to the store in plain text."""
    if not masks:
        return
    texts = [m.decode() for m in masks]
    for name, value in outputs.items():
        if holds_any(value, texts):
            raise ArtifactError(
                f"output {name!r} holds the value of a secret parameter: it would be "
                "stored in plain text",
                location=location,
                hint="return what the secret was used for (a result), not the secret or a "
                "string built from it; keep it in the step that uses it",
            )


def holds_any(value: Any, texts: list[str]) -> bool:
    """Whether ``value`` (a str, bytes, or one inside lists, tuples, sets and dicts, up to
    a bounded number of items) contains one of ``texts``."""
    stack, visited = [value], 0
    while stack and visited < _MAX_VISITED:
        item = stack.pop()
        visited += 1
        if isinstance(item, str):
            if any(t in item for t in texts):
                return True
        elif isinstance(item, bytes | bytearray):
            if any(t.encode() in item for t in texts):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return False


def masked_error(error: ErrorInfo, masks: list[bytes]) -> ErrorInfo:
    """The attempt's error with secret values masked (a message or traceback may quote
    one: a URL with a key, a failed login)."""
    if not masks:
        return error
    values = tuple(masks)
    return replace(
        error,
        message=mask_text(error.message, values),
        traceback=mask_text(error.traceback, values),
    )
