"""Reading a remote executor's options: ``[default.<backend>]`` settings, then environment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from ...errors import ConfigError

T = TypeVar("T")


def options_from(
    cls: type[T],
    backend: str,
    raw: Mapping[str, Any],
    env: Mapping[str, str],
    env_vars: Mapping[str, str],
    *,
    tuples: Iterable[str] = (),
    mappings: Iterable[str] = (),
    floats: Iterable[str] = (),
) -> T:
    """Build the frozen options dataclass ``cls``; an unknown key is an error listing the
    known ones, so a typo in the settings never goes unnoticed."""
    values = dict(raw)
    for key, var in env_vars.items():
        if env.get(var):
            values[key] = env[var]
    known = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"unknown {backend} option(s): {', '.join(unknown)}",
            hint=f"known options: {', '.join(sorted(known))}",
        )
    for key in tuples:
        if key in values:
            values[key] = tuple(values[key])
    for key in mappings:
        if key in values:
            values[key] = {str(k): str(v) for k, v in dict(values[key]).items()}
    for key in floats:
        if key in values:
            values[key] = float(values[key])
    return cls(**values)
