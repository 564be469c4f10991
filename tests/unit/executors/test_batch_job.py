"""AWS Batch requests: golden files valid for botocore's model, definitions keyed by what
they pin, logging, mounts, Fargate sizes and retries, settings refused by key, and failures
in plain words from DescribeJobs answers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jupyter_flow.errors import ConfigError
from jupyter_flow.flow.resources import Resources
from jupyter_flow.runtime.executors.batch_job import (
    BatchOptions,
    build_definition,
    build_submit,
    check_resources,
    definition_name,
    job_name,
)
from jupyter_flow.runtime.executors.batch_status import failure, job_view

from .golden import check_golden
from .specs import spec

OPTIONS = BatchOptions.from_settings(
    {
        "queue": "ml-spot",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/flows:1.4",
        "region": "eu-west-1",
        "job_role_arn": "arn:aws:iam::123456789012:role/flow-task",
        "secrets": {"API_TOKEN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:token"},
        "env": {"JUPYTER_FLOW_S3_ENDPOINT_URL": "http://minio:9000"},
        "tags": {"team": "forecasting"},
        "log_group": "/flows/forecasting",
        "shared_memory": "8G",
        "tmpfs": [{"path": "/scratch", "size": "16G", "mount_options": ["noexec"]}],
    },
    {},
)
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
FARGATE = BatchOptions.from_settings(
    {
        "queue": "q",
        "platform": "fargate",
        "image": "python:3.11-slim",
        "execution_role_arn": EXECUTION_ROLE,
        "ephemeral_storage": 50,
    },
    {},
)


def botocore_errors(operation: str, params: dict) -> str:
    """What botocore's own Batch model says is wrong with a request ("" when valid)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("batch")
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    return report.generate_report() if report.has_errors() else ""


def test_requests_match_golden_and_botocore_model() -> None:
    task = spec(resources=Resources(cpu=1.5, memory_mb=6144, gpu=1), timeout=30.0)
    definition = build_definition(OPTIONS.image, task.resources, OPTIONS)
    submit = build_submit(task, "arn:def:1", OPTIONS)
    fargate = build_definition("python:3.11-slim", Resources(cpu=0.25, memory_mb=512), FARGATE)
    check_golden("batch/definition_gpu.json", definition)
    check_golden("batch/submit_gpu_timeout.json", submit)
    check_golden("batch/definition_fargate.json", fargate)
    assert not botocore_errors("RegisterJobDefinition", definition)
    assert not botocore_errors("RegisterJobDefinition", fargate)
    assert not botocore_errors("SubmitJob", submit)


def test_a_log_group_is_written_where_the_reader_reads() -> None:
    container = build_definition("img:1", Resources(), OPTIONS)["containerProperties"]
    assert container["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/flows/forecasting",
            "awslogs-region": "eu-west-1",
            "awslogs-stream-prefix": "jupyter-flow",
        },
    }
    default = BatchOptions.from_settings({"queue": "q"}, {})
    assert (
        "logConfiguration" not in build_definition("i", Resources(), default)["containerProperties"]
    )
    # DescribeJobs shows the definition's log configuration: the reader takes its group, and
    # the awslogs stream name when Batch gives none
    described = {
        "jobId": "j-1",
        "status": "RUNNING",
        "container": {
            "logConfiguration": container["logConfiguration"],
            "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/batch-ce/0f1e2d",
        },
    }
    view = job_view(described)
    assert (view.log_group, view.log_stream) == (
        "/flows/forecasting",
        "jupyter-flow/default/0f1e2d",
    )
    described["container"]["logStreamName"] = "jupyter-flow/default/abc"
    assert job_view(described).log_stream == "jupyter-flow/default/abc"
    assert job_view(failed()).log_group == ""  # the default group: [batch] log_group or Batch's


