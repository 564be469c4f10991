"""Engine benchmarks, side by side with Metaflow's local runtime and raw pickle-5.

    python bench/engine_bench.py            # the quick set (Metaflow foreach up to 100)
    python bench/engine_bench.py --full     # also Metaflow foreach 1000 (takes minutes)
    python bench/engine_bench.py --only startup   # whole-process 5/12-step runs, >= 5 repeats

Both tools run with bytecode caching on (as a user's Python has it), in a cache folder of
the bench's own, warmed up by a first run of each.

Prints medians over repeats; nothing here asserts: the figures go in the issue notes.
Needs `pip install -e '.[bench]'` (metaflow, numpy, pandas).
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

OURS_FOREACH = """
from jupyter_flow import Flow
flow = Flow("BenchForeach", parameters={"n": 100})

@flow.step(outputs="items")
def start(n):
    return list(range(n))

@flow.step(foreach="item in items", outputs="y")
def each(item):
    return item * 2

@flow.step(outputs="total")
def join(y):
    return sum(y)

if __name__ == "__main__":
    flow.main()
"""

MF_FOREACH = """
from metaflow import FlowSpec, Parameter, step

class BenchForeach(FlowSpec):
    n = Parameter("n", default=100)

    @step
    def start(self):
        self.items = list(range(self.n))
        self.next(self.each, foreach="items")

    @step
    def each(self):
        self.y = self.input * 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.y for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    BenchForeach()
"""


OURS_ITEMS = """
import random
from jupyter_flow import Flow
flow = Flow("BenchItems", parameters={"n": 100})

@flow.step(outputs="chunks")
def make(n):
    return [random.Random(i).randbytes(100 << 10) for i in range(n)]

@flow.step(foreach="chunk in chunks", outputs="size")
def each(chunk):
    return len(chunk)

@flow.step(outputs="total")
def join(size):
    return sum(size)

if __name__ == "__main__":
    flow.main()
