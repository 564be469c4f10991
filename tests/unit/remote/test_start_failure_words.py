"""A container that exits with the launcher's EXIT_MISSING (78) (the image lacks boto3 and pip
could not install it, so nothing reached the store) is reported in plain words."""

from __future__ import annotations

from jupyter_flow.runtime.executors import batch_status, kubernetes_status, start_failure
from jupyter_flow.runtime.taskspec import CodeRef, TaskSpec

SPEC = TaskSpec(
    flow="F",
    run_id="r1",
    step="s",
    index=0,
    attempt=0,
    store_url="s3://bucket/flows",
    code=CodeRef(module_path="f.py", module_name="f", package_key="ab" * 32),
    inputs=(),
    outputs=(),
)


def test_kubernetes_says_the_image_lacks_boto3_and_how_to_fix_it() -> None:
    job = kubernetes_status.JobView("jf-1", "F/r1/s/0/0", "failed", "BackoffLimitExceeded")
    pod = kubernetes_status.PodView("jf-1-x", "jf-1", "Failed", terminated="Error", exit_code=78)
    error = kubernetes_status.failure(job, pod, SPEC)
    assert error.type == "MissingDependency" and "lacks a package the task needs" in error.message
    assert "pip install 'jupyter-flow[aws]'" in error.message
    other = kubernetes_status.failure(job, pod.__class__("p", "jf-1", "Failed", exit_code=2), SPEC)
    assert "exited with code 2" in other.message  # other exits keep their words


def test_batch_says_the_image_lacks_boto3_and_how_to_fix_it() -> None:
    job = batch_status.BatchJobView("j-1", "FAILED", "Essential container in task exited", "", 78)
    error = batch_status.failure(job, SPEC)
    assert (
        error.message.startswith(start_failure.MISSING_WORDS) and error.type == "MissingDependency"
    )
    assert "Essential container in task exited" in error.message  # Batch's words kept
