"""Kubernetes executor: one batch/v1 Job per task attempt.

``submit`` creates the Job (beyond ``max_in_flight`` attempts wait here). Two watch threads
per run (its Jobs, its Pods) feed ``wait``, which turns Job conditions into events, and pod
states into plain-words failures: OOMKilled, DeadlineExceeded, evicted, an image that cannot
be pulled, no node that fits. A dropped watch resumes from its last resourceVersion; 410
Gone relists. The task writes its own record to the store, so a failure the task could
record (the user's exception) is reported without an error of ours.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import FlowError
from ...store.records import ErrorInfo
from ..bootstrap import failure_upload_env, store_spec
from ..taskspec import TaskSpec
from .base import Requirement, TaskEvent
from .kubernetes_client import KubeClient, NotFound, TransientError, WatchGone
from .kubernetes_job import KubernetesOptions, build_job, run_selector
from .kubernetes_status import JobView, PodView, failure, stuck
from .remote import RemoteExecutor

if TYPE_CHECKING:
    from ...flow.secret_params import Secret
    from ...store.blobs import BlobStore

WATCH_TIMEOUT = 300  # seconds the server keeps one watch open; we re-watch from there


@dataclass
class _Tracked:
    spec: TaskSpec
    job: str
    created: float
    pod: PodView | None = None
    stuck_since: float | None = None


class _Watcher:
    """Lists then watches one kind of object of a run, forever, into ``sink``."""

    def __init__(
        self, client: KubeClient, kind: str, selector: str, sink: queue.Queue[Any]
    ) -> None:
        self.client, self.kind, self.selector, self.sink = client, kind, selector, sink
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"jupyter-flow-watch-{kind}", daemon=True
        )
        self.thread.start()

    def _list(self) -> str:
        started = time.monotonic()
        if self.kind == "jobs":
            jobs, rv = self.client.list_jobs(self.selector)
            for job in jobs:
                self.sink.put(("jobs", job))
            self.sink.put(("listed", {j.name for j in jobs}, started))
        else:
            pods, rv = self.client.list_pods(self.selector)
            for pod in pods:
                self.sink.put(("pods", pod))
        return rv

    def _run(self) -> None:
        rv: str | None = None
        backoff = 0.1
        while not self.stopped.is_set():
            try:
                if rv is None:
                    rv = self._list()
                start = rv
                for view, latest in self.client.watch(
                    self.kind, self.selector, start, WATCH_TIMEOUT
                ):
                    rv = latest  # a dropped stream resumes from the last event seen
                    if view is not None:
                        self.sink.put((self.kind, view))
                    if self.stopped.is_set():
                        return
                backoff = 0.1
            except WatchGone:
                rv = None
            except FlowError as err:  # 401/403/bad request: every later call would fail too
                self.sink.put(("error", err, 0.0))
                return
            except Exception:  # dropped connection, API unavailable: watch again
                if self.stopped.wait(backoff):
                    return
                backoff = min(backoff * 2, 5.0)

    def stop(self) -> None:
        self.stopped.set()


class KubernetesExecutor(RemoteExecutor):
    name: ClassVar[str] = "kubernetes"
    requires: ClassVar[tuple[Requirement, ...]] = (Requirement("kubernetes", "kubernetes"),)
    transient: ClassVar[tuple[type[Exception], ...]] = (TransientError,)

    def __init__(self, settings, store, max_workers):  # type: ignore[no-untyped-def]
        options = KubernetesOptions.from_settings(
            settings.backend_options("kubernetes"), os.environ
        )
        super().__init__(settings, store, max_workers, options.max_in_flight)
        self.options = options
        self._client: KubeClient | None = None
        self._tracked: dict[str, _Tracked] = {}  # job name -> attempt
        self._updates: queue.Queue[Any] = queue.Queue()
        self._watchers: dict[str, list[_Watcher]] = {}
        self._names: dict[str, str] = {}  # task id -> Job name, for logs

    def unreachable_secrets(self, secrets: Mapping[str, Secret]) -> dict[str, str]:
        """A pod reads secrets from the Secrets in ``[kubernetes] secrets`` (their keys are
        not read here); a value in plain ``env`` would sit in every Job's manifest."""
        self._remember_secrets(secrets)
        why: dict[str, str] = {}
        for name, ref in secrets.items():
            if ref.env in self.options.env:
                why[name] = f"${ref.env} is in [kubernetes] env, in plain text in every Job"
            elif not self.options.secrets:
                why[name] = "[kubernetes] secrets names no Secret to read it from"
        return why

    @property
    def client(self) -> KubeClient:
        if self._client is None:
            self._client = KubeClient(self.options)
            self.options = replace(self.options, namespace=self._client.namespace)
        return self._client

    # -- submission -----------------------------------------------------------------------
    def _in_flight(self) -> int:
        return len(self._tracked)

    def _start(self, spec: TaskSpec) -> None:
        _ = self.client  # created here, once, not in the submit threads
        self._watch(spec.run_id)
        manifest = build_job(spec, self.options)
        name = manifest["metadata"]["name"]
        tracked = self._tracked[name] = _Tracked(spec, name, float("inf"))
        self._names[spec.task_id] = name
        self._in_background(self._create, tracked, manifest)

    def _create(self, tracked: _Tracked, manifest: dict[str, Any]) -> None:
        try:
            store_spec(self.store, tracked.spec)  # the Job's env names it by its key
            self.client.create_job(_signed(manifest, self.store, tracked.spec))
        except TransientError as err:
            self._updates.put(("create-failed", tracked.job, str(err)))
        except FlowError as err:  # 401/403/invalid: every later call would fail too
            self._updates.put(("error", err, 0.0))
        except Exception as err:  # reported, never lost: an unreported Job is waited for forever
            why = f"task {tracked.spec.task_id} could not be submitted: {type(err).__name__}: {err}"
            self._updates.put(("create-failed", tracked.job, why))
        else:
            tracked.created = time.monotonic()

    def _watch(self, run_id: str) -> None:
        if run_id not in self._watchers:
            selector = run_selector(run_id)
            self._watchers[run_id] = [
                _Watcher(self.client, kind, selector, self._updates) for kind in ("jobs", "pods")
            ]

    # -- events ---------------------------------------------------------------------------
    def wait(self, timeout: float) -> list[TaskEvent]:
        end = time.monotonic() + timeout
        while True:
            self._dispatch()
            events, self._ready = self._ready, []
            block = 0.0 if events else max(0.0, min(end - time.monotonic(), 0.25))
            for update in self._drain(block):
                events.extend(self._on_update(update))
            events.extend(self._check_stuck())
            if events or time.monotonic() >= end:
                return events

    def _drain(self, block: float) -> list[Any]:
        items = []
        try:
            items.append(
                self._updates.get(timeout=block) if block > 0 else self._updates.get_nowait()
            )
            while True:
                items.append(self._updates.get_nowait())
        except queue.Empty:
            pass
        return items

    def _on_update(self, update: tuple[Any, ...]) -> list[TaskEvent]:
        kind = update[0]
        if kind == "error":
            raise update[1]
        if kind == "listed":
            return self._missing(update[1], update[2])
        if kind == "create-failed":
            gone = self._tracked.pop(update[1], None)
            if gone is None:
                return []
            error = ErrorInfo("infrastructure", f"Kubernetes did not take the Job: {update[2]}")
            return [TaskEvent(gone.spec.task_id, False, error)]
        if kind == "pods":
            pod: PodView = update[1]
            tracked = self._tracked.get(pod.job)
            if tracked is not None and not pod.deleted:
                tracked.pod = pod
            return []
        job: JobView = update[1]
        tracked = self._tracked.get(job.name)
        if tracked is None or job.state == "active":
            return []
        del self._tracked[job.name]
        task_id = tracked.spec.task_id
        if job.state == "complete":
            return [TaskEvent(task_id, True)]
        if job.state == "deleted":
            msg = f"the Kubernetes Job {job.name} was deleted before it finished"
            return [TaskEvent(task_id, False, ErrorInfo("infrastructure", msg))]
        return [TaskEvent(task_id, False, self._why(tracked, job))]

    def _missing(self, names: set[str], listed_at: float) -> list[TaskEvent]:
        """Jobs gone while we were not watching (TTL cleanup after a long disconnect)."""
        events = []
        for name, tracked in list(self._tracked.items()):
            if name in names or tracked.created >= listed_at:
                continue
            del self._tracked[name]
            spec = tracked.spec
            task = self._records.read_task(spec.flow, spec.run_id, spec.step, spec.index)
            if task is not None and task.attempt == spec.attempt:
                events.append(TaskEvent(spec.task_id, True))
            else:
                msg = f"the Kubernetes Job {name} disappeared before it was seen to finish"
                events.append(TaskEvent(spec.task_id, False, ErrorInfo("infrastructure", msg)))
        return events

    def _why(self, tracked: _Tracked, job: JobView) -> ErrorInfo | None:
        spec = tracked.spec
        if self._recorded_own_failure(spec):
            return None
        pod = tracked.pod
        if pod is None or pod.phase not in ("Failed", "Succeeded"):
            with contextlib.suppress(FlowError, TransientError):
                pods, _ = self.client.list_pods(f"batch.kubernetes.io/job-name={job.name}")
                pod = pods[0] if pods else pod
        error = failure(job, pod, spec)
        if pod is None:
            return error
        try:  # read before the Job's TTL takes the pod and its log with it
            lines = self.client.pod_log(pod.name).splitlines()
        except (FlowError, TransientError):
            lines = []
        return self._with_engine_log(spec, error, lines, f"the pod's log (kubectl logs {pod.name})")

    def _check_stuck(self) -> list[TaskEvent]:
        events = []
        now = time.monotonic()
        for name, tracked in list(self._tracked.items()):
            pod = tracked.pod
            if pod is None or pod.phase != "Pending" or not (pod.waiting or pod.unschedulable):
                tracked.stuck_since = None
                continue
            if tracked.stuck_since is None:
                tracked.stuck_since = now
            error = stuck(
                pod,
                tracked.spec,
                now - tracked.stuck_since,
                pull_timeout=self.options.image_pull_timeout,
                unschedulable_timeout=self.options.unschedulable_timeout,
            )
            if error is not None:
                del self._tracked[name]
                with contextlib.suppress(FlowError, TransientError):
                    self.client.delete_job(name)
                events.append(TaskEvent(tracked.spec.task_id, False, error))
        return events

    # -- cancel, logs, close ------------------------------------------------------------
    def cancel(self, task_ids: Iterable[str] | None = None) -> None:
        wanted = None if task_ids is None else set(task_ids)
        self._drop_waiting(wanted)
        self._settle()  # a Job created after its delete would be orphaned
        doomed = [n for n, t in self._tracked.items() if wanted is None or t.spec.task_id in wanted]
        for name in doomed:
            del self._tracked[name]
        if not doomed:
            return
        if wanted is None:
            for run_id in self._watchers:
                with contextlib.suppress(NotFound, TransientError):
                    self.client.delete_jobs(run_selector(run_id))
            return
        for name in doomed:
            with contextlib.suppress(TransientError):
                self.client.delete_job(name)

    def pod_name(self, task_id: str) -> str | None:
        """The pod running (or that ran) an attempt, if the cluster still has it."""
        name = self._names.get(task_id)
        if name is None:
            return None
        tracked = self._tracked.get(name)
        if tracked is not None and tracked.pod is not None:
            return tracked.pod.name
        pods, _ = self.client.list_pods(f"batch.kubernetes.io/job-name={name}")
        return pods[0].name if pods else None

    def logs(self, task_id: str, follow: bool = False) -> Iterator[str]:
        """The attempt's container log as it is written (``follow``) or as it is now."""
        pod = self.pod_name(task_id)
        if pod is None:
            return iter(())
        if follow:
            return self.client.follow_log(pod)
        return iter(self.client.pod_log(pod).splitlines())

    def _release(self) -> None:
        watchers = [w for ws in self._watchers.values() for w in ws]
        for watcher in watchers:
            watcher.stop()
        if self._client is not None:
            self._client.close()
        for watcher in watchers:
            watcher.thread.join(timeout=2)
        self._watchers.clear()


def _signed(manifest: dict[str, Any], store: BlobStore, spec: TaskSpec) -> dict[str, Any]:
    """The Job with a presigned PUT of its attempt's record in the task's env, so a pod
    that cannot get boto3 still records why it did not start (signed here, at submit:
    ``build_job`` stays pure)."""
    extra = [{"name": k, "value": v} for k, v in failure_upload_env(store, spec).items()]
    if extra:
        container = manifest["spec"]["template"]["spec"]["containers"][0]
        container["env"] = [*container.get("env", []), *extra]
    return manifest
