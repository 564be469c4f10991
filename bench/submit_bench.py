"""Submitting a 1000-task foreach to the fake Kubernetes API server (and the fake Batch endpoint).

    python bench/submit_bench.py              # 1000 tasks, medians of 5
    python bench/submit_bench.py --tasks 200 --repeat 3

What it measures, through the real driver (Runner -> executor -> official client -> HTTP):
the time from the foreach step's expansion to the last attempt handed to the cluster, and
the API calls per task made in that window. The fake cluster is paused during the window
(it stores Jobs, starts nothing), so the figure is submission cost, not task run time.
Each fake runs in its own process, like a real API server. The SDK's import (seconds,
paid once per driver) is reported separately. Nothing asserts.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jupyter_flow.errors import RunCancelled  # noqa: E402
from jupyter_flow.runtime.api import run_flow  # noqa: E402
from jupyter_flow.runtime.loader import load_flow  # noqa: E402
from jupyter_flow.runtime.observer import RunObserver  # noqa: E402
from tests.fakes.backends import AWS_TEST_ENV, batch_settings, kube_settings  # noqa: E402
from tests.fakes.batch_api import FakeBatchAPI  # noqa: E402
from tests.fakes.k8s_api import FakeKubeAPI  # noqa: E402

FLOW = """
from jupyter_flow import Flow

flow = Flow("SubmitBench", parameters={{"n": {n}}})

@flow.step(outputs=("items",))
def start(n):
    return list(range(n))

@flow.step(foreach="i in items", outputs=("y",), cpu=0.1, memory="64M")
def each(i):
    return i
"""


class _Clock(RunObserver):
    """Pauses the fake at the foreach's expansion, times until the fake stores all n jobs
    (a thread looks every 10 ms), then stops the run (cancel deletes the rest)."""

    def __init__(self, n: int, pause: Any, calls: Any, stored: Any) -> None:
        self.n, self.pause, self.calls, self.stored = n, pause, calls, stored
        self.elapsed = 0.0
        self.used = 0

    def step_expanded(self, step: str, tasks: int, to_run: int) -> None:
        if step == "each":
            self.pause()
            threading.Thread(
                target=self._time, args=(self.calls(), self.stored()), daemon=True
            ).start()

    def _time(self, calls_before: int, stored_before: int) -> None:
        started = time.perf_counter()
        while self.stored() - stored_before < self.n:
            time.sleep(0.01)
        self.elapsed = time.perf_counter() - started
        self.used = self.calls() - calls_before

    def poll(self) -> None:
        if self.elapsed:
            raise KeyboardInterrupt  # done measuring: cancel the rest


def bench(
    make_settings: Any, pause: Any, calls: Any, stored: Any, flow_path: Path, n: int, repeat: int
) -> None:
    times, per_task = [], []
    for _ in range(repeat):
        root = tempfile.mkdtemp(prefix="submit-bench-")
        clock = _Clock(n, pause, calls, stored)
        try:
            run_flow(load_flow(flow_path), settings=make_settings(root), observer=clock)
        except RunCancelled:
            pass
        times.append(clock.elapsed)
        per_task.append(clock.used / n)
    print(
        f"  submit {n} tasks: median {statistics.median(times):.2f}s "
        f"(min {min(times):.2f}, max {max(times):.2f}) · "
        f"API calls per task {statistics.median(per_task):.2f}"
    )


def _kube_fake() -> tuple[Any, Any, Any]:
    """The fake, how to pause its kubelet, and how many Jobs it stores."""
    api = FakeKubeAPI(slots=8).start()

    def pause(on: bool) -> None:
        api.cluster.paused = on

    return api, pause, lambda: len(api.cluster.jobs)


def _batch_fake() -> tuple[Any, Any, Any]:
    api = FakeBatchAPI(slots=8).__enter__()

    def pause(on: bool) -> None:
        api.slots = 0 if on else 8

    return api, pause, lambda: len(api.jobs)


FAKES = {"kubernetes": _kube_fake, "batch": _batch_fake}


def _serve_fake(kind: str, conn: Any) -> None:
    """In a child process: run one fake, answer the bench's questions over ``conn``."""
    api, pause, stored = FAKES[kind]()
    ops = {
        "pause": pause,
        "calls": lambda _: sum(api.calls.values()),
        "stored": lambda _: stored(),
    }
    conn.send({"url": api.url, "kubeconfig": str(getattr(api, "kubeconfig", ""))})
    while (request := conn.recv()) is not None:
        op, arg = request
        conn.send(ops[op](arg))
    api.stop()


class FakeInProcess:
    """A fake API server in its own process, as a real one would be: the driver's client
    threads do not share a GIL with the server's handlers."""

    def __init__(self, kind: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve_fake, args=(kind, child), daemon=True)
        self._proc.start()
        info = self._conn.recv()
        self.url, self.kubeconfig = info["url"], Path(info["kubeconfig"])
        self._lock = threading.Lock()

    def ask(self, op: str, arg: Any = None) -> Any:
        with self._lock:
            self._conn.send((op, arg))
            return self._conn.recv()

    def close(self) -> None:
        self._conn.send(None)
        self._proc.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.update(AWS_TEST_ENV)
    tmp = Path(tempfile.mkdtemp(prefix="submit-bench-flow-"))
    flow_path = tmp / "submit_bench_flow.py"
    flow_path.write_text(textwrap.dedent(FLOW.format(n=args.tasks)))

    started = time.perf_counter()
    import kubernetes  # noqa: F401

    print(f"kubernetes SDK import: {time.perf_counter() - started:.1f}s (once per driver)")
    targets = (
        ("kubernetes", "Kubernetes (fake API server, official client)", kube_settings, {}),
        ("batch", "AWS Batch (fake endpoint, boto3)", batch_settings, {"poll_interval": 1.0}),
    )
    for kind, title, make, options in targets:
        fake = FakeInProcess(kind)
        try:

            def settings(
                root: str, fake: Any = fake, make: Any = make, options: Any = options
            ) -> Any:
                fake.ask("pause", False)
                return make(fake, root, **options)

            print(f"{title}:")
            bench(
                settings,
                lambda fake=fake: fake.ask("pause", True),
                lambda fake=fake: fake.ask("calls"),
                lambda fake=fake: fake.ask("stored"),
                flow_path,
                args.tasks,
                args.repeat,
            )
        finally:
            fake.close()


if __name__ == "__main__":
    main()