"""

CHAINS = (2, 5, 12)  # linear flows; 12 minus 2 gives the marginal cost of a step


def ours_chain(n: int) -> str:
    lines = ["from jupyter_flow import Flow", f'flow = Flow("BenchChain{n}")', ""]
    lines += ['@flow.step(outputs="x")', "def s0():", "    return 0", ""]
    for i in range(1, n):
        lines += ['@flow.step(outputs="x")', f"def s{i}(x):", "    return x + 1", ""]
    lines += ['if __name__ == "__main__":', "    flow.main()", ""]
    return "\n".join(lines)


def mf_chain(n: int) -> str:
    names = ["start", *(f"s{i}" for i in range(1, n - 1)), "end"]
    lines = ["from metaflow import FlowSpec, step", "", f"class BenchChain{n}(FlowSpec):"]
    for i, name in enumerate(names):
        lines += [
            "    @step",
            f"    def {name}(self):",
            "        self.x = getattr(self, 'x', 0) + 1",
        ]
        if name != "end":
            lines.append(f"        self.next(self.{names[i + 1]})")
        lines.append("")
    lines += ['if __name__ == "__main__":', f"    BenchChain{n}()", ""]
    return "\n".join(lines)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return elapsed


def median_of(repeats: int, fn) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(fn() for _ in range(repeats))


def bench_env(work: Path, **extra: str) -> dict[str, str]:
    """The environment of both tools' runs: their own stores, and bytecode cached (a
    ``PYTHONDONTWRITEBYTECODE`` left by a test harness would recompile every module)."""
    env = {**os.environ, "JUPYTER_FLOW_ROOT": str(work / "jf"), "USERNAME": "bench"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    env["METAFLOW_HOME"] = str(work / "mfhome")
    return {**env, **extra}


def bench_startup(work: Path, repeats: int) -> None:
    """Whole-process time of short linear runs, ours and Metaflow's interleaved (so a busy
    machine slows both alike); ours also with workers started as new interpreters."""
    repeats = max(5, repeats)
    env, spawn_env = bench_env(work), bench_env(work, JUPYTER_FLOW_WORKER_START="spawn")
    py = sys.executable
    for n in (5, 12):
        (work / f"ours_chain{n}.py").write_text(ours_chain(n))
        (work / f"mf_chain{n}.py").write_text(mf_chain(n))
    ours_cmd = lambda n: [py, f"ours_chain{n}.py", "run", "-q"]  # noqa: E731
    mf_cmd = lambda n: [py, f"mf_chain{n}.py", "--quiet", "--no-pylint", "run"]  # noqa: E731
    for n in (5, 12):  # warm-up: stores created, bytecode cached, OS caches filled
        timed(ours_cmd(n), work, env)
        timed(mf_cmd(n), work, env)
    bare = median_of(repeats, lambda: timed([py, "-c", "pass"], work, env))
    print(f"\nwhole process, median of {repeats} (python -c pass: {1000 * bare:.0f} ms)")
    print(
        f"{'linear run':<14}{'ours (ms)':>11}{'spawned (ms)':>14}"
        f"{'metaflow (ms)':>15}{'ours/mf':>10}"
    )
    for n in (5, 12):
        ours, spawned, mf = [], [], []
        for _ in range(repeats):
            ours.append(timed(ours_cmd(n), work, env))
            spawned.append(timed(ours_cmd(n), work, spawn_env))
            mf.append(timed(mf_cmd(n), work, env))
        o, s, m = (statistics.median(x) for x in (ours, spawned, mf))
        print(
            f"{f'{n} steps':<14}{1000 * o:>11.0f}{1000 * s:>14.0f}{1000 * m:>15.0f}"
            f"{f'1/{m / o:.1f}':>10}"
        )
    print("(goal: 5 steps <= 1/20 of Metaflow; spawned: JUPYTER_FLOW_WORKER_START=spawn)")


def bench_items(work: Path, repeats: int) -> None:
    """A foreach over N items of 100 KiB: whole run per item as N grows (flat when each
    task reads only its own item; it grew with N when every task loaded the whole list)."""
    env = bench_env(work)
    (work / "ours_items.py").write_text(OURS_ITEMS)
    timed([sys.executable, "ours_items.py", "run", "-q", "--param", "n=10"], work, env)
    print(f"\nforeach over N items of 100 KiB, median of {repeats}")
    print(f"{'N':>6}{'run (s)':>10}{'ms per item':>13}")
    for n in (100, 400, 800):
        cmd = [sys.executable, "ours_items.py", "run", "-q", "--param", f"n={n}"]
        seconds = median_of(repeats, lambda cmd=cmd: timed(cmd, work, env))
        print(f"{n:>6}{seconds:>10.2f}{1000 * seconds / n:>13.1f}")


def disk_use(folder: Path) -> int:
    """Bytes of disk the folder takes (allocated blocks, as ``du`` counts, folders too)."""
    total = folder.lstat().st_blocks * 512
    for path in folder.rglob("*"):
        total += path.lstat().st_blocks * 512
    return total


def bench_store_size(work: Path) -> None:
    """Disk per trivial task at rest: a foreach of N, less the same flow's run at N=1."""
    py = sys.executable
    print("\nstore size per trivial task (disk blocks, as du counts)")
    print(f"{'foreach N':>10}{'ours (KB)':>12}{'metaflow (KB)':>15}")
    for n in (200, 2000):
        row = []
        for tool, text in (("ours", OURS_FOREACH), ("mf", MF_FOREACH)):
            if tool == "mf" and n > 200:
                row.append(None)  # Metaflow takes minutes for 2000 tasks; per task is flat
                continue
            sizes = []
            for count in (1, n):
                folder = work / f"size-{tool}-{count}-{n}"
                folder.mkdir()
                (folder / "flow.py").write_text(textwrap.dedent(text))
                env = bench_env(folder)
                cmd = [py, "flow.py", "run", "-q", "--param", f"n={count}"]
                if tool == "mf":
                    cmd = [py, "flow.py", "--quiet", "--no-pylint", "run", "--n", str(count)]
                    cmd += ["--max-num-splits", str(max(count, 100))]
                timed(cmd, folder, env)
                store = folder / ("jf" if tool == "ours" else ".metaflow")
                sizes.append(disk_use(store))
            row.append((sizes[1] - sizes[0]) / (n - 1) / 1024)
        mf_text = f"{row[1]:>15.1f}" if row[1] is not None else f"{'-':>15}"
        print(f"{n:>10}{row[0]:>12.2f}{mf_text}")
    print("(goal: <= 2 KB per trivial task)")


