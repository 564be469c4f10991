"""Fixed task specs for builder tests (deterministic: no clock, no randomness)."""

from __future__ import annotations

from jupyter_flow.flow.resources import Resources
from jupyter_flow.runtime.taskspec import CodeRef, Input, TaskSpec
from jupyter_flow.store.records import Artifact


def spec(**changes: object) -> TaskSpec:
    base = TaskSpec(
        flow="SweepFlow",
        run_id="20261125-101500-ab12cd34",
        step="fit_model",
        index=3,
        attempt=2,
        store_url="s3://bucket/flows",
        code=CodeRef("/home/me/sweep_flow.py", "sweep_flow", package_key="code/abc123.tar.gz"),
        inputs=(
            Input(
                "alpha",
                (Artifact("alphas", "list", 40, "[0.01, 0.1, 1.0, 10.0]", inline="gAQ="),),
                item=3,
            ),
        ),
        outputs=("score",),
        resources=Resources(cpu=2, memory_mb=16384, gpu=0),
        timeout=None,
        foreach_count=4,
    )
    return TaskSpec(**{**base.__dict__, **changes})  # type: ignore[arg-type]
