"""Tasks without a driver: ``python -m jupyter_flow.task start|step|finish ...``.

An engine that owns the DAG itself (Argo Workflows, see ``schedule/argo_render.py``) runs
each step as its own pod, with no jupyter_flow driver to hand it a task spec. So a task works
from names: ``start`` records the run and its parameters, ``step`` resolves its inputs from
the finished upstream task records in the store (``inputs.py``, the driver's own rules) and
runs one task, ``finish`` records how the engine says the run ended. ``--foreach-out
ITEMS=PATH`` writes the JSON list of item indexes of the foreach over ``ITEMS`` that reads
this task's output, for the engine to fan out over (Argo's ``withParam``).

Exit codes as for the bootstrap: 0 done, 1 the step failed (the user's error is in the
attempt record), 2 the task could not run (reason on stderr and, for a step, in its attempt).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import FlowError
from ..flow.dag import PARAMS, Dag
from ..flow.spec import Flow
from ..store import artifacts, open_store
from ..store.blobs import BlobStore
from ..store.records import (
    AttemptRecord,
    ErrorInfo,
    Records,
    RunRecord,
    RunStatus,
    StepInfo,
    TaskRecord,
)
from .bootstrap import (
    EXIT_BOOTSTRAP,
    EXIT_OK,
    EXIT_STEP_FAILED,
    BootstrapError,
    cache_dir,
    record_start_failure,
)
from .env_install import install_step_packages
from .inputs import foreach_count, split_outputs, step_input, step_inputs, task_inputs
from .loader import module_name_for
from .taskspec import CodeRef, TaskSpec

VERBS = ("start", "step", "finish")
ENGINE = "external"  # the run record's executor when the engine does not say its name
HEARTBEAT_EVERY = 5.0
STATUSES: dict[str, RunStatus] = {"Succeeded": "done", "Failed": "failed", "Error": "failed"}
RETRIES_PLACEHOLDER = "{{retries}}"  # left as is by Argo on a template without retries


def parser() -> argparse.ArgumentParser:
    """The verbs' arguments; ``argo_render`` emits exactly these (tested against it)."""
    top = argparse.ArgumentParser(prog="python -m jupyter_flow.task", allow_abbrev=False)
    sub = top.add_subparsers(dest="verb", required=True)

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, allow_abbrev=False)
        p.add_argument("--module", required=True, help="the flow module file")
        p.add_argument("--flow", required=True, help="the flow's name")
        p.add_argument("--run-id", required=True, help="the run (Argo: the workflow's name)")
        p.add_argument("--root", required=True, help="the store root")
        p.add_argument("--package", metavar="KEY", help="code package holding the module")
        return p

    def foreach_out(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--foreach-out",
            action="append",
            default=[],
            metavar="ITEMS=PATH",
            help="write the item indexes of the foreach over ITEMS to PATH (a JSON list)",
        )

    p = verb("start", "record the run and its parameters")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument(
        "--schedule",
        default="",
        metavar="NAME",
        help="the schedule that started this run (set by schedule targets)",
    )
    p.add_argument(
        "--engine",
        default=ENGINE,
        metavar="NAME",
        help="what owns the DAG (the run record's executor): the schedule target's name",
    )
    foreach_out(p)
    p = verb("step", "run one task of a step from its finished upstream tasks")
    p.add_argument("--step", required=True)
    p.add_argument("--index", type=int, required=True, help="the foreach item (else 0)")
    p.add_argument("--attempt", type=_retries, default=0, help="retries so far (Argo's, from 0)")
    foreach_out(p)
    p = verb("finish", "record how the run ended")
    p.add_argument("--status", required=True, choices=sorted(STATUSES))
    return top


def _retries(text: str) -> int:
    if text == RETRIES_PLACEHOLDER:
        return 0
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    return parser().parse_args(list(argv))


def main(argv: Sequence[str]) -> int:
    """Run one verb; returns the exit code (argparse errors exit 2 with the usage)."""
    try:
        args = parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    try:
        store = open_store(args.root)
    except Exception as err:
        return _cannot(args.verb, err)
    try:
        if args.verb == "step":
            return _step(args, store)
        if args.verb == "start":
            _start(args, store, _load(args, store))
        else:  # needs no user code: the run ends even when the module cannot be imported
            _finish(args, store)
        return EXIT_OK
    except Exception as err:
        return _cannot(args.verb, err)
    finally:
        store.close()


def _cannot(verb: str, err: BaseException) -> int:
    message = err.format() if isinstance(err, FlowError) else traceback.format_exc()
    print(f"jupyter_flow: {verb} could not run: {message}", file=sys.stderr)
    return EXIT_BOOTSTRAP


