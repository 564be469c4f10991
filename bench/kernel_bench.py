"""Kernel-side runner benchmarks, in a real kernel (jupyter_client + ipykernel).

    python bench/kernel_bench.py [--repeats 5] [--tasks 1000]

1. Latency from sending ``%flow run`` to the first task running (the attempt record's start
   time), for the first run of a fresh kernel (pays the imports) and for later runs.
2. A ``--tasks``-wide foreach watched by the widget: messages the kernel sent to the
   frontend for the view (comm + display updates) and their rate, against the task count;
   and the kernel's responsiveness while that run goes on in the background (round trip of
   a trivial cell).

Prints medians; nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

REPO = Path(__file__).resolve().parents[1]
LOAD = "%load_ext jupyter_flow"
SMALL = [LOAD, "%%step first\nx = 1", "%%step second\ny = x + 1"]
WIDE = [
    LOAD,
    "%%params\nn = 1000",
    "%%step make\nxs = list(range(n))",
    "%%step each --foreach x in xs\ny = x + 1",
    "%%step total\ntotal = sum(y)",
]


class Kernel:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)

    def run(self, code: str) -> tuple[float, dict[str, int], float]:
        """(seconds, message counts by type, send time) of one cell, waiting for its end."""
        sent = time.time()
        msg_id = self.kc.execute(code)
        counts: dict[str, int] = {}
        while True:
            msg = self.kc.get_iopub_msg(timeout=600)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            counts[msg["msg_type"]] = counts.get(msg["msg_type"], 0) + 1
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        while self.kc.get_shell_msg(timeout=600)["parent_header"].get("msg_id") != msg_id:
            pass
        return time.time() - sent, counts, sent

    def ask(self, code: str) -> tuple[float, str]:
        """(round trip, printed text) of a short cell."""
        sent = time.time()
        msg_id = self.kc.execute(code)
        text = ""
        while True:
            msg = self.kc.get_iopub_msg(timeout=600)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                text += msg["content"]["text"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        while self.kc.get_shell_msg(timeout=600)["parent_header"].get("msg_id") != msg_id:
            pass
        return time.time() - sent, text

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def save(folder: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, folder / "nb.ipynb")


def first_task_start(run_dir: Path) -> float:
    starts = []
    for path in run_dir.glob("*/*/attempt-1.json"):
        if "/_parameters/" not in str(path):
            starts.append(json.loads(path.read_text())["started"])
    return min(starts)


def latency(repeats: int) -> None:
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            save(folder, SMALL)
            env = dict(
                os.environ,
                PYTHONPATH=str(REPO),
                JUPYTER_FLOW_ROOT=str(folder / "store"),
                JPY_SESSION_NAME=str(folder / "nb.ipynb"),
            )
            kernel = Kernel(folder, env)
            try:
                kernel.run(LOAD)
                for i in range(3):
                    _, _, sent = kernel.run("%flow run")
                    runs = sorted((folder / "store" / "runs").glob("NbFlow/*/run.json"))
                    delay = first_task_start(runs[-1].parent) - sent
                    (cold if i == 0 else warm).append(delay)
            finally:
                kernel.stop()
    with tempfile.TemporaryDirectory() as tmp:
        kernel = Kernel(Path(tmp), dict(os.environ, PYTHONPATH=str(REPO)))
        try:
            _, text = kernel.ask(
                "import time\nt = time.perf_counter()\nimport nbformat\n"
                "print(time.perf_counter() - t)"
            )
        finally:
            kernel.stop()
    print(
        f"importing nbformat in a fresh kernel costs {float(text):.2f}s; export reads notebooks "
        "as JSON and imports it only to explain a broken one"
    )
    print(
        f"%flow run -> first task running: first run of a kernel {statistics.median(cold):.2f}s"
        f" (median of {len(cold)}), later runs {statistics.median(warm):.2f}s"
        f" (median of {len(warm)})"
    )


def wide(tasks: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cells = [c.replace("n = 1000", f"n = {tasks}") for c in WIDE]
        save(folder, cells)
        env = dict(
            os.environ,
            PYTHONPATH=str(REPO),
            JUPYTER_FLOW_ROOT=str(folder / "store"),
            JPY_SESSION_NAME=str(folder / "nb.ipynb"),
        )
        kernel = Kernel(folder, env)
        try:
            kernel.run(LOAD)
            seconds, counts, _ = kernel.run("%flow run")
            view = counts.get("comm_msg", 0) + counts.get("update_display_data", 0)
            print(
                f"foreach of {tasks} tasks, blocking: run cell {seconds:.1f}s, "
                f"view messages {view} ({view / seconds:.1f}/s; "
                f"comm {counts.get('comm_msg', 0)}, display updates "
                f"{counts.get('update_display_data', 0)}), "
                f"{view / (2 * tasks):.3f} messages per task event"
            )
            kernel.run("import jupyter_flow")
            kernel.run("h = jupyter_flow.run(background=True)")
            trips = []
            while True:
                took, text = kernel.ask("print(h.done)")
                trips.append(took)
                if "True" in text:
                    break
                time.sleep(0.2)
            print(
                f"background run of {tasks} tasks: a trivial cell's round trip meanwhile, "
                f"median {statistics.median(trips) * 1000:.0f} ms, "
                f"max {max(trips) * 1000:.0f} ms over {len(trips)} cells"
            )
        finally:
            kernel.stop()


WIDE_MODULE = """
from jupyter_flow import Flow
flow = Flow("WideView", parameters={"n": 1000})

@flow.step(outputs="xs")
def make(n):
    return list(range(n))

@flow.step(foreach="x in xs", outputs="y")
def each(x):
    print("item", x)
    return x + 1
"""


def observer_cost(tasks: int, repeats: int) -> None:
    """Driver-side cost of the widget observer (no kernel: comms are no-ops), per run."""
    from jupyter_flow.kernel.widgets import RunView
    from jupyter_flow.runtime.api import run_flow
    from jupyter_flow.runtime.loader import load_flow
    from jupyter_flow.store import open_store

    costs, messages, runs = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "wide_view.py"
            path.write_text(WIDE_MODULE)
            root = str(Path(tmp) / "store")
            view = RunView(open_store(root), publish=lambda bundle, _id: None)
            spent = [0.0]
            for name in ("run_started", "step_expanded", "task_started", "task_finished", "poll"):
                method = getattr(view, name)

                def timed(*args, _m=method, _spent=spent, **kwargs):  # type: ignore[no-untyped-def]
                    t = time.perf_counter()
                    try:
                        return _m(*args, **kwargs)
                    finally:
                        _spent[0] += time.perf_counter() - t

                setattr(view, name, timed)
            started = time.perf_counter()
            run_flow(load_flow(path), {"n": tasks}, root=root, max_workers=2, observer=view)
            runs.append(time.perf_counter() - started)
            costs.append(spent[0])
            messages.append(view.messages)
    print(
        f"widget observer, foreach of {tasks} tasks: run {statistics.median(runs):.1f}s, "
        f"observer time {statistics.median(costs) * 1000:.0f} ms "
        f"({statistics.median(costs) / statistics.median(runs) * 100:.1f}% of the run), "
        f"view updates {statistics.median(messages):.0f} (median of {repeats})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=1000)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    parser.add_argument("--only", choices=["latency", "kernel", "observer"])
    args = parser.parse_args()
    if args.only in (None, "observer"):
        observer_cost(args.tasks, 3)
    if args.only in (None, "latency"):
        latency(args.repeats)
    if args.only in (None, "kernel"):
        wide(args.tasks)


if __name__ == "__main__":
    main()
