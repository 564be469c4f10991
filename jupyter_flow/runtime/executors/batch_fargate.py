"""What Fargate can run: its vCPU/memory table, and a step's resources checked against it.

Fargate runs only fixed vCPU/memory pairs (AWS Batch API reference, ``ResourceRequirement``;
botocore's Batch model carries the same table). A pair outside it is refused by Batch at
``RegisterJobDefinition`` or leaves the job failing to start; here it is refused before any
job is submitted, naming the step and the nearest pair that fits. Fargate has no GPUs.
"""

from __future__ import annotations

import itertools

from ...errors import ConfigError
from ...flow.resources import Resources, format_memory


def _steps(first: int, last: int, step: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1, step))


# vCPUs -> the memory values (MiB) Fargate accepts with them
FARGATE_SIZES: dict[float, tuple[int, ...]] = {
    0.25: (512, 1024, 2048),
    0.5: _steps(1024, 4096, 1024),
    1: _steps(2048, 8192, 1024),
    2: _steps(4096, 16384, 1024),
    4: _steps(8192, 30720, 1024),
    8: _steps(16384, 61440, 4096),
    16: _steps(32768, 122880, 8192),
    32: (61440, 122880, 249856),
}


def nearest_size(cpu: float, memory_mb: int) -> tuple[float, int]:
    """The smallest Fargate pair with at least ``cpu`` and ``memory_mb`` (fewest vCPUs
    first, then least memory); the largest pair when nothing is that big."""
    for vcpus, memories in FARGATE_SIZES.items():
        if vcpus < cpu:
            continue
        fits = [m for m in memories if m >= memory_mb]
        if fits:
            return vcpus, fits[0]
    largest = max(FARGATE_SIZES)
    return largest, FARGATE_SIZES[largest][-1]


def _memories(values: tuple[int, ...]) -> str:
    gaps = {b - a for a, b in itertools.pairwise(values)}
    if len(values) > 3 and len(gaps) == 1:
        return f"{format_memory(values[0])} to {format_memory(values[-1])} in steps of " + (
            format_memory(gaps.pop())
        )
    return ", ".join(format_memory(v) for v in values)


def _size(cpu: float, memory_mb: int) -> str:
    return f"cpu={cpu:g}, memory={format_memory(memory_mb)!r}"


def check_fargate(what: str, res: Resources, *, step: bool = True) -> None:
    """Refuse what Fargate cannot run (a GPU, a vCPU/memory pair off its table); ``what``
    names it ("step 'train'"), ``step`` says the hint may name the step decorator."""
    if res.gpu:
        raise ConfigError(
            f"{what} asks for gpu={res.gpu}, and Fargate has no GPUs",
            hint="run it on an EC2 queue (platform = 'EC2' in [default.batch]) or drop gpu=",
        )
    if res.memory_mb in FARGATE_SIZES.get(res.cpu, ()):
        return
    cpu, memory = nearest_size(res.cpu, res.memory_mb)
    allowed = FARGATE_SIZES.get(res.cpu)
    why = (
        f"with {res.cpu:g} vCPU it takes memory of {_memories(allowed)}"
        if allowed
        else f"its vCPU sizes are {', '.join(f'{c:g}' for c in FARGATE_SIZES)}"
    )
    fix = (
        f"@flow.step({_size(cpu, memory)}) or %%step --cpu {cpu:g} --memory {format_memory(memory)}"
        if step
        else _size(cpu, memory)
    )
    raise ConfigError(
        f"{what} asks for {_size(res.cpu, res.memory_mb)}, which Fargate cannot run: {why}",
        hint=f"the nearest Fargate size is {fix}",
    )
