"""Submitting a 1000-task foreach to the fake Kubernetes API server (and the fake Batch endpoint).

    python bench/submit_bench.py              # 1000 tasks, medians of 5
    python bench/submit_bench.py --tasks 200 --repeat 3

What it measures, through the real driver (Runner -> executor -> official client -> HTTP):
the time from the foreach step's expansion to the last attempt handed to the cluster, and
the API calls per task made in that window. The fake cluster is paused during the window
(it stores Jobs, starts nothing), so the figure is submission cost, not task run time.
The SDK's import (seconds, paid once per driver) is reported separately. Nothing asserts.
"""

from __future__ import annotations

import argparse
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
    (a thread looks every 2 ms), then stops the run (cancel deletes the rest)."""

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
            time.sleep(0.002)
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
    with FakeKubeAPI(slots=8) as api:

        def pause() -> None:
            api.cluster.paused = True

        def calls() -> int:
            return sum(v for (m, kind, _), v in api.calls.items())

        def settings(root: str) -> Any:
            api.cluster.paused = False
            return kube_settings(api, root)

        print("Kubernetes (fake API server, official client):")

        def stored() -> int:
            return len(api.cluster.jobs)

        bench(settings, pause, calls, stored, flow_path, args.tasks, args.repeat)

    with FakeBatchAPI(slots=8) as batch:

        def pause_batch() -> None:
            batch.slots = 0

        def batch_calls() -> int:
            return sum(batch.calls.values())

        def batch_settings_for(root: str) -> Any:
            batch.slots = 8
            return batch_settings(batch, root, poll_interval=1.0)

        print("AWS Batch (fake endpoint, boto3):")

        def batch_stored() -> int:
            return len(batch.jobs)

        bench(
            batch_settings_for,
            pause_batch,
            batch_calls,
            batch_stored,
            flow_path,
            args.tasks,
            args.repeat,
        )


if __name__ == "__main__":
    main()