def _load(args: argparse.Namespace, store: BlobStore) -> Flow:
    """The flow from ``--module``, or from the code package when the module is not here."""
    from .loader import load_flow
    from .package import fetch_package

    module = Path(args.module)
    if not module.is_file():
        if not args.package:
            raise BootstrapError(
                f"the flow module {module} is not here and no --package was given",
                hint="pass --package KEY (the schedule's code package)",
            )
        folder = fetch_package(store, args.package, cache_dir("code"))
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        module = folder / module.name
        if not module.is_file():
            raise BootstrapError(f"the code package {args.package[:12]} has no {module.name}")
    return load_flow(module, args.flow)


# -- start / finish ---------------------------------------------------------------------


def _start(args: argparse.Namespace, store: BlobStore, flow: Flow) -> None:
    """Like the driver's start: the run record, then the parameters as a done task."""
    from .cli_engine import _params

    dag = flow.dag()
    records = Records(store)
    if records.read_run(flow.name, args.run_id) is not None:
        raise BootstrapError(f"run {flow.name}/{args.run_id} already exists")
    values = flow.resolve_parameters(_params(args.param))
    now = time.time()
    saved = tuple(artifacts.save(store, k, v) for k, v in values.items())
    params = TaskRecord(flow.name, args.run_id, PARAMS, 0, "done", 1, now, now, saved)
    record = RunRecord(
        flow=flow.name,
        run_id=args.run_id,
        status="running",
        created=now,
        params={a.name: a.summary for a in saved},
        steps=tuple(_step_info(flow, dag, name) for name in dag.order),
        module_path=flow.module_file or "",
        executor=args.engine,
        host=socket.gethostname(),
        final=dict(dag.final),
        schedule=args.schedule,
    )
    records.write_run(record)
    records.write_task(params)
    _beat(records, record)
    _index(store, record)
    _write_foreach_out(args.foreach_out, flow, dag, PARAMS, {PARAMS: {0: params}}, {})


def _step_info(flow: Flow, dag: Dag, name: str) -> StepInfo:
    step = flow.steps[name]
    return StepInfo(
        name=name,
        upstream=dag.upstream[name],
        foreach=str(step.foreach) if step.foreach else None,
        outputs=step.outputs,
        inputs=step.reads,
    )


def _finish(args: argparse.Namespace, store: BlobStore) -> None:
    records = Records(store)
    record = records.read_run(args.flow, args.run_id)
    if record is None:
        raise BootstrapError(
            f"run {args.flow}/{args.run_id} was never started",
            hint="the start task failed: see its log",
        )
    status = STATUSES[args.status]
    if status == "done":
        record = records.set_run_status(record, status)
    else:
        failed = _last_failure(records, record)
        error = failed.error if failed and failed.error else None
        record = records.set_run_status(
            record,
            status,
            error=error or ErrorInfo("infrastructure", f"the workflow ended: {args.status}"),
            failed_step=failed.step if failed else None,
        )
    _index(store, record)


def _last_failure(records: Records, run: RunRecord) -> AttemptRecord | None:
    """The latest failed attempt of a task that never finished: why the run failed."""
    failed = [
        a
        for a in records.attempts(run.flow, run.run_id)
        if a.status == "failed" and records.read_task(run.flow, run.run_id, a.step, a.index) is None
    ]
    return max(failed, key=lambda a: a.finished or a.started, default=None)


def _beat(records: Records, run: RunRecord) -> None:
    # pid 0: no one process drives the run, so readers judge liveness by the beat's age
    records.heartbeat(run.flow, run.run_id, socket.gethostname(), 0)


@contextlib.contextmanager
def _beating(records: Records, run: RunRecord) -> Iterator[None]:
    """Keep the run looking alive while a long step runs (there is no driver to beat)."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed beat is not the step's failure
                _beat(records, run)
            if stop.wait(HEARTBEAT_EVERY):
                return

    thread = threading.Thread(target=loop, name="jupyter_flow-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=HEARTBEAT_EVERY)


def _index(store: BlobStore, record: RunRecord) -> None:
    """Keep a local root's run index current (a remote root's index is the reader's cache)."""
    from ..store.index import RunIndex, index_path

    local = store.local_path("index.sqlite")
    if local is not None:
        RunIndex(index_path(store.url, local.parent)).upsert(record)


# -- step -------------------------------------------------------------------------------

Done = dict[str, dict[int, TaskRecord]]


