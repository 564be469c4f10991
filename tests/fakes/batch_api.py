"""(Not tests.) A fake AWS Batch + CloudWatch Logs endpoint that really runs the jobs.

Stdlib HTTP on 127.0.0.1 (port 0) in a thread, speaking what boto3 sends: Batch's REST-JSON
(RegisterJobDefinition, DescribeJobDefinitions, SubmitJob, DescribeJobs, TerminateJob) and
Logs' JSON 1.1 (GetLogEvents). A scheduler thread moves jobs SUBMITTED -> PENDING ->
RUNNABLE -> STARTING -> RUNNING -> SUCCEEDED/FAILED, runs the container command as a local
subprocess (``python`` is this interpreter, the repository importable), enforces
``attemptDurationSeconds`` and SubmitJob's size limits (``limits.py``: a ClientException, as
real Batch answers) and writes the output, line by line, where GetLogEvents reads it.
Test hooks: ``faults[step] = "oom" | "oom-after:TEXT" (once its log shows TEXT) |
"host-terminated" | "host-terminated-once"`` (its first Batch attempt only), images
containing ``does-not-exist`` fail to pull, ``secrets[arn] = value``, ``calls`` counts
actions. Logs go to the definition's awslogs group and stream prefix (``logConfiguration``),
and a failed job is retried as its ``retryStrategy`` says (``evaluateOnExit`` globs), as on
Batch. Should the scheduler itself fail, every later request is refused with its traceback
(a ClientException) and ``stop`` raises it: a broken fake fails the test, it never hangs it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .limits import batch_submit_refusal

REPO = Path(__file__).resolve().parents[2]
REGION, ACCOUNT = "us-east-1", "123456789012"
BAD_IMAGE_MARK = "does-not-exist"


def _ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Job:
    doc: dict[str, Any]
    definition: dict[str, Any]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    offset: int = 0
    partial: bytes = b""
    events: list[dict[str, Any]] = field(default_factory=list)
    group: str = "/aws/batch/job"  # its definition's awslogs-group, else Batch's default
    tries: int = 1  # Batch's attempt number (AWS_BATCH_JOB_ATTEMPT)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # header and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any, ctype: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if code >= 400:
            self.send_header("x-amzn-ErrorType", body.get("__type", "ClientException"))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = json.loads(raw or b"{}")
        target = self.headers.get("X-Amz-Target", "")
        api = self.server.api
        action = target.split(".")[-1] if target else self.path.rstrip("/").split("/")[-1]
        with api.lock:
            api.calls[action] += 1
        if api.broken:  # a ClientException: the client fails now instead of polling forever
            msg = f"the fake Batch's scheduler died, no job moves any more:\n{api.broken}"
            self._send(400, {"__type": "ClientException", "message": msg})
            return
        handler = getattr(api, f"_{action.lower()}", None)
        if handler is None:
            self._send(
                400, {"__type": "ClientException", "message": f"unsupported action {action}"}
            )
            return
        refused = batch_submit_refusal(raw, body) if action.lower() == "submitjob" else None
        code, answer = (
            (400, {"__type": "ClientException", "message": refused}) if refused else handler(body)
        )
        self._send(code, answer, "application/x-amz-json-1.1" if target else "application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeBatchAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up are not errors here


class FakeBatchAPI:
    """The endpoint, its jobs and their logs. Use as a context manager."""

    def __init__(self, *, slots: int = 4, tick: float = 0.02) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-batch-")
        self.workdir = Path(self._tmp.name)
        self.slots = slots
        self.tick = tick
        self.lock = threading.RLock()
        self.calls: Counter[str] = Counter()
        self.definitions: dict[str, list[dict[str, Any]]] = {}
        self.jobs: dict[str, _Job] = {}
        self.streams: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.faults: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        self.stopping = False
        self.broken = ""  # the scheduler's traceback, if it died
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.api = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._threads: list[threading.Thread] = []

    # -- job definitions ------------------------------------------------------------------
    def _registerjobdefinition(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            name = body["jobDefinitionName"]
            revisions = self.definitions.setdefault(name, [])
            revision = len(revisions) + 1
            arn = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{name}:{revision}"
            doc = {**body, "jobDefinitionArn": arn, "revision": revision, "status": "ACTIVE"}
            revisions.append(doc)
            return 200, {"jobDefinitionName": name, "jobDefinitionArn": arn, "revision": revision}

    def _describejobdefinitions(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            found = [d for revs in self.definitions.values() for d in revs]
            if body.get("jobDefinitionName"):
                found = [d for d in found if d["jobDefinitionName"] == body["jobDefinitionName"]]
            if body.get("status"):
                found = [d for d in found if d["status"] == body["status"]]
            return 200, {"jobDefinitions": found}

    def _definition(self, ref: str) -> dict[str, Any] | None:
        for revs in self.definitions.values():
            for doc in revs:
                if ref in (doc["jobDefinitionArn"], doc["jobDefinitionName"]):
                    return doc if ref != doc["jobDefinitionName"] else revs[-1]
                if ref == f"{doc['jobDefinitionName']}:{doc['revision']}":
                    return doc
        return None

    # -- jobs -------------------------------------------------------------------------------
    def _submitjob(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            definition = self._definition(body.get("jobDefinition", ""))
            if definition is None:
                return 400, {"__type": "ClientException", "message": "Job definition not found"}
            job_id = str(uuid.uuid4())
            props = definition["containerProperties"]
            overrides = body.get("containerOverrides", {})
            container = {
                "image": props["image"],
                "command": overrides.get("command") or props.get("command", []),
                "environment": props.get("environment", []) + overrides.get("environment", []),
                "resourceRequirements": overrides.get("resourceRequirements")
                or props.get("resourceRequirements", []),
            }
            if props.get("logConfiguration"):
                container["logConfiguration"] = props["logConfiguration"]
            doc = {
                "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job_id}",
                "jobName": body["jobName"],
                "jobId": job_id,
                "jobQueue": body["jobQueue"],
                "status": "SUBMITTED",
                "createdAt": _ms(),
                "jobDefinition": definition["jobDefinitionArn"],
                "container": container,
                "attempts": [],
                "dependsOn": [],
                "tags": body.get("tags", {}),
                "timeout": body.get("timeout", {}),
                "retryStrategy": body.get("retryStrategy")
                or definition.get("retryStrategy", {"attempts": 1}),
                "platformCapabilities": definition.get("platformCapabilities", ["EC2"]),
            }
            self.jobs[job_id] = _Job(doc, definition, self.workdir / f"{job_id}.log")
            return 200, {"jobArn": doc["jobArn"], "jobName": doc["jobName"], "jobId": job_id}

    def _describejobs(self, body: dict[str, Any]) -> tuple[int, Any]:
        ids = body.get("jobs", [])
        if len(ids) > 100:
            return 400, {"__type": "ClientException", "message": "at most 100 jobs"}
        with self.lock:
            docs = [json.loads(json.dumps(self.jobs[i].doc)) for i in ids if i in self.jobs]
        return 200, {"jobs": docs}

    def _terminatejob(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            job = self.jobs.get(body.get("jobId", ""))
            if job is None:
                return 400, {"__type": "ClientException", "message": "Job not found"}
            if job.doc["status"] not in ("SUCCEEDED", "FAILED"):
                self._kill(job)
                self._end(job, None, body.get("reason", "Terminated by user"), retry=False)
            return 200, {}

    # -- logs -------------------------------------------------------------------------------
    def _getlogevents(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            key = (body.get("logGroupName", ""), body.get("logStreamName", ""))
            if key not in self.streams:
                msg = "The specified log stream does not exist."
                return 400, {"__type": "ResourceNotFoundException", "message": msg}
            events = self.streams[key]
            token = body.get("nextToken") or "f/0"
            start = (
                int(token.split("/")[1])
                if body.get("startFromHead", False) or body.get("nextToken")
                else 0
            )
            page = events[start : start + 10_000]
            end = start + len(page)
            return 200, {
                "events": page,
                "nextForwardToken": f"f/{end}",
                "nextBackwardToken": f"b/{start}",
            }

    # -- the scheduler ------------------------------------------------------------------------
    def _kill(self, job: _Job) -> None:
        if job.proc is not None and job.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(job.proc.pid, signal.SIGKILL)
            job.proc.wait()
        self._pump(job, final=True)

    def _pump(self, job: _Job, final: bool = False) -> None:
        """Move new complete lines of the job's output into its CloudWatch stream."""
        if not job.log.exists():
            return
        with open(job.log, "rb") as fh:
            fh.seek(job.offset)
            data = fh.read()
        job.offset += len(data)
        data = job.partial + data
        lines = data.split(b"\n")
        job.partial = b"" if final else lines.pop()
        stream = job.doc["container"].get("logStreamName")
        if stream is None:
            return
        for line in lines if not final else [x for x in lines if x]:
            event = {
                "timestamp": _ms(),
                "message": line.decode(errors="replace"),
                "ingestionTime": _ms(),
            }
            self.streams[(job.group, stream)].append(event)

    def _logged(self, job: _Job) -> str:
        stream = job.doc["container"].get("logStreamName")
        events = self.streams.get((job.group, stream or ""), [])
        return "\n".join(str(e["message"]) for e in events)

    def _end(
        self,
        job: _Job,
        exit_code: int | None,
        reason: str,
        container_reason: str = "",
        retry: bool = True,
    ) -> None:
        doc = job.doc
        doc["status"] = "SUCCEEDED" if exit_code == 0 and not container_reason else "FAILED"
        doc["statusReason"] = reason
        doc["stoppedAt"] = _ms()
        container = doc["container"]
        if exit_code is not None:
            container["exitCode"] = exit_code
        if container_reason:
            container["reason"] = container_reason
        if doc.get("startedAt"):
            attempt = {
                k: container.get(k)
                for k in ("exitCode", "reason", "logStreamName")
                if container.get(k) is not None
            }
            doc["attempts"].append(
                {
                    "container": attempt,
                    "startedAt": doc["startedAt"],
                    "stoppedAt": doc["stoppedAt"],
                    "statusReason": reason,
                }
            )
        if doc["status"] == "FAILED" and retry and self._retried(job):
            self._requeue(job)

    def _retried(self, job: _Job) -> bool:
        """Batch's retryStrategy: the first evaluateOnExit rule whose globs all match decides;
        a failure no rule matches is retried, while attempts remain (a terminated job never)."""
        doc, container = job.doc, job.doc["container"]
        strategy = doc["retryStrategy"]
        if job.tries >= int(strategy.get("attempts", 1)):
            return False
        seen = {
            "onStatusReason": doc.get("statusReason", ""),
            "onReason": container.get("reason", ""),
            "onExitCode": str(container.get("exitCode", "")),
        }
        for rule in strategy.get("evaluateOnExit", []):
            if all(fnmatch.fnmatchcase(seen[k], rule[k]) for k in seen if k in rule):
                return str(rule["action"]).upper() == "RETRY"
        return True

    def _requeue(self, job: _Job) -> None:
        job.tries += 1
        job.proc, job.offset, job.partial = None, 0, b""
        for key in ("exitCode", "reason", "logStreamName", "taskArn"):
            job.doc["container"].pop(key, None)
        for key in ("startedAt", "stoppedAt"):
            job.doc.pop(key, None)
        job.doc["status"] = "RUNNABLE"

    def _start(self, job: _Job) -> None:
        doc, container = job.doc, job.doc["container"]
        # awslogs names a stream <awslogs-stream-prefix>/<container>/<ECS task id>, Batch
        # <definition name>/default/<task id> when no prefix is given
        task = uuid.uuid4().hex
        logging = (container.get("logConfiguration") or {}).get("options") or {}
        job.group = logging.get("awslogs-group", "/aws/batch/job")
        prefix = logging.get("awslogs-stream-prefix") or job.definition["jobDefinitionName"]
        stream = f"{prefix}/default/{task}"
        container["logStreamName"] = stream
        container["taskArn"] = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/fake/{task}"
        self.streams[(job.group, stream)] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_FLOW_")}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p
        )
        for secret in job.definition["containerProperties"].get("secrets", []):
            env[secret["name"]] = self.secrets.get(secret["valueFrom"], "")
        env.update({e["name"]: e["value"] for e in container["environment"]})
        argv = list(container["command"])
        if argv and argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        with open(job.log, "wb") as log:
            job.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
            )
        job.started = time.monotonic()
        doc.update(status="RUNNING", startedAt=_ms())

    def _advance(self, job: _Job, running: int) -> bool:
        """One step of a job's life; True when it started running."""
        doc = job.doc
        status = doc["status"]
        step = doc["tags"].get("jupyter-flow:step", "")
        if status in ("SUBMITTED", "PENDING"):
            doc["status"] = "PENDING" if status == "SUBMITTED" else "RUNNABLE"
        elif status == "RUNNABLE" and running < self.slots:
            doc["status"] = "STARTING"
        elif status == "STARTING":
            if BAD_IMAGE_MARK in doc["container"]["image"]:
                image = doc["container"]["image"]
                msg = f"CannotPullContainerError: pull image manifest failed: {image}: not found"
                self._end(job, None, "Task failed to start", msg)
                return False
            self._start(job)
            if self.faults.get(step) == "oom":
                self._kill(job)
                self._end(
                    job,
                    137,
                    "Essential container in task exited",
                    "OutOfMemoryError: Container killed due to memory usage",
                )
            return True
        elif status == "RUNNING":
            assert job.proc is not None
            self._pump(job)
            limit = doc["timeout"].get("attemptDurationSeconds")
            fault = self.faults.get(step, "")
            if fault.startswith("oom-after:") and fault[10:] in self._logged(job):
                self._kill(job)  # the kernel's OOM killer: SIGKILL mid-task, nothing flushed
                self._end(
                    job,
                    137,
                    "Essential container in task exited",
                    "OutOfMemoryError: Container killed due to memory usage",
                )
            elif job.proc.poll() is not None:
                self._pump(job, final=True)
                code = job.proc.returncode
                self._end(
                    job, code if code >= 0 else 128 - code, "Essential container in task exited"
                )
            elif limit and time.monotonic() - job.started > limit:
                self._kill(job)
                self._end(job, 137, "Job attempt duration exceeded timeout")
            elif (
                self.faults.get(step) == "host-terminated"
                or (self.faults.get(step) == "host-terminated-once" and job.tries == 1)
            ) and time.monotonic() - job.started > 0.2:
                self._kill(job)
                self._end(job, None, "Host EC2 (instance i-0fake) terminated.")
        return False

    def _scheduler(self) -> None:
        try:
            while not self.stopping:
                with self.lock:
                    running = sum(
                        1 for j in self.jobs.values() if j.doc["status"] in ("STARTING", "RUNNING")
                    )
                    for job in list(self.jobs.values()):
                        if job.doc["status"] not in ("SUCCEEDED", "FAILED"):
                            running += self._advance(job, running)
                time.sleep(self.tick)
        except Exception:  # loud, not a queue whose jobs silently never move again
            self.broken = traceback.format_exc()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeBatchAPI:
        self._threads = [
            threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            ),
            threading.Thread(target=self._scheduler, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.stopping = True
        with self.lock:
            for job in self.jobs.values():
                self._kill(job)
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._tmp.cleanup()
        if self.broken:
            raise RuntimeError(f"the fake Batch's scheduler died:\n{self.broken}")

    def __enter__(self) -> FakeBatchAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
