"""What a container is handed stays the same size whatever the task reads: the spec is in
the store and the environment carries its key (a join over N branches grows the spec by
~230 characters a branch, past Batch's and Linux's limits)."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_flow.flow.resources import Resources
from jupyter_flow.runtime.bootstrap import SPEC_KEY_ENV, read_spec, store_spec
from jupyter_flow.runtime.executors.batch_job import BatchOptions, build_definition, build_submit
from jupyter_flow.runtime.executors.kubernetes_job import KubernetesOptions, build_job
from jupyter_flow.runtime.taskspec import CodeRef, Input, TaskSpec
from jupyter_flow.store import open_store
from jupyter_flow.store.records import Artifact
from tests.fakes.limits import (
    BATCH_DEFINITION_MAX,
    BATCH_JOB_MAX,
    BATCH_OVERRIDES_MAX,
    MAX_ARG_STRLEN,
)


def join(branches: int, store_url: str = "s3://bucket/flows") -> TaskSpec:
    """The spec of a join step reading one output of each of ``branches`` foreach tasks."""
    artifacts = tuple(
        Artifact("y", "int", 5, str(i * i), key=f"b3-{i:064x}") for i in range(branches)
    )
    return TaskSpec(
        flow="WideFlow",
        run_id="20261203-080000-0123abcd",
        step="join",
        index=0,
        attempt=0,
        store_url=store_url,
        code=CodeRef("wide_flow.py", "wide_flow", package_key="ab" * 32),
        inputs=(Input("y", artifacts, join=True),),
        outputs=("total",),
    )


def sizes(spec: TaskSpec) -> tuple[int, int, int]:
    container = build_job(spec, KubernetesOptions())["spec"]["template"]["spec"]["containers"][0]
    request = build_submit(spec, "arn:aws:batch:us-east-1:1:job-definition/d:1", BatchOptions())
    return (
        len(json.dumps(container["env"])),
        len(json.dumps(request["containerOverrides"])),
        len(json.dumps(request)),
    )


def test_the_environment_and_the_overrides_do_not_grow_with_the_branches() -> None:
    small, wide = join(2), join(1000)
    assert len(wide.to_json()) > MAX_ARG_STRLEN  # the spec itself would not fit in one variable
    assert sizes(small) == sizes(wide)
    _, overrides, request = sizes(wide)
    assert overrides < BATCH_OVERRIDES_MAX and request < BATCH_JOB_MAX
    container = build_job(wide, KubernetesOptions())["spec"]["template"]["spec"]["containers"][0]
    strings = container["command"] + [f"{e['name']}={e.get('value', '')}" for e in container["env"]]
    assert max(len(s.encode()) for s in strings) < MAX_ARG_STRLEN


def test_the_stored_spec_is_read_back_by_its_key(tmp_path: Path) -> None:
    store = open_store(str(tmp_path))
    spec = join(1000, store.url)
    key = store_spec(store, spec)
    env = {SPEC_KEY_ENV: key, "JUPYTER_FLOW_ROOT": store.url}
    assert read_spec(None, env=env) == spec


def test_a_job_definition_with_the_launcher_fits_in_batchs_24_kib() -> None:
    options = BatchOptions(
        platform="FARGATE",
        job_role_arn="arn:aws:iam::123456789012:role/flows-job",
        execution_role_arn="arn:aws:iam::123456789012:role/flows-exec",
        secrets={f"SECRET_{i}": f"arn:aws:secretsmanager:us-east-1:1:secret:{i}" for i in range(5)},
    )
    definition = build_definition("python:3.11-slim", Resources(cpu=4, gpu=1), options)
    assert len(json.dumps(definition)) < BATCH_DEFINITION_MAX - 4096  # room as the launcher grows