def test_shared_memory_and_tmpfs_on_ec2() -> None:
    linux = build_definition("img:1", Resources(), OPTIONS)["containerProperties"][
        "linuxParameters"
    ]
    assert linux == {
        "sharedMemorySize": 8192,
        "tmpfs": [{"containerPath": "/scratch", "size": 16384, "mountOptions": ["noexec"]}],
    }
    plain = BatchOptions.from_settings({"queue": "q"}, {})
    assert "linuxParameters" not in build_definition("i", Resources(), plain)["containerProperties"]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"shared_memory": "lots"}, "[default.batch] shared_memory: memory 'lots'"),
        ({"tmpfs": [{"path": "scratch", "size": 10}]}, "tmpfs[0].path 'scratch'"),
        ({"tmpfs": [{"path": "/s"}]}, "[default.batch] tmpfs[0] is not a table with path and size"),
        ({"tmpfs": [{"path": "/s", "size": 1, "mode": 1}]}, "tmpfs[0]: unknown key(s) mode"),
        ({"tmpfs": [{"path": "/s", "size": 1, "mount_options": ["fast"]}]}, "know fast"),
        ({"ephemeral_storage": 50}, "[default.batch] ephemeral_storage is for Fargate only"),
        ({"platform": "LAMBDA"}, "[default.batch] platform = 'LAMBDA' is not a Batch platform"),
        ({"platform": "FARGATE"}, "needs [default.batch] execution_role_arn"),
        (
            {"platform": "FARGATE", "execution_role_arn": EXECUTION_ROLE, "ephemeral_storage": 20},
            "ephemeral_storage = 20 is not a whole number from 21 to 200 GiB",
        ),
        (
            {"platform": "FARGATE", "execution_role_arn": EXECUTION_ROLE, "shared_memory": 64},
            "[default.batch] shared_memory is not available on Fargate",
        ),
        ({"host_attempts": 11}, "[default.batch] host_attempts = 11"),
        ({"log_groups": "/x"}, "[default.batch] log_groups: unknown Batch setting"),
    ],
)
def test_settings_batch_cannot_honour_are_refused_by_key(settings: dict, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        BatchOptions.from_settings({"queue": "q", **settings}, {})
    assert words in str(caught.value)


def test_fargate_takes_its_sizes_only_and_says_the_nearest() -> None:
    container = build_definition("i", Resources(cpu=1, memory_mb=2048), FARGATE)[
        "containerProperties"
    ]
    assert container["ephemeralStorage"] == {"sizeInGiB": 50}
    assert container["executionRoleArn"] == EXECUTION_ROLE
    for cpu, memory in [(0.25, 512), (0.5, 4096), (4, 30720), (8, 61440), (16, 122880)]:
        check_resources("train", Resources(cpu=cpu, memory_mb=memory), FARGATE)
    with pytest.raises(ConfigError) as caught:
        check_resources("train", Resources(cpu=3, memory_mb=5000), FARGATE)
    text = str(caught.value)
    assert "step 'train' asks for cpu=3, memory='5000Mi', which Fargate cannot run" in text
    assert "nearest Fargate size is @flow.step(cpu=4, memory='8Gi')" in text
    with pytest.raises(ConfigError, match=r"(?s)2Gi to 8Gi in steps of 1Gi.*cpu=1, memory='2Gi'"):
        check_resources("train", Resources(cpu=1, memory_mb=512), FARGATE)
    with pytest.raises(ConfigError, match=r"cpu=16, memory='40Gi'"):  # 16 vCPU: 8 GiB steps
        check_resources("train", Resources(cpu=16, memory_mb=33000), FARGATE)
    with pytest.raises(ConfigError, match="step 'train' asks for gpu=1, and Fargate has no GPUs"):
        check_resources("train", Resources(cpu=1, memory_mb=2048, gpu=1), FARGATE)
    check_resources("train", Resources(cpu=3, memory_mb=5000, gpu=1), OPTIONS)  # EC2: any


def test_batch_retries_a_lost_host_only() -> None:
    definition = build_definition("i", Resources(), OPTIONS)
    request = build_submit(spec(), "arn:def:1", OPTIONS)
    strategy = {
        "attempts": 3,
        "evaluateOnExit": [
            {"onStatusReason": "Host EC2*", "action": "RETRY"},
            {"onReason": "*", "action": "EXIT"},
        ],
    }
    assert definition["retryStrategy"] == strategy
    assert request["retryStrategy"] == strategy  # SubmitJob's overrides the definition's
    once = BatchOptions.from_settings({"queue": "q", "host_attempts": 1}, {})
    assert build_submit(spec(), "arn:def:1", once)["retryStrategy"] == {"attempts": 1}


def test_a_definition_is_keyed_by_image_resources_and_roles() -> None:
    res = Resources(cpu=2, memory_mb=4096)
    same = definition_name("img:1", res, OPTIONS)
    assert same == definition_name("img:1", Resources(cpu=2, memory_mb=4096), OPTIONS)
    assert same != definition_name("img:2", res, OPTIONS)
    assert same != definition_name("img:1", Resources(cpu=2, memory_mb=8192), OPTIONS)
    other_role = BatchOptions(queue="q", job_role_arn="arn:other")
    assert same != definition_name("img:1", res, other_role)
    # everything a definition pins names it: an existing one is never reused for other settings
    for change in ({"log_group": "/other"}, {"shared_memory": 128}, {"host_attempts": 1}):
        assert definition_name("img:1", res, replace(OPTIONS, **change)) != same
    assert definition_name("img:1", res, replace(OPTIONS, python="python3")) != same


def test_the_job_carries_the_task() -> None:
    task = spec(timeout=5.0)
    request = build_submit(task, "arn:def:1", OPTIONS)
    env = {e["name"]: e["value"] for e in request["containerOverrides"]["environment"]}
    assert env["JUPYTER_FLOW_TASK_SPEC_KEY"] == task.to_blob()[0]  # the spec is in the store
    assert request["timeout"] == {"attemptDurationSeconds": 60}  # Batch's minimum; ours is 5 s
    assert "API_TOKEN" not in env  # a secret comes from the definition's valueFrom
    assert len(job_name(spec(flow="F" * 200))) <= 128


def test_a_queue_is_required() -> None:
    with pytest.raises(ConfigError, match="job queue"):
        BatchOptions.from_settings({}, {})
    assert BatchOptions.from_settings({}, {"JUPYTER_FLOW_BATCH_QUEUE": "q"}).queue == "q"


def failed(
    reason: str = "",
    status_reason: str = "Essential container in task exited",
    code: int | None = 1,
) -> dict:
    container = {"logStreamName": "jf/default/abc", **({"reason": reason} if reason else {})}
    if code is not None:
        container["exitCode"] = code
    return {
        "jobId": "j-1",
        "status": "FAILED",
        "statusReason": status_reason,
        "container": container,
    }


def test_failures_in_plain_words() -> None:
    task = spec(resources=Resources(memory_mb=2048), timeout=90.0)
    oom = failure(
        job_view(failed("OutOfMemoryError: Container killed due to memory usage", code=137)), task
    )
    assert oom.kind == "out-of-memory" and "2Gi" in oom.message
    timeout = failure(
        job_view(failed(status_reason="Job attempt duration exceeded timeout", code=None)), task
    )
    assert timeout.kind == "timeout" and "90s" in timeout.message
    pull = failure(
        job_view(failed("CannotPullContainerError: not found", "Task failed to start", None)), task
    )
    assert pull.kind == "image-pull"
    lost = failure(
        job_view(failed(status_reason="Host EC2 (instance i-0abc) terminated.", code=None)), task
    )
    assert lost.kind == "evicted"
    died = failure(job_view(failed(code=9)), task)
    assert died.kind == "worker-died" and "code 9" in died.message
    assert job_view(failed()).log_stream == "jf/default/abc"


def test_the_executor_names_the_profile_a_bad_setting_is_in(tmp_path, monkeypatch) -> None:
    from jupyter_flow.config import Settings
    from jupyter_flow.runtime.executors.batch import BatchExecutor
    from jupyter_flow.store import open_store

    monkeypatch.chdir(tmp_path)
    (tmp_path / "jupyter_flow.toml").write_text("[profiles.gpu.batch]\nqueue = 'q'\n")
    settings = Settings(profile="gpu", extra={"batch": {"queue": "q", "log_groups": "/x"}})
    store = open_store(str(tmp_path / "store"))
    with pytest.raises(ConfigError) as caught:
        BatchExecutor(settings, store, 1)
    text = str(caught.value)
    assert "jupyter_flow.toml [profiles.gpu.batch] log_groups: unknown Batch setting" in text
    assert "did you mean log_group?" in text
