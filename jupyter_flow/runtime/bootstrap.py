"""Run one task attempt in a fresh container: ``python -m jupyter_flow.task SPEC``.

The container gets only the store and the key of the task spec in it (``store_spec``), so
its environment stays the same size whatever the task reads (a join over 1000 branches
would not fit in one variable: Batch caps overrides at 8192 characters, Linux one variable
at 128 KiB). From the spec the bootstrap opens the store, fetches and
unpacks the code package (once per key, cached), installs the step's declared packages
(once per package set, cached), then runs the attempt with its output both recorded in the
store and echoed to the container's stdout/stderr, so ``kubectl logs`` shows it.

Exit codes tell the executor what happened without reading the store: 0 the step
succeeded, 1 the step failed (the user's error is in the attempt record), 2 the bootstrap
itself failed (bad spec, unreachable store, missing package, pip failure), with the reason
on stderr and, when the store is reachable, in the attempt record.

``task_command`` gives executors a command for images where jupyter_flow is not installed:
``launcher.py`` (stdlib; what an S3 store needs is pip-installed when the image lacks it,
pinned by ``requirements_for``) fetches the spec and the code package, which contains
jupyter_flow, and then hands over to this module.
"""

from __future__ import annotations

import ast
import base64
import functools
import hashlib
import io
import os
import signal
import socket
import sys
import threading
import time
import tokenize
import traceback
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from ..errors import FlowError
from ..store import open_store
from ..store.blobs import BlobStore, blob_path
from ..store.records import AttemptRecord, ErrorInfo, Records, task_dir
from . import launcher
from .env_install import install_step_packages
from .taskspec import TaskSpec

EXIT_OK, EXIT_STEP_FAILED, EXIT_BOOTSTRAP = 0, 1, 2
SPEC_ENV, SPEC_KEY_ENV = launcher.SPEC_ENV, launcher.SPEC_KEY_ENV
USAGE = (
    "usage: python -m jupyter_flow.task SPEC\n"
    "  SPEC is a task spec as JSON, @FILE holding it, - to read it from stdin,\n"
    f"  or omitted to read it from ${SPEC_ENV}, or from the store $JUPYTER_FLOW_ROOT\n"
    f"  by its key ${SPEC_KEY_ENV}"
)


def store_spec(store: BlobStore, spec: TaskSpec) -> str:
    """Put the spec in the store under its SHA-256 key (the launcher checks it with the
    standard library, as it checks code packages); the key its container is given."""
    key, data = spec.to_blob()
    store.put(blob_path(key), data)
    return key


def task_environment(spec: TaskSpec, plain: Mapping[str, str]) -> list[dict[str, str]]:
    """A container's environment as Kubernetes and Batch both write it: the user's plain
    variables, then the key of the spec in the store (``store_spec``: its size does not
    grow with the task's inputs) and ids for humans and tools."""
    ours = {
        SPEC_KEY_ENV: spec.to_blob()[0],
        "JUPYTER_FLOW_ROOT": spec.store_url,
        "JUPYTER_FLOW_FLOW": spec.flow,
        "JUPYTER_FLOW_RUN_ID": spec.run_id,
        "JUPYTER_FLOW_STEP": spec.step,
        "JUPYTER_FLOW_TASK_ID": spec.task_id,
        "PYTHONUNBUFFERED": "1",
    }
    if needs := requirements_for(spec.store_url):
        ours[launcher.REQUIRES_ENV] = needs
    return [{"name": k, "value": v} for k, v in {**plain, **ours}.items()]


FAILURE_URL_SECONDS = 7 * 24 * 3600  # SigV4's longest; a role's URL ends with its session


def failure_upload_env(store: BlobStore, spec: TaskSpec) -> dict[str, str]:
    """For an executor's submit (it signs: not for the pure builders): a presigned PUT of
    the attempt's record, so a container that cannot get boto3 (or credentials) still
    records why it did not start; {} for a store that cannot sign (local ones need none)."""
    sign = getattr(store, "presigned_put", None)
    if sign is None:
        return {}
    where = task_dir(spec.flow, spec.run_id, spec.step, spec.index)
    return {
        launcher.FAILURE_URL_ENV: sign(f"{where}/attempt-{spec.attempt}.json", FAILURE_URL_SECONDS)
    }


def requirements_for(store_url: str, extra: Sequence[str] = ()) -> str:
    """What a bare image (``python:3.X-slim``) must pip-install to run tasks on this store
    (the launcher installs what it lacks): boto3 and blake3 (it names new blobs) for S3,
    plus ``extra``, pinned to the versions this process runs so tasks match their driver.
    ``$JUPYTER_FLOW_REQUIRES`` set here replaces the list (a mirror's versions, more)."""
    if os.environ.get(launcher.REQUIRES_ENV):
        return " ".join(os.environ[launcher.REQUIRES_ENV].split())
    names = (["boto3", "botocore", "blake3"] if store_url.startswith("s3://") else []) + [*extra]
    return " ".join(_pinned(name) for name in names)


