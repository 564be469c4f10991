"""Parsing of resource and duration strings, shared by the decorator, the magic and the CLI."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import FlowDefinitionError, Location

_MEMORY_FORMS = "e.g. 512M, 16G, 16Gi, 1.5T or a number of MiB (4096)"
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_MIB_PER_UNIT = {"": 1.0, "B": 1 / 2**20, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0**2}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE)
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Resources:
    """What one task of a step asks for. ``memory_mb`` is in MiB."""

    cpu: float = 1.0
    memory_mb: int = 4096
    gpu: int = 0

    def describe(self) -> str:
        parts = [f"cpu={self.cpu:g}", f"memory={format_memory(self.memory_mb)}"]
        if self.gpu:
            parts.append(f"gpu={self.gpu}")
        return " ".join(parts)


def parse_memory(value: str | int | float, *, location: Location | None = None) -> int:
    """Memory in MiB. Decimal (G) and binary (Gi) suffixes both mean powers of 1024,
    as data scientists use them interchangeably; a bare number is MiB."""
    if isinstance(value, bool):
        raise FlowDefinitionError(
            f"memory {value!r} is not a size", location=location, hint=_MEMORY_FORMS
        )
    if isinstance(value, int | float):
        mib = float(value)
    else:
        match = _MEMORY.match(value)
        if not match:
            raise FlowDefinitionError(
                f"memory {value!r} is not a size I understand",
                location=location,
                hint=f"write {_MEMORY_FORMS}",
            )
        suffix = (match.group(2) or "").upper()
        unit = suffix if suffix in ("", "B") else suffix[0]
        mib = float(match.group(1)) * _MIB_PER_UNIT[unit]
    if mib <= 0:
        raise FlowDefinitionError(
            f"memory {value!r} must be more than zero", location=location, hint=_MEMORY_FORMS
        )
    return max(1, round(mib))


def format_memory(mib: int) -> str:
    if mib % 1024 == 0:
        return f"{mib // 1024}Gi"
    return f"{mib}Mi"


def parse_cpu(value: str | int | float, *, location: Location | None = None) -> float:
    """CPUs as a float: ``2``, ``0.5`` and Kubernetes' ``500m`` are all accepted."""
    text = str(value).strip()
    try:
        cpu = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        raise FlowDefinitionError(
            f"cpu {value!r} is not a number of CPUs",
            location=location,
            hint="write a number such as 2 or 0.5 (or 500m)",
        ) from None
    if isinstance(value, bool) or cpu <= 0:
        raise FlowDefinitionError(
            f"cpu {value!r} must be a positive number", location=location, hint="e.g. 1 or 0.5"
        )
    return cpu


def parse_gpu(value: str | int, *, location: Location | None = None) -> int:
    try:
        gpu = int(str(value).strip())
    except ValueError:
        gpu = -1
    if isinstance(value, bool) or gpu < 0:
        raise FlowDefinitionError(
            f"gpu {value!r} is not a whole number of GPUs", location=location, hint="e.g. 1"
        )
    return gpu


def parse_duration(
    value: str | int | float | None, *, location: Location | None = None
) -> float | None:
    """Seconds. ``90``, ``30m``, ``1h30m``, ``2.5h`` are accepted; None means no limit."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            parts = _DURATION.findall(text)
            if not parts or "".join(n + u for n, u in parts).lower() != text.lower():
                raise FlowDefinitionError(
                    f"duration {value!r} is not understood",
                    location=location,
                    hint="write seconds (90) or a duration such as 30m, 1h30m or 2.5h",
                )
            seconds = sum(float(n) * _SECONDS[u.lower()] for n, u in parts)
    if seconds <= 0:
        raise FlowDefinitionError(
            f"duration {value!r} must be more than zero", location=location, hint="e.g. 30m"
        )
    return seconds


def make_resources(
    cpu: str | int | float | None = None,
    memory: str | int | float | None = None,
    gpu: str | int | None = None,
    *,
    location: Location | None = None,
) -> Resources:
    default = Resources()
    return Resources(
        cpu=default.cpu if cpu is None else parse_cpu(cpu, location=location),
        memory_mb=default.memory_mb if memory is None else parse_memory(memory, location=location),
        gpu=default.gpu if gpu is None else parse_gpu(gpu, location=location),
    )