def bench_runtimes(work: Path, full: bool, repeats: int) -> None:
    env = bench_env(work)
    for name, text in [
        ("ours_foreach.py", OURS_FOREACH),
        ("mf_foreach.py", MF_FOREACH),
        *((f"ours_chain{n}.py", ours_chain(n)) for n in CHAINS),
        *((f"mf_chain{n}.py", mf_chain(n)) for n in CHAINS),
    ]:
        (work / name).write_text(textwrap.dedent(text))
    py = sys.executable
    seen: dict[str, tuple[float, float | None]] = {}
    # warm up: the first run creates the store and fills the OS caches for both tools
    timed([py, "ours_chain2.py", "run", "-q"], work, env)
    timed([py, "mf_chain2.py", "--quiet", "--no-pylint", "run"], work, env)
    print(f"{'workload':<28}{'jupyter_flow':>14}{'metaflow':>12}{'ratio':>8}   (median wall s)")
    rows = [(f"linear {n} steps", f"chain{n}", n, [], []) for n in CHAINS]
    for n in (100, 1000):
        rows.append((f"foreach {n}", "foreach", n + 2, ["--param", f"n={n}"], ["--n", str(n)]))
    for label, script, tasks, ours_args, mf_args in rows:
        ours = median_of(
            repeats,
            lambda s=script, a=ours_args: timed(  # type: ignore[misc]
                [py, f"ours_{s}.py", "run", "-q", *a], work, env
            ),
        )
        mf_runs = repeats if (tasks < 500 or full) else 0
        mf = (
            median_of(
                mf_runs,
                lambda s=script, a=mf_args: timed(  # type: ignore[misc]
                    [py, f"mf_{s}.py", "--quiet", "--no-pylint", "run", *a], work, env
                ),
            )
            if mf_runs
            else None
        )
        mf_text = f"{mf:>12.2f}" if mf is not None else f"{'(--full)':>12}"
        ratio = f"{mf / ours:>7.1f}x" if mf else ""
        print(f"{label:<28}{ours:>14.2f}{mf_text}{ratio}")
        seen[label] = (ours, mf)
        print(
            f"{'  per task (ms)':<28}{1000 * ours / tasks:>14.1f}"
            + (f"{1000 * mf / tasks:>12.1f}" if mf else "")
        )
    (o2, m2), (o12, m12) = seen["linear 2 steps"], seen["linear 12 steps"]
    if m2 is not None and m12 is not None:
        ours_marginal, mf_marginal = (o12 - o2) / 10, (m12 - m2) / 10
        if ours_marginal < 0.002:  # below what this timing can resolve
            ours_text, ratio_text = "< 2", f"> {mf_marginal / 0.002:.0f}x"
        else:
            ours_text, ratio_text = (
                f"{1000 * ours_marginal:.1f}",
                f"{mf_marginal / ours_marginal:.1f}x",
            )
        print(
            f"{'marginal per step (ms)':<28}{ours_text:>14}{1000 * mf_marginal:>12.1f}"
            f"{ratio_text:>8}   (linear 12 minus linear 2, over 10)"
        )


