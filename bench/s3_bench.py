"""A 1 GiB artifact to and from S3 (a local SeaweedFS): our store vs plain boto3.

    python bench/s3_bench.py              # 1 GiB, medians of 3
    python bench/s3_bench.py --mib 256    # smaller, quicker

Side by side, in the same run against the same server:

- ours: ``artifacts.save`` (encode, SHA-256, parallel multipart upload from the array's
  memory) and ``artifacts.load`` from a cold local cache (parallel ranged download, each
  range hashed as it arrives to verify the read, then a zero-copy memory map);
- boto3 ``upload_file`` / ``download_file`` with default settings, transfer only (the
  ``.npy`` file already written / not yet loaded);
- what a user would otherwise write: ``np.save`` + ``upload_file``, ``download_file`` +
  ``np.load``.

Every repetition stores a different array (one element changed), so deduplication never
makes ours free. Prints medians; nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jupyter_flow.store import artifacts  # noqa: E402
from jupyter_flow.store.s3 import S3Blobs, S3Options  # noqa: E402
from tests.fakes.seaweed import SeaweedS3  # noqa: E402

BUCKET = "bench"
T = TypeVar("T")


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[], T], pid: int) -> tuple[tuple[float, float, float], T]:
    """(wall, client CPU, server CPU) seconds of ``fn()``, and its result. Dirty pages left by
    the step before (the server's copy of the last upload, a file just saved) are written
    out first, so their writeback is not charged to whichever step happens to come next."""
    os.sync()
    c0, s0, start = client_cpu(), server_cpu(pid), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    return (wall, client_cpu() - c0, server_cpu(pid) - s0), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=1024, help="artifact size in MiB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="jf-s3-bench-"))
    server = SeaweedS3(work / "server")
    server.workdir.mkdir()
    server.start()
    try:
        server.create_bucket(BUCKET)
        os.environ.update(server.env)
        figures = run(server, work, args.mib, args.repeat)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    report(figures, args.mib, args.repeat)


Figures = dict[str, list[tuple[float, float, float]]]


def run(server: SeaweedS3, work: Path, mib: int, repeat: int) -> Figures:
    cache = work / "cache"
    options = S3Options.load(env={**server.env, "JUPYTER_FLOW_BLOB_CACHE": str(cache)})
    store = S3Blobs(f"s3://{BUCKET}/ours", options)
    client = server.client()  # boto3 defaults: 8 MiB parts, 10 threads
    array = np.random.default_rng(0).random(mib * (1 << 20) // 8)
    npy = work / "value.npy"
    got = work / "got.npy"
    pid = server.proc.pid if server.proc else 0
    figures: Figures = {}

    def measure(name: str, fn: Callable[[], T]) -> T:
        figure, result = timed(fn, pid)
        figures.setdefault(name, []).append(figure)
        return result

    for rep in range(repeat):
        array[0] = rep + 1.0  # a new value each time: no deduplication
        art = measure("ours up", lambda: artifacts.save(store, "a", array))
        shutil.rmtree(cache, ignore_errors=True)  # a cold cache: really download
        loaded = measure("ours down", lambda: artifacts.load(store, art))  # noqa: B023
        assert loaded[0] == rep + 1.0 and loaded.shape == array.shape
        del loaded

        key = f"boto3/{rep}.npy"
        measure("np.save", lambda: np.save(npy, array))
        measure("boto3 up", lambda: client.upload_file(str(npy), BUCKET, key))  # noqa: B023
        got.unlink(missing_ok=True)
        measure("boto3 down", lambda: client.download_file(BUCKET, key, str(got)))  # noqa: B023
        back = measure("np.load", lambda: np.load(got))
        assert back[0] == rep + 1.0
        del back
        print(f"  repetition {rep + 1}/{repeat} done", file=sys.stderr)
    store.close()
    return figures


def report(figures: Figures, mib: int, repeat: int) -> None:
    med = {
        name: tuple(statistics.median(v[i] for v in values) for i in range(3))
        for name, values in figures.items()
    }

    def row(label: str, ours: str, theirs: tuple[str, ...]) -> None:
        o = med[ours]
        t = tuple(sum(med[n][i] for n in theirs) for i in range(3))
        print(
            f"{label:<26} {o[0]:6.2f} s {mib / o[0]:5.0f} MiB/s  {t[0]:6.2f} s "
            f"{mib / t[0]:5.0f} MiB/s  {t[0] / o[0]:5.2f}x   "
            f"{o[1]:5.1f} / {t[1]:5.1f}    {o[2]:5.1f} / {t[2]:5.1f}"
        )

    print(f"\n{mib / 1024:g} GiB float64 array, SeaweedFS on 127.0.0.1, medians of {repeat}")
    print(f"{'':<26} {'ours':>17}  {'boto3 defaults':>17}  ratio   client CPU s   server CPU s")
    row("upload, transfer only", "ours up", ("boto3 up",))
    row("download, transfer only", "ours down", ("boto3 down",))
    row("upload incl. np.save", "ours up", ("np.save", "boto3 up"))
    row("download incl. np.load", "ours down", ("boto3 down", "np.load"))
    med["ours round trip"] = tuple(med["ours up"][i] + med["ours down"][i] for i in range(3))
    row(
        "round trip, save to load",
        "ours round trip",
        ("np.save", "boto3 up", "boto3 down", "np.load"),
    )
    print(
        "ours includes encoding and hashing (upload) and opening the array (download); "
        "CPU columns are ours / boto3."
    )
    # Repetitions differ a lot on a virtual machine that hands freed memory back to its
    # host (first touch of such a page costs the hypervisor a fault): show the spread.
    for direction, ours, theirs in (
        ("upload", "ours up", "boto3 up"),
        ("download", "ours down", "boto3 down"),
    ):
        ratios = sorted(t[0] / o[0] for o, t in zip(figures[ours], figures[theirs], strict=True))
        print(
            f"{direction} ratio per repetition: median {statistics.median(ratios):.2f}x, "
            f"range {ratios[0]:.2f}x-{ratios[-1]:.2f}x over {len(ratios)}"
        )
    # The server's own work caps every client: on this many cores, even a client that
    # cost nothing could not beat (server CPU s / cores).
    cores = os.cpu_count() or 1
    for direction, ours, theirs in (
        ("upload", "ours up", "boto3 up"),
        ("download", "ours down", "boto3 down"),
    ):
        server_s = min(med[ours][2], med[theirs][2])
        floor = server_s / cores
        print(
            f"{direction}: the server alone used {server_s:.1f} CPU s; on {cores} cores no "
            f"client can take less than {floor:.2f} s, i.e. at best "
            f"{med[theirs][0] / floor:.2f}x boto3's time"
        )


if __name__ == "__main__":
    main()
