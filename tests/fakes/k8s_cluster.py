"""(Not tests.) The state of a one-node fake Kubernetes cluster: Jobs, their Pods, a kubelet.

The kubelet runs each pod's container command as a local subprocess (``python`` is this
interpreter, with the repository importable, as an image with jupyter_flow would have it),
so a Job really runs its task. What a real cluster reports is reported here: pod phases,
conditions and container states with exit codes, OOMKilled, ImagePullBackOff for images
that cannot exist, Unschedulable for requests the node cannot hold, StartError for a
process the kernel refuses to execute (an argv or env string over Linux's limit:
``limits.py``), DeadlineExceeded, Evicted, TTL cleanup. Every change bumps one
resourceVersion and is kept in a bounded history that watches replay; older versions
answer 410 Gone.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .k8s_helpers import matches, now_iso, parse_quantity
from .limits import exec_refusal, runc_start_error

REPO = Path(__file__).resolve().parents[2]
BAD_IMAGE_MARK = "does-not-exist"
NODE = {"cpu": 8.0, "memory": 32 * 1024**3, "nvidia.com/gpu": 0}


@dataclass
class Event:
    rv: int
    kind: str  # jobs | pods
    namespace: str
    labels: dict[str, str]
    line: bytes


@dataclass
class Pod:
    obj: dict[str, Any]
    job: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    seen_pending: int = 0
    fault: str | None = None
    unschedulable: str | None = None  # the scheduler's verdict, decided once


@dataclass
class Cluster:
    workdir: Path
    slots: int = 4  # pods that may run at once (the node's capacity)
    history_size: int = 10_000
    lock: threading.Condition = field(default_factory=threading.Condition)
    jobs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pods: dict[tuple[str, str], Pod] = field(default_factory=dict)
    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    finished: dict[tuple[str, str], float] = field(default_factory=dict)  # job -> monotonic end
    history: deque[Event] = field(default_factory=deque)
    # step label -> oom | evict | oom-after:TEXT (OOM-killed once its log shows TEXT) |
    # term-after:TEXT (sent SIGTERM then, as for a deleted pod)
    faults: dict[str, str] = field(default_factory=dict)
    paused: bool = False  # the kubelet starts nothing (benchmarks of submission)
    rv: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    last_rv: int = 0
    oldest_rv: int = 1
    stopping: bool = False

    # -- objects and events -----------------------------------------------------------
    def _emit(self, kind: str, etype: str, obj: dict[str, Any]) -> None:
        self.last_rv = next(self.rv)
        obj["metadata"]["resourceVersion"] = str(self.last_rv)
        line = json.dumps({"type": etype, "object": obj}).encode() + b"\n"
        meta = obj["metadata"]
        self.history.append(
            Event(self.last_rv, kind, meta["namespace"], dict(meta.get("labels", {})), line)
        )
        while len(self.history) > self.history_size:
            self.oldest_rv = self.history.popleft().rv + 1
        self.lock.notify_all()

    def compact(self) -> None:
        """Forget the event history, as etcd compaction does: old watches get 410 Gone."""
        with self.lock:
            self.history.clear()
            self.last_rv = next(self.rv)  # the cluster moved on meanwhile (other objects)
            self.oldest_rv = self.last_rv + 1

    def events_after(self, rv: int, kind: str, namespace: str, selector: str) -> list[bytes] | None:
        """Lines of events newer than ``rv``; None when ``rv`` is too old (410 Gone)."""
        if rv + 1 < self.oldest_rv:
            return None
        return [
            e.line
            for e in self.history
            if e.rv > rv
            and e.kind == kind
            and e.namespace == namespace
            and matches(selector, e.labels)
        ]

    def listing(self, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        if kind == "jobs":
            objs = [j for (ns, _), j in self.jobs.items() if ns == namespace]
        else:
            objs = [p.obj for (ns, _), p in self.pods.items() if ns == namespace]
        return [
            copy.deepcopy(o) for o in objs if matches(selector, o["metadata"].get("labels", {}))
        ]

    # -- jobs ---------------------------------------------------------------------------
    def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any] | str:
        with self.lock:
            name = body.get("metadata", {}).get("name", "")
            if (namespace, name) in self.jobs:
                return f'jobs.batch "{name}" already exists'
            job = copy.deepcopy(body)
            uid = str(uuid.uuid4())
            meta = job["metadata"]
            meta.update(namespace=namespace, uid=uid, creationTimestamp=now_iso(), generation=1)
            spec = job["spec"]
            spec.setdefault("completions", 1)
            spec.setdefault("parallelism", 1)
            spec.setdefault("completionMode", "NonIndexed")
            spec.setdefault("suspend", False)
            tmeta = spec["template"].setdefault("metadata", {})
            tmeta.setdefault("labels", {}).update(
                {
                    "batch.kubernetes.io/job-name": name,
                    "job-name": name,
                    "batch.kubernetes.io/controller-uid": uid,
                    "controller-uid": uid,
                }
            )
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            job["status"] = {
                "startTime": now_iso(),
                "active": 1,
                "ready": 0,
                "terminating": 0,
                "uncountedTerminatedPods": {},
            }
            self.jobs[(namespace, name)] = job
            self._emit("jobs", "ADDED", job)
            self._make_pod(namespace, job)
            return copy.deepcopy(job)

    def _make_pod(self, namespace: str, job: dict[str, Any]) -> None:
        name = f"{job['metadata']['name']}-{uuid.uuid4().hex[:5]}"
        template = job["spec"]["template"]
        meta = {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "creationTimestamp": now_iso(),
            "labels": dict(template["metadata"]["labels"]),
            "annotations": dict(template["metadata"].get("annotations", {})),
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": job["metadata"]["name"],
                    "uid": job["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        }
        pod_spec = copy.deepcopy(template["spec"])
        pod_spec.setdefault("nodeName", None)
        pod_spec.pop("nodeName")
        obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": pod_spec,
            "status": {"phase": "Pending", "qosClass": "Guaranteed", "conditions": []},
        }
        step = meta["labels"].get("jupyter-flow.io/step", "")
        pod = Pod(
            obj, job["metadata"]["name"], self.workdir / f"{name}.log", fault=self.faults.get(step)
        )
        pod.log.touch()
        self.pods[(namespace, name)] = pod
        self._emit("pods", "ADDED", obj)

    def delete_job(
        self, namespace: str, name: str, propagation: str | None
    ) -> dict[str, Any] | None:
        with self.lock:
            job = self.jobs.pop((namespace, name), None)
            if job is None:
                return None
            job["metadata"]["deletionTimestamp"] = now_iso()
            self._emit("jobs", "DELETED", job)
            if propagation in ("Background", "Foreground"):
                for key, pod in list(self.pods.items()):
                    if pod.job == name and key[0] == namespace:
                        self._kill(pod)
                        del self.pods[key]
                        self._emit("pods", "DELETED", pod.obj)
            return copy.deepcopy(job)

    def delete_jobs(self, namespace: str, selector: str, propagation: str | None) -> int:
        with self.lock:
            names = [
                n
                for (ns, n), j in self.jobs.items()
                if ns == namespace and matches(selector, j["metadata"].get("labels", {}))
            ]
        for name in names:
            self.delete_job(namespace, name, propagation)
        return len(names)

    # -- the kubelet --------------------------------------------------------------------
    def _kill(self, pod: Pod) -> None:
        if pod.proc is not None and pod.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pod.proc.pid, signal.SIGKILL)
            pod.proc.wait()

    def _unschedulable(self, pod: Pod) -> str | None:
        requests = pod.obj["spec"]["containers"][0].get("resources", {}).get("requests", {})
        short = [k for k, v in requests.items() if parse_quantity(str(v)) > NODE.get(k, 0)]
        if not short:
            return None
        return (
            "0/1 nodes are available: "
            + ", ".join(f"1 Insufficient {k}" for k in sorted(short))
            + ". preemption: 0/1 nodes are available: "
            + "1 No preemption victims found for incoming pod."
        )

    def _start(self, pod: Pod) -> None:
        container = pod.obj["spec"]["containers"][0]
        # a pod does not inherit the driver's environment: ours, AWS credentials, kubeconfig
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KUBECONFIG", "JUPYTER_FLOW_", "AWS_"))
        }
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p
        )
        ns = pod.obj["metadata"]["namespace"]
        for ref in container.get("envFrom", []):
            secret = self.secrets.get((ns, ref.get("secretRef", {}).get("name", "")), {})
            env.update({k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()})
        env.update({e["name"]: e.get("value", "") for e in container.get("env", [])})
        argv = list(container.get("command", [])) + list(container.get("args", []))
        if argv and argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        workdir = self.workdir / pod.obj["metadata"]["name"]
        workdir.mkdir(exist_ok=True)
        with open(pod.log, "ab") as log:
            pod.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=workdir,
                env=env,
                start_new_session=True,
            )
        pod.started = time.monotonic()
        st = pod.obj["status"]
        st.update(phase="Running", startTime=now_iso(), hostIP="10.0.0.1", podIP="10.244.0.9")
        st["conditions"] = [
            {"type": t, "status": "True", "lastTransitionTime": now_iso()}
            for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ]
        st["containerStatuses"] = [
            self._cstatus(container, {"running": {"startedAt": now_iso()}}, True)
        ]

    @staticmethod
    def _cstatus(container: dict[str, Any], state: dict[str, Any], ready: bool) -> dict[str, Any]:
        return {
            "name": container["name"],
            "image": container["image"],
            "imageID": "",
            "ready": ready,
            "restartCount": 0,
            "started": ready,
            "state": state,
        }

    def _pending(self, pod: Pod, running: int) -> bool:
        """Advance a pending pod; True when it started."""
        container = pod.obj["spec"]["containers"][0]
        st = pod.obj["status"]
        if pod.unschedulable is None:
            pod.unschedulable = self._unschedulable(pod) or ""
        reason = pod.unschedulable
        if reason:
            if not st["conditions"]:
                st["conditions"] = [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": reason,
                        "lastTransitionTime": now_iso(),
                    }
                ]
                self._emit("pods", "MODIFIED", pod.obj)
            return False
        if BAD_IMAGE_MARK in container["image"]:
            pod.seen_pending += 1
            waiting = "ErrImagePull" if pod.seen_pending < 3 else "ImagePullBackOff"
            current = (
                (st.get("containerStatuses") or [{}])[0]
                .get("state", {})
                .get("waiting", {})
                .get("reason")
            )
            if current != waiting:
                msg = (
                    f'Back-off pulling image "{container["image"]}"'
                    if waiting == "ImagePullBackOff"
                    else f'failed to pull and unpack image "{container["image"]}": not found'
                )
                st["conditions"] = [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now_iso()}
                ]
                st["containerStatuses"] = [
                    self._cstatus(
                        container, {"waiting": {"reason": waiting, "message": msg}}, False
                    )
                ]
                self._emit("pods", "MODIFIED", pod.obj)
            return False
        if self.paused or running >= self.slots:
            return False
        refused = self._exec_refusal(container)
        if refused is not None:
            self._start_failed(pod, refused)
            return False
        self._start(pod)
        self._emit("pods", "MODIFIED", pod.obj)
        return True

    @staticmethod
    def _exec_refusal(container: dict[str, Any]) -> str | None:
        """The runtime's message when the container's process cannot be executed (E2BIG)."""
        argv = list(container.get("command", [])) + list(container.get("args", []))
        env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
        why = exec_refusal(argv, env)
        return None if why is None else runc_start_error(argv, why)

    def _start_failed(self, pod: Pod, message: str) -> None:
        """As a kubelet reports a container that never started: terminated, StartError, 128."""
        container = pod.obj["spec"]["containers"][0]
        st = pod.obj["status"]
        st.update(phase="Failed", startTime=now_iso())
        st["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now_iso()}
        ]
        term = {
            "exitCode": 128,
            "reason": "StartError",
            "message": message,
            "startedAt": "1970-01-01T00:00:00Z",
            "finishedAt": now_iso(),
        }
        st["containerStatuses"] = [self._cstatus(container, {"terminated": term}, False)]
        with open(pod.log, "ab") as log:
            log.write(message.encode() + b"\n")
        self._emit("pods", "MODIFIED", pod.obj)
        self._finish_job(pod, False, None)

    def _terminate(
        self, pod: Pod, code: int, reason: str, pod_reason: str | None = None, message: str = ""
    ) -> None:
        container = pod.obj["spec"]["containers"][0]
        st = pod.obj["status"]
        st["phase"] = "Succeeded" if code == 0 and not pod_reason else "Failed"
        if pod_reason:
            st.update(reason=pod_reason, message=message)
        term = {"exitCode": code, "reason": reason, "startedAt": now_iso(), "finishedAt": now_iso()}
        st["containerStatuses"] = [self._cstatus(container, {"terminated": term}, False)]
        for cond in st["conditions"]:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"
        self._emit("pods", "MODIFIED", pod.obj)
        self._finish_job(pod, st["phase"] == "Succeeded", pod_reason)

    def _finish_job(self, pod: Pod, ok: bool, pod_reason: str | None) -> None:
        job = self.jobs.get((pod.obj["metadata"]["namespace"], pod.job))
        if job is None:
            return
        st = job["status"]
        st.update(active=0, ready=0)
        stamp = now_iso()
        if ok:
            st.update(succeeded=1, completionTime=stamp)
            st["conditions"] = [
                {
                    "type": "SuccessCriteriaMet",
                    "status": "True",
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                },
                {
                    "type": "Complete",
                    "status": "True",
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                },
            ]
        else:
            st["failed"] = 1
            if pod_reason == "DeadlineExceeded":
                reason, message = (
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                )
            else:
                reason, message = (
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                )
            st["conditions"] = [
                {
                    "type": t,
                    "status": "True",
                    "reason": reason,
                    "message": message,
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                }
                for t in ("FailureTarget", "Failed")
            ]
        self.finished[(pod.obj["metadata"]["namespace"], pod.job)] = time.monotonic()
        self._emit("jobs", "MODIFIED", job)

    def tick(self) -> None:
        """One kubelet + job controller pass."""
        with self.lock:
            if self.stopping:
                return
            if self.paused:
                self._expire_jobs()
                return
            running = sum(
                1
                for p in self.pods.values()
                if p.proc is not None and p.obj["status"]["phase"] == "Running"
            )
            for pod in list(self.pods.values()):
                phase = pod.obj["status"]["phase"]
                if phase == "Pending":
                    running += self._pending(pod, running)
                elif phase == "Running":
                    self._advance(pod)
            self._expire_jobs()

    def _advance(self, pod: Pod) -> None:
        assert pod.proc is not None
        job = self.jobs.get((pod.obj["metadata"]["namespace"], pod.job), {})
        deadline = job.get("spec", {}).get("activeDeadlineSeconds")
        if pod.fault == "oom" or self._log_shows(pod, "oom-after:"):
            self._kill(pod)
            self._terminate(pod, 137, "OOMKilled")
        elif self._log_shows(pod, "term-after:"):  # the pod deleted: SIGTERM, a grace period
            pod.fault = None
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pod.proc.pid, signal.SIGTERM)
        elif pod.fault == "evict" and time.monotonic() - pod.started > 0.2:
            self._kill(pod)
            self._terminate(
                pod,
                137,
                "Error",
                "Evicted",
                "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi.",
            )
        elif pod.proc.poll() is not None:
            code = pod.proc.returncode
            self._terminate(
                pod, code if code >= 0 else 128 - code, "Completed" if code == 0 else "Error"
            )
        elif deadline is not None and time.monotonic() - pod.started > deadline:
            self._kill(pod)
            self._terminate(
                pod,
                137,
                "Error",
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline",
            )

    @staticmethod
    def _log_shows(pod: Pod, fault: str) -> bool:
        """A fault that waits for the container to print its trigger (the kernel's OOM
        killer strikes mid-task, without warning: SIGKILL, nothing flushed)."""
        if pod.fault is None or not pod.fault.startswith(fault):
            return False
        with contextlib.suppress(OSError):
            return pod.fault[len(fault) :].encode() in pod.log.read_bytes()
        return False

    def _expire_jobs(self) -> None:
        now = time.monotonic()
        for key, done_at in list(self.finished.items()):
            job = self.jobs.get(key)
            ttl = job["spec"].get("ttlSecondsAfterFinished") if job else None
            if job is None or (ttl is not None and now - done_at >= ttl):
                self.finished.pop(key)
                if job is not None:
                    self.delete_job(*key, "Background")

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            for pod in self.pods.values():
                self._kill(pod)
            self.lock.notify_all()