def bench_artifacts(work: Path, repeats: int) -> None:
    import numpy as np
    import pandas as pd

    from jupyter_flow.store import artifacts
    from jupyter_flow.store.blobs import LocalBlobs

    rng = np.random.default_rng(0)
    arr = rng.random(2**27)  # 1 GiB float64
    df = pd.DataFrame({f"c{i}": np.random.default_rng(i).random(10_000_000) for i in range(5)})
    n = 2_000_000
    mixed = pd.DataFrame(
        {
            "id": np.arange(n),
            "price": rng.random(n),
            "city": rng.choice(["Berlin", "Paris", "Lisbon", "Oslo", "Rome"], n),
            "sku": [f"SKU-{i:08d}" for i in rng.integers(0, 10**8, n)],
            "qty": rng.integers(0, 100, n),
        }
    )
    small = {f"k{i}": rng.random(64) for i in range(10_000)}
    print(f"\n{'artifact':<28}{'ours save+load':>16}{'raw pickle-5':>14}{'ours/raw':>10}  (GiB/s)")
    for label, value, nbytes in [
        ("1 GiB float64 array", arr, arr.nbytes),
        ("DataFrame 10M x 5", df, int(df.memory_usage().sum())),
        ("DataFrame 2M, 2 str cols", mixed, int(mixed.memory_usage(deep=True).sum())),
        ("dict of 10k small arrays", small, sum(a.nbytes for a in small.values())),
    ]:

        def ours(value=value) -> float:  # type: ignore[no-untyped-def]
            store = LocalBlobs(tempfile.mkdtemp(dir=work))
            start = time.perf_counter()
            art = artifacts.save(store, "x", value)
            loaded = artifacts.load(store, art)
            _touch(loaded)
            return time.perf_counter() - start

        def raw(value=value) -> float:  # type: ignore[no-untyped-def]
            path = Path(tempfile.mkdtemp(dir=work)) / "x.pkl"
            start = time.perf_counter()
            with open(path, "wb") as fh:
                pickle.dump(value, fh, protocol=5)
            with open(path, "rb") as fh:
                loaded = pickle.load(fh)
            _touch(loaded)
            return time.perf_counter() - start

        t_ours, t_raw = median_of(repeats, ours), median_of(repeats, raw)
        gib = nbytes / 2**30
        print(f"{label:<28}{gib / t_ours:>16.2f}{gib / t_raw:>14.2f}{t_raw / t_ours:>9.0%}")


def _touch(value: object) -> None:
    """Read every byte once, so lazily mapped data is really loaded."""
    import numpy as np

    if isinstance(value, np.ndarray):
        float(value.sum())
    elif isinstance(value, dict):
        sum(float(a.sum()) for a in value.values())
    else:  # object columns are unpickled whole; numeric ones may be mapped lazily
        float(value.select_dtypes("number").to_numpy().sum())  # type: ignore[attr-defined]


PEAK = """
import resource, sys, numpy as np
from jupyter_flow.store import artifacts
from jupyter_flow.store.blobs import LocalBlobs
arr = np.random.default_rng(0).random(2**27)
store = LocalBlobs(sys.argv[1])
art = artifacts.save(store, "x", arr)
del arr
loaded = artifacts.load(store, art)
float(loaded.sum())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def bench_peak_memory(work: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PEAK, str(work / "peak")],
        capture_output=True,
        text=True,
        check=True,
    )
    peak = int(out.stdout.strip())
    print(
        f"\npeak RSS saving + loading a 1 GiB array: {peak / 2**30:.2f} GiB "
        f"({peak / 2**30:.2f}x the artifact)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="Metaflow foreach 1000 too")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--only", choices=["runtime", "startup", "items", "artifacts", "memory", "size"]
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jf-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "runtime"):
            bench_runtimes(work, args.full, args.repeats)
        if args.only in (None, "startup"):
            bench_startup(work, args.repeats)
        if args.only in (None, "items"):
            bench_items(work, args.repeats)
        if args.only in (None, "artifacts"):
            bench_artifacts(work, args.repeats)
        if args.only in (None, "memory"):
            bench_peak_memory(work)
        if args.only in (None, "size"):
            bench_store_size(work)


if __name__ == "__main__":
    main()