def _collect(
    records: Records,
    flow: Flow,
    dag: Dag,
    run_id: str,
    name: str,
    done: Done,
    counts: dict[str, int],
) -> None:
    """Read the done tasks of ``name`` into ``done``, checking every task it has is there."""
    if name in done:
        return
    if name == PARAMS:
        task = records.read_task(flow.name, run_id, PARAMS, 0)
        if task is None:
            raise BootstrapError(
                f"run {flow.name}/{run_id} has no parameters: its start task did not finish"
            )
        done[PARAMS] = {0: task}
        return
    step = flow.steps[name]
    count = 1
    if step.foreach:
        items = step.foreach.items
        _collect(records, flow, dag, run_id, dag.sources[name][items], done, counts)
        count = foreach_count(step, step_input(flow, dag, step, items, done))
    found = {t.index: t for t in records.tasks(flow.name, run_id, name) if t.step == name}
    missing = [i for i in range(count) if i not in found]
    if missing:
        raise BootstrapError(
            f"step {name!r} has not finished: task {missing[0]} of {count} has no record",
            hint="the engine must run a step only after the steps it reads from",
        )
    counts[name] = count
    done[name] = {i: found[i] for i in range(count)}


def _step(args: argparse.Namespace, store: BlobStore) -> int:
    records = Records(store)
    attempt = args.attempt + 1
    try:
        flow = _load(args, store)
        dag = flow.dag()
        step = flow.steps.get(args.step)
        if step is None:
            raise BootstrapError(f"the flow {flow.name} has no step {args.step!r}")
        run = records.read_run(flow.name, args.run_id)
        if run is None:
            raise BootstrapError(f"run {flow.name}/{args.run_id} was never started")
        done: Done = {}
        counts: dict[str, int] = {}
        for source in dict.fromkeys(dag.sources[step.name].values()):
            _collect(records, flow, dag, args.run_id, source, done, counts)
        inputs = step_inputs(flow, dag, step, done)
        count = foreach_count(step, inputs[step.foreach.items]) if step.foreach else None
        if not 0 <= args.index < (count or 1):
            raise BootstrapError(f"step {step.name!r} has no task {args.index}")
        spec = TaskSpec(
            flow=flow.name,
            run_id=args.run_id,
            step=step.name,
            index=args.index,
            attempt=attempt,
            store_url=store.url,
            code=CodeRef(flow.module_file or args.module, module_name_for(args.module)),
            inputs=task_inputs(step, inputs, args.index),
            outputs=step.outputs,
            split=split_outputs(flow, dag, step),
            resources=step.resources,
            timeout=step.timeout,
            image=step.image,
            packages=step.packages,
            foreach_count=count,
        )
        install_step_packages(store, spec, cache_dir)
    except Exception as err:
        code = _cannot("step", err)
        message = err.format() if isinstance(err, FlowError) else f"{type(err).__name__}: {err}"
        where = (args.flow, args.run_id, args.step, args.index, attempt)
        record_start_failure(records, where, message, type(err).__name__)
        return code
    from .task import record_caught, run_task

    # SIGTERM (pod deleted, deadline) unwinds normally, so the logs are uploaded
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        with _beating(records, run):
            outcome = run_task(spec, store, echo=True)
    except Exception as err:  # the store failed while recording: not the user's step
        return _cannot("step", err)
    if not outcome.ok and outcome.error is not None:
        if not (step.catch and attempt > step.retries):
            detail = outcome.error.traceback or outcome.error.message
            print(f"jupyter_flow: step {spec.label} failed:\n{detail}", file=sys.stderr)
            return EXIT_STEP_FAILED
        record_caught(store, spec, outcome.error)  # the last try of a catch step: go on with None
    try:
        task = records.read_task(spec.flow, spec.run_id, spec.step, spec.index)
        assert task is not None  # written by run_task or record_caught
        done.setdefault(step.name, {})[spec.index] = task
        counts[step.name] = count or 1
        _write_foreach_out(args.foreach_out, flow, dag, step.name, done, counts)
    except Exception as err:
        return _cannot("step", err)
    return EXIT_OK


def _write_foreach_out(
    pairs: Sequence[str], flow: Flow, dag: Dag, producer: str, done: Done, counts: dict[str, int]
) -> None:
    """For each ``ITEMS=PATH``: the foreach over ``ITEMS`` read from ``producer`` has this
    many tasks; write ``[0, ..., n-1]`` to PATH."""
    for pair in pairs:
        items, sep, path = pair.partition("=")
        if not sep or not items or not path:
            raise BootstrapError(f"--foreach-out {pair!r} is not ITEMS=PATH")
        consumer = next(
            (
                s
                for s in (flow.steps[name] for name in dag.order)
                if s.foreach and s.foreach.items == items and dag.sources[s.name][items] == producer
            ),
            None,
        )
        if consumer is None:
            raise BootstrapError(
                f"no foreach step of {flow.name} reads {items!r} from {producer!r}",
                hint="the schedule was rendered from another version of the flow: re-create it",
            )
        if producer != PARAMS and flow.steps[producer].foreach:
            count = counts[producer]  # a join: one item per task of the producer
        else:
            count = foreach_count(consumer, step_input(flow, dag, consumer, items, done))
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(list(range(count))))
