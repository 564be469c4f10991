"""What ``%%step`` costs in the kernel: per-cell overhead, and fingerprinting big inputs.

    python bench/magic_bench.py [--repeat 300] [--gib 1.0]

Targets: <= 5 ms over the same trivial cell without the magic; with inputs totalling 1 GiB
(numpy + DataFrame), fingerprinting <= 10% of one pass over the data. Prints medians
(wall and CPU: on a busy machine CPU is the stable figure); nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from IPython.core.interactiveshell import InteractiveShell

from jupyter_flow.kernel import observe


def timed(func: Callable[[], object], repeat: int) -> tuple[float, float]:
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def show(label: str, figures: tuple[float, float]) -> None:
    wall, cpu = figures
    print(f"  {label:<58} {wall * 1000:8.2f} ms {cpu * 1000:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--gib", type=float, default=1.0, help="total size of the big inputs")
    args = parser.parse_args()

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext jupyter_flow", store_history=True)
    shell.run_cell("import math\nsmall = list(range(100))", store_history=True)

    def cell(source: str) -> Callable[[], object]:
        return lambda: shell.run_cell(source, store_history=True, silent=False)

    print(f"median of {args.repeat} runs{'':<31} {'wall':>11} {'cpu':>11}")
    plain = timed(cell("x = 1"), args.repeat)
    magic = timed(cell("%%step s\nx = 1"), args.repeat)
    show("trivial cell, no magic", plain)
    show("same cell with %%step", magic)
    show("  overhead (target <= 5 ms)", (magic[0] - plain[0], magic[1] - plain[1]))
    plain_in = timed(cell("y = math.fsum(small)"), args.repeat)
    magic_in = timed(cell("%%step t\ny = math.fsum(small)"), args.repeat)
    show(
        "  overhead with a 100-item list input",
        (magic_in[0] - plain_in[0], magic_in[1] - plain_in[1]),
    )

    half = int(args.gib * 2**30 / 2)
    arr = np.random.default_rng(0).random(half // 8)
    df = pd.DataFrame(np.random.default_rng(1).random((half // 64, 8)), columns=list("abcdefgh"))
    shell.user_ns.update(arr=arr, df=df)
    total = (arr.nbytes + df.memory_usage(index=False).sum()) / 2**30
    print(
        f"big inputs: numpy {arr.nbytes / 2**20:.0f} MiB + DataFrame "
        f"{df.memory_usage(index=False).sum() / 2**20:.0f} MiB = {total:.2f} GiB"
    )
    repeat = max(5, args.repeat // 30)
    one_pass = timed(lambda: (arr.sum(), df.sum()), repeat)
    fps = timed(lambda: observe.fingerprints(shell.user_ns, ["arr", "df"]), repeat)
    show("one pass over the data (arr.sum() + df.sum())", one_pass)
    show("fingerprint arr + df (one side of the before/after)", fps)
    print(
        f"  fingerprinting before+after = {2 * fps[1] / one_pass[1]:.1%} of a pass (CPU; "
        f"target <= 10%), {2 * fps[0] / one_pass[0]:.1%} by wall time"
    )
    plain_big = timed(cell("n = arr.shape[0] + len(df)"), repeat)
    magic_big = timed(cell("%%step big\nn = arr.shape[0] + len(df)"), repeat)
    show(
        "  %%step overhead on a cell reading both",
        (magic_big[0] - plain_big[0], magic_big[1] - plain_big[1]),
    )


if __name__ == "__main__":
    main()