@functools.cache
def _pinned(name: str) -> str:
    """``name==<installed version>``, or ``name`` when not installed here (pip chooses);
    cached: a 1000-branch foreach asks 1000 times (0.8 ms each uncached)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{name}=={version(name)}"
    except PackageNotFoundError:
        return name


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
        if not text and env.get(SPEC_KEY_ENV):
            text, source = _stored_spec(env), f"the store (${SPEC_KEY_ENV})"
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


def _stored_spec(env: Mapping[str, str]) -> str:
    """The spec blob named by ``$JUPYTER_FLOW_TASK_SPEC_KEY`` in ``$JUPYTER_FLOW_ROOT``."""
    root = env.get("JUPYTER_FLOW_ROOT")
    if not root:
        raise BootstrapError(
            f"${SPEC_KEY_ENV} is set but $JUPYTER_FLOW_ROOT, the store holding it, is not",
            hint=USAGE,
        )
    store = open_store(root)
    try:
        return bytes(store.open_blob(env[SPEC_KEY_ENV])).decode()
    finally:
        store.close()


def cache_dir(kind: str, env: Mapping[str, str] | None = None) -> Path:
    """The launcher's cache folder for ``kind`` (``launcher.cache_dir``), so a package the
    launcher unpacked is found here."""
    try:
        return launcher.cache_dir(kind, os.environ if env is None else env)
    except launcher.LaunchError as err:
        raise BootstrapError(err.message, hint=err.hint) from None


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


def _record_from_environment(message: str) -> None:
    """A spec that could not be read from the store (by its key) is recorded as the
    failure of the attempt the environment's ids name, when the store can be opened."""
    found = launcher.attempt_of(None, os.environ)
    root = os.environ.get("JUPYTER_FLOW_ROOT")
    if found is None or not root:
        return
    where = (found["flow"], found["run_id"], found["step"], found["index"], found["attempt"])
    try:
        store = open_store(root)
    except Exception as err:  # the store is the problem: stderr has the message
        print(f"jupyter_flow: could not record the failure: {err}", file=sys.stderr)
        return
    try:
        record_start_failure(Records(store), where, message)
    finally:
        store.close()


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
        install_step_packages(store, spec, cache_dir)
    except Exception as err:
        message = err.format() if isinstance(err, FlowError) else traceback.format_exc()
        print(f"jupyter_flow: the task could not start: {message}", file=sys.stderr)
        if store is not None and spec is not None:
            where = (spec.flow, spec.run_id, spec.step, spec.index, spec.attempt)
            record_start_failure(Records(store), where, message)
        elif spec is None and not args:
            _record_from_environment(message)
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


def launcher_source() -> str:
    """The text of ``launcher.py``, which containers run as ``python -c``."""
    return Path(launcher.__file__).read_text(encoding="utf-8")


def task_command(python: str = "python", spec_arg: str | None = None) -> list[str]:
    """The container command for any image with Python, with or without jupyter_flow or
    boto3 installed: ``launcher.py`` (without its docs), which installs what the image
    lacks, fetches the code package (it contains jupyter_flow) and hands over to ``main``.
    Give the spec as ``spec_arg`` (JSON, ``@file``, ``-``) or, when None, in the
    environment (``task_environment``)."""
    code = launcher_code()  # the same code; Batch caps definitions at 24 KiB
    return [python, "-c", code] + ([spec_arg] if spec_arg is not None else [])


_LAUNCHER_LOCK = threading.Lock()


def launcher_code() -> str:
    """``launcher.py`` without its docs, made once per process: it costs ~12 ms (a
    1000-task foreach would spend 12 s building the same text), and under a lock because
    CPython 3.11's ``ast`` fails when two threads parse at once."""
    with _LAUNCHER_LOCK:
        return _launcher_code()


@functools.cache
def _launcher_code() -> str:
    return without_docs(launcher_source())


def without_docs(source: str) -> str:
    """``source`` without its docstrings (found by ``ast`` positions, the same in every
    Python version) and comments (by ``tokenize``: never a ``#`` in a string), so the same
    code in fewer characters."""
    drop: set[int] = set()
    scopes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, scopes) and isinstance(node.body[0], ast.Expr):
            first = node.body[0]
            if isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                drop.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    cut = {
        token.start[0]: token.start[1]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    lines = [line[: cut.get(number)].rstrip() for number, line in enumerate(source.splitlines(), 1)]
    kept = [line for number, line in enumerate(lines, 1) if number not in drop and line]
    return "\n".join(kept) + "\n"


def packed_launcher_command(python: str, *args: str) -> list[str]:
    """``launcher.py`` compressed into one short ``python -c``, for commands that travel
    where size is capped (a Batch ``SubmitJob``'s container overrides: 8192 characters).
    Base85 has no quote, backslash or newline: the text survives shell and JSON quoting;
    docstrings and comments stay in the module (``without_docs``)."""
    text = launcher_code().encode()
    packed = base64.b85encode(zlib.compress(text, 9)).decode()
    code = f'import base64,zlib;exec(zlib.decompress(base64.b85decode("{packed}")))'
    return [python, "-c", code, *args]
