"""Saving a task's outputs: per-output saves (before issue 11) vs ``save_outputs``.

    python bench/outputs_bench.py [--repeats 9]

``save_outputs`` first looks for outputs that share objects (``store/sharing.py``) and
saves those as one group. For outputs that share nothing it must cost what the per-output
loop did: the figures show both on three unshared 100 MB arrays, the same three when two
are also held by a list output (a group), and the search alone. Minimum and median of the
repeats, in seconds; the disk is the local store in a temporary folder; the cases alternate.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_flow.store import artifacts, sharing
from jupyter_flow.store.blobs import LocalBlobs

MB = 2**20


def timed(repeats: int, work: Path, saves: list[Callable[[LocalBlobs], Any]]) -> list[list[float]]:
    """Seconds per repeat for each save; the cases alternate within a repeat, so a busy
    machine slows them alike."""
    times: list[list[float]] = [[] for _ in saves]
    for _ in range(repeats):
        for i, save in enumerate(saves):
            store = LocalBlobs(tempfile.mkdtemp(dir=work))
            start = time.perf_counter()
            save(store)
            times[i].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    arrays = {f"o{i}": np.random.default_rng(i).random(100 * MB // 8) for i in range(3)}
    shared = {"data": [arrays["o0"], arrays["o1"]], "o0": arrays["o0"], "o1": arrays["o1"]}

    def apart(values: dict[str, Any]) -> Callable[[LocalBlobs], Any]:
        return lambda s: [artifacts.save(s, k, v) for k, v in values.items()]

    def together(values: dict[str, Any]) -> Callable[[LocalBlobs], Any]:
        return lambda s: artifacts.save_outputs(s, values, task="t")

    cases = [
        ("3 x 100 MB, per-output save", apart(arrays)),
        ("3 x 100 MB, save_outputs", together(arrays)),
        ("list + 2 x 100 MB, apart", apart(shared)),
        ("list + 2 x 100 MB, grouped", together(shared)),
    ]
    print(f"{'case':<32}{'min s':>8}{'median s':>10}")
    with tempfile.TemporaryDirectory(prefix="jf-outputs-") as tmp:
        results = timed(args.repeats, Path(tmp), [save for _, save in cases])
    for (label, _), times in zip(cases, results, strict=True):
        print(f"{label:<32}{min(times):>8.3f}{statistics.median(times):>10.3f}")
    start = time.perf_counter()
    for _ in range(1000):
        sharing.shared_groups(arrays)
    print(f"search for sharing, 3 arrays: {(time.perf_counter() - start) * 1e3:.1f} us")
    rows = {"rows": [{"a": i, "b": [i]} for i in range(1_000_000)], "ids": list(range(10**6))}
    start = time.perf_counter()
    sharing.shared_groups(rows)
    print(f"search for sharing, 1M dicts + 1M ints: {(time.perf_counter() - start) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
