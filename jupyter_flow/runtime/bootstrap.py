"""Run one task attempt in a fresh container: ``python -m jupyter_flow.task SPEC``.

The container gets only the task spec. From it the bootstrap opens the store, fetches and
unpacks the code package (once per key, cached), installs the step's declared packages
(once per package set, cached), then runs the attempt with its output both recorded in the
store and echoed to the container's stdout/stderr, so ``kubectl logs`` shows it.

Exit codes tell the executor what happened without reading the store: 0 the step
succeeded, 1 the step failed (the user's error is in the attempt record), 2 the bootstrap
itself failed (bad spec, unreachable store, missing package, pip failure), with the reason
on stderr and, when the store is reachable, in the attempt record.

``task_command`` gives executors a command for images where jupyter_flow is not installed:
a few lines of stdlib (+ boto3 for S3) that fetch the code package, which contains
jupyter_flow, and then hand over to this module.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from ..errors import ConfigError, FlowError
from ..store import open_store
from ..store.blobs import BlobStore
from ..store.records import AttemptRecord, ErrorInfo, Records
from ..tempdirs import private_tmp
from .taskspec import TaskSpec

EXIT_OK, EXIT_STEP_FAILED, EXIT_BOOTSTRAP = 0, 1, 2
SPEC_ENV = "JUPYTER_FLOW_TASK_SPEC"
USAGE = (
    "usage: python -m jupyter_flow.task SPEC\n"
    "  SPEC is a task spec as JSON, @FILE holding it, - to read it from stdin,\n"
    f"  or omitted to read it from ${SPEC_ENV}"
)


def task_environment(spec: TaskSpec, plain: Mapping[str, str]) -> list[dict[str, str]]:
    """A container's environment as Kubernetes and Batch both write it: the user's plain
    variables, then the spec this entry point reads and ids for humans and tools."""
    ours = {
        SPEC_ENV: spec.to_json(),
        "JUPYTER_FLOW_ROOT": spec.store_url,
        "JUPYTER_FLOW_FLOW": spec.flow,
        "JUPYTER_FLOW_RUN_ID": spec.run_id,
        "JUPYTER_FLOW_STEP": spec.step,
        "JUPYTER_FLOW_TASK_ID": spec.task_id,
        "PYTHONUNBUFFERED": "1",
    }
    return [{"name": k, "value": v} for k, v in {**plain, **ours}.items()]


class BootstrapError(FlowError):
    """The task could not be started (its step never ran)."""


def read_spec(
    arg: str | None, env: Mapping[str, str] | None = None, stdin: TextIO | None = None
) -> TaskSpec:
    """The spec from ``arg`` (JSON, ``@file`` or ``-``) or, without one, the environment."""
    env = os.environ if env is None else env
    if arg is None:
        text = env.get(SPEC_ENV, "")
        source = f"${SPEC_ENV}"
        if not text:
            raise BootstrapError("no task spec given", hint=USAGE)
    elif arg == "-":
        text, source = (stdin or sys.stdin).read(), "stdin"
    elif arg.startswith("@"):
        source = arg[1:]
        try:
            text = Path(source).read_text()
        except OSError as err:
            raise BootstrapError(
                f"cannot read the task spec file {source}: {err.strerror}"
            ) from None
    else:
        text, source = arg, "the command line"
    try:
        return TaskSpec.from_json(text)
    except (ValueError, KeyError, TypeError) as err:
        raise BootstrapError(
            f"the task spec from {source} is not valid: {type(err).__name__}: {err}",
            hint="pass TaskSpec.to_json() unchanged",
        ) from None


def cache_dir(kind: str, env: Mapping[str, str] | None = None) -> Path:
    """A writable cache folder: ``$JUPYTER_FLOW_CACHE/<kind>``, else the user's cache, else
    the temp folder (containers often have a read-only home)."""
    env = os.environ if env is None else env
    candidates = [env.get("JUPYTER_FLOW_CACHE", "")]
    candidates.append(
        str(Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jupyter_flow")
    )
    for base in filter(None, candidates):
        folder = Path(base) / kind
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    try:
        return private_tmp(kind)  # the temp folder, but this user's own
    except ConfigError:
        raise BootstrapError(
            f"no writable cache folder for {kind}", hint="set JUPYTER_FLOW_CACHE"
        ) from None


def _terminate(signum: int, _frame: object) -> None:
    from .task import Terminated

    raise Terminated(128 + signum)


def prepare_code(store: BlobStore, spec: TaskSpec, code_cache: Path) -> TaskSpec:
    """Unpack the code package first on ``sys.path``; the spec with the module's real path."""
    from .package import fetch_package

    if spec.code.package_key is None:
        if not Path(spec.code.module_path).is_file():
            raise BootstrapError(
                f"the flow module {spec.code.module_path} is not in this container",
                hint="remote executors must ship a code package (Executor.prepare)",
            )
        return spec
    folder = fetch_package(store, spec.code.package_key, code_cache)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    module = folder / spec.code.module_path
    if not module.is_file():
        raise BootstrapError(
            f"the code package {spec.code.package_key[:12]} has no {spec.code.module_path}"
        )
    _prefer_packaged_jupyter_flow(folder)
    return replace(spec, code=replace(spec.code, module_path=str(module)))


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(folder.rglob("*.py")):
        if "__pycache__" not in file.parts and "labextension" not in file.parts:
            digest.update(file.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _prefer_packaged_jupyter_flow(folder: Path) -> None:
    """Warn when the image's own, different jupyter_flow runs this task instead of the
    run's packaged copy (``task_command`` runs the packaged one)."""
    running = Path(__file__).resolve().parents[1]
    packaged = folder / "jupyter_flow"
    if not packaged.is_dir() or running == packaged.resolve():
        return
    if _tree_digest(running) != _tree_digest(packaged):
        print(
            f"jupyter_flow: warning: this image's jupyter_flow ({running}) differs from the "
            "run's; start tasks with bootstrap.task_command() to run the run's own copy",
            file=sys.stderr,
        )


def pip_command(packages: Sequence[str], target: Path) -> list[str]:
    """The pip invocation that installs a step's declared packages into ``target``."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        *sorted(packages),
    ]


def packages_dir(packages: Sequence[str], root: Path) -> Path:
    digest = hashlib.sha256("\n".join(sorted(set(packages))).encode()).hexdigest()[:16]
    return root / digest


def install_packages(packages: Sequence[str], root: Path) -> Path | None:
    """pip-install once per package set into a cached folder, put it on ``sys.path``."""
    if not packages:
        return None
    target = packages_dir(packages, root)
    if not (target / ".complete").is_file():
        tmp = root / f".{target.name}-{os.getpid()}.tmp"
        done = subprocess.run(
            pip_command(packages, tmp), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise BootstrapError(
                f"pip could not install {', '.join(sorted(packages))}",
                hint=(done.stderr or done.stdout).strip()[-2000:] or "see the pip output above",
            )
        (tmp / ".complete").touch()
        try:
            os.replace(tmp, target)
        except OSError:  # another task installed the same set first
            if not (target / ".complete").is_file():
                raise
    sys.path.insert(1, str(target))  # after the code package, before site-packages
    return target


def record_start_failure(
    records: Records,
    where: tuple[str, str, str, int, int],
    message: str,
    error_type: str = "BootstrapError",
) -> None:
    """Record an attempt (``where`` = flow, run id, step, index, attempt) that failed before
    the task could record anything itself; a store that fails too is reported on stderr."""
    flow, run_id, step, index, attempt = where
    now = time.time()
    record = AttemptRecord(
        flow=flow,
        run_id=run_id,
        step=step,
        index=index,
        attempt=attempt,
        status="failed",
        started=now,
        finished=now,
        error=ErrorInfo("infrastructure", message, error_type),
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    try:
        records.write_attempt(record)
    except Exception as err:  # the store itself is the problem: stderr has the message
        print(f"jupyter_flow: could not record the failure: {err}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the task named by ``argv[0]`` (or the environment); returns the exit code."""
    from .task import Terminated, run_task

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("start", "step", "finish"):  # an engine that owns the DAG
        from .driverless import main as driverless

        return driverless(args)
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(USAGE, file=sys.stderr)
        return EXIT_BOOTSTRAP
    spec: TaskSpec | None = None
    store: BlobStore | None = None
    try:
        spec = read_spec(args[0] if args else None)
        store = open_store(spec.store_url)
        spec = prepare_code(store, spec, cache_dir("code"))
        install_packages(spec.packages, cache_dir("packages"))
    except Exception as err:
        message = err.format() if isinstance(err, FlowError) else traceback.format_exc()
        print(f"jupyter_flow: the task could not start: {message}", file=sys.stderr)
        if store is not None and spec is not None:
            where = (spec.flow, spec.run_id, spec.step, spec.index, spec.attempt)
            record_start_failure(Records(store), where, message)
        return EXIT_BOOTSTRAP
    # SIGTERM (pod deleted, job terminated) unwinds normally, so the logs are uploaded
    signal.signal(signal.SIGTERM, _terminate)
    try:
        outcome = run_task(spec, store, echo=True)
    except Terminated as stop:
        return stop.code
    except Exception as err:  # the store failed while recording: not the user's step
        detail = err.format() if isinstance(err, FlowError) else traceback.format_exc()
        print(f"jupyter_flow: the task failed to run: {detail}", file=sys.stderr)
        return EXIT_BOOTSTRAP
    finally:
        store.close()
    if not outcome.ok and outcome.error is not None:
        detail = outcome.error.traceback or outcome.error.message
        print(f"jupyter_flow: step {spec.label} failed:\n{detail}", file=sys.stderr)
    return EXIT_OK if outcome.ok else EXIT_STEP_FAILED


# Runs with nothing but Python (+ boto3 for s3:// stores): fetch the code package named by
# the spec (it contains jupyter_flow), unpack it once into the cache, hand over to main().
LAUNCHER = r"""
import hashlib, io, json, os, sys, tarfile, tempfile
a = sys.argv[1] if len(sys.argv) > 1 else None
e = os.environ
t = e.get("JUPYTER_FLOW_TASK_SPEC", "") if a is None else sys.stdin.read() if a == "-" \
    else open(a[1:]).read() if a.startswith("@") else a
s = json.loads(t)
k, u = s["code"].get("package_key"), s["store_url"]
if k:
    e.setdefault("JUPYTER_FLOW_CACHE", os.path.join(tempfile.gettempdir(), "jupyter_flow"))
    d = os.path.join(e["JUPYTER_FLOW_CACHE"], "code", k)
    if not os.path.isfile(os.path.join(d, ".complete")):
        p = "blobs/%s/%s" % (k[:2], k)
        if u.startswith("s3://"):
            import boto3, botocore.config
            b, _, x = u[5:].partition("/")
            x = x.strip("/")
            n = e.get("JUPYTER_FLOW_S3_ENDPOINT_URL") or e.get("AWS_ENDPOINT_URL_S3") or None
            c = botocore.config.Config(s3={"addressing_style": "path"} if n else {})
            o = boto3.client("s3", endpoint_url=n, config=c)
            data = o.get_object(Bucket=b, Key=(x + "/" if x else "") + p)["Body"].read()
        else:
            with open(os.path.join(u[7:] if u.startswith("file://") else u, p), "rb") as f:
                data = f.read()
        if hashlib.sha256(data).hexdigest() != k:
            sys.exit("jupyter_flow: the code package %s is corrupt" % k[:12])
        w = "%s.%d.tmp" % (d, os.getpid())
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as r:
            for m in r.getmembers():
                if not m.isfile() or m.name.startswith("/") or ".." in m.name.split("/"):
                    sys.exit("jupyter_flow: bad entry in the code package: %s" % m.name)
            r.extractall(w)
        open(os.path.join(w, ".complete"), "w").close()
        try:
            os.replace(w, d)
        except OSError:
            pass
    sys.path.insert(0, d)
e["JUPYTER_FLOW_TASK_SPEC"] = t
from jupyter_flow.runtime.bootstrap import main
sys.exit(main([]))
"""


def task_command(python: str = "python", spec_arg: str | None = None) -> list[str]:
    """The container command for any image with Python (+ boto3 for S3), with or without
    jupyter_flow installed. Give the spec as ``spec_arg`` (JSON, ``@file``, ``-``) or, when
    None, in the ``JUPYTER_FLOW_TASK_SPEC`` environment variable."""
    return [python, "-c", LAUNCHER.strip()] + ([spec_arg] if spec_arg is not None else [])
