"""The engine's CLI verbs: run, resume, cancel, show, graph, runs, logs.

Each verb works bound to a flow (``python my_flow.py run``) or with the module path first
(``jupyter flow run my_flow.py``). Listing verbs also accept a flow name instead of a path.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import plugins
from ..errors import FlowDefinitionError, ParameterError

EXAMPLES = {
    "run": "examples:\n  %(prog)s --param n=10 --param grid='[0.1, 1]' --max-workers 4",
    "resume": "examples:\n  %(prog)s                 # the latest unfinished run\n"
    "  %(prog)s 20261125-101500-ab12cd34 --from train",
}


def _columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil (which imports
    bz2 and lzma): argparse measures the terminal in every ``add_argument``."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = _columns() - 2 if width is None else width  # argparse's own default
        super().__init__(prog, indent_increment, max_help_position, width)


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _examples(name: str, bound: Any) -> str | None:
    """The examples of a verb; ``jupyter flow VERB`` needs the flow file first."""
    text = EXAMPLES.get(name)
    if text is None or bound is not None:
        return text
    return text.replace("%(prog)s", "%(prog)s my_flow.py")


def _workers(text: str) -> int:
    """``--max-workers``: a positive count (it silently became the CPU count before)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of workers")
    return value


VERBS = ("run", "resume", "cancel", "show", "graph", "runs", "logs")  # in --help order


def add_parsers(sub: Any, *, bound: Any, only: str | None = None) -> None:
    """The verbs' parsers; ``only`` builds just that one (a ``run`` does not pay for
    building the other six, nor for importing what they need)."""

    def wanted(name: str) -> bool:
        return only is None or only == name

    def verb(name: str, help_text: str, with_flow: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_examples(name, bound),
            formatter_class=RawDescriptionHelpFormatter,
        )
        if bound is None and with_flow:
            parser.add_argument("flow", metavar="FLOW", help="the flow module (path to a .py file)")
        parser.add_argument(
            "--root", help="store root (default: ./.jupyter_flow or JUPYTER_FLOW_ROOT)"
        )
        return parser

    def run_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--param",
            "-p",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="override a parameter (repeatable); lists and dicts as JSON",
        )
        parser.add_argument(
            "--max-workers", type=_workers, metavar="N", help="parallel tasks (default: CPUs)"
        )
        parser.add_argument(
            "--on",
            dest="executor",
            metavar="BACKEND",
            help=f"where steps run: {plugins.builtin_help('executor')} (default: local)",
        )
        parser.add_argument("--run-id", help=argparse.SUPPRESS)
        parser.add_argument("--quiet", "-q", action="store_true", help="no live logs")

    if wanted("run"):
        p = verb("run", "Run the flow and print its progress, logs and results.")
        run_options(p)
        _run_only_options(p, bound)
    if wanted("resume"):
        p = verb("resume", "Continue a failed, cancelled or killed run, reusing finished tasks.")
        p.add_argument(
            "run", nargs="?", metavar="RUN", help="run id (default: the latest unfinished)"
        )
        p.add_argument(
            "--from", dest="from_step", metavar="STEP", help="recompute from this step on"
        )
        run_options(p)
        p.set_defaults(func=cmd_resume)
    if wanted("cancel"):
        from .cli_cancel import add_parser as add_cancel

        add_cancel(verb, bound=bound)
    if wanted("show"):
        p = verb("show", "Show a run: status, steps, tasks and final artifacts.")
        p.add_argument("run", nargs="?", metavar="RUN", help="run id or FLOW/RUN (default: latest)")
        p.set_defaults(func=cmd_show)
    if wanted("graph"):
        p = verb("graph", "Show the flow's steps in order with inputs, outputs and resources.")
        p.set_defaults(func=cmd_graph)
    if wanted("runs"):
        p = verb("runs", "List runs of the flow, newest first.")
        p.add_argument("--status", choices=["running", "done", "failed", "cancelled", "lost"])
        p.add_argument("--limit", type=int, default=20)
        p.set_defaults(func=cmd_runs)
    if wanted("logs"):
        p = verb("logs", "Print the stdout/stderr of a run's tasks.")
        p.add_argument("run", nargs="?", metavar="RUN", help="run id (default: latest)")
        p.add_argument("step", nargs="?", metavar="STEP", help="only this step")
        p.add_argument("--tail", type=int, default=10_000, help="last N lines")
        p.set_defaults(func=cmd_logs)


def _run_only_options(p: argparse.ArgumentParser, bound: Any) -> None:
    p.add_argument(
        "--schedule",
        default="",
        metavar="NAME",
        help="the schedule that started this run (set by schedule targets)",
    )
    p.add_argument(
        "--settings",
        metavar="KEY",
        help="run with the executor settings pinned in the store under KEY (set by schedule "
        "targets: a scheduled driver has no config file)",
    )
    if bound is None:
        p.add_argument(
            "--package",
            metavar="KEY",
            help="run FLOW's file from this code package in the store (pinned code)",
        )
    p.set_defaults(func=cmd_run)


# -- helpers ----------------------------------------------------------------------------------


def _flow(args: argparse.Namespace) -> Any:
    bound = getattr(args, "flow_object", None)
    if bound is not None:
        return bound
    from .loader import load_flow

    package = getattr(args, "package", None)
    if package:
        return load_flow(_packaged_module(args.flow, package, args.root))
    return load_flow(args.flow)


def _packaged_module(module: str, key: str, root: str | None) -> Path:
    """The module's file in the code package ``key``, unpacked once into the cache and put
    first on ``sys.path`` (so its project modules import from the package too)."""
    from ..store import open_store
    from .api import settings_for
    from .bootstrap import cache_dir
    from .package import fetch_package

    store = open_store(settings_for(root).root)
    try:
        folder = fetch_package(store, key, cache_dir("code"))
    finally:
        store.close()
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    file = folder / Path(module).name
    if not file.is_file():
        raise FlowDefinitionError(
            f"the code package {key[:12]} has no {Path(module).name}",
            hint="name the module file the package was built from",
        )
    return file


def _flow_name(args: argparse.Namespace) -> str:
    bound = getattr(args, "flow_object", None)
    if bound is not None:
        return str(bound.name)
    target = str(args.flow)
    if target.endswith(".py"):
        return str(_flow(args).name)
    return target


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--param {pair!r} is not NAME=VALUE", hint="e.g. --param n=10")
        params[name.strip()] = value
    return params


def _run(args: argparse.Namespace, resume: str | None = None, from_step: str | None = None) -> int:
    flow = _flow(args)
    if (args.executor or "local") == "local":  # else the settings may still say local
        from . import prespawn

        prespawn.start(flow.module_file or "")  # before the driver's own imports
    from .api import run_record, settings_for

    observer = None
    if args.quiet:  # no view, but ``cancel RUN`` from another terminal still stops it
        from ..store import open_store
        from .observer import CancelOnRequest

        store = open_store(settings_for(args.root).root)
        observer = CancelOnRequest(store)
    try:
        record, engine = run_record(
            flow,
            _params(args.param),
            root=args.root,
            executor=args.executor,
            max_workers=args.max_workers,
            echo=not args.quiet,
            observer=observer,
            run_id=args.run_id,
            resume=resume,
            resume_step=from_step,
            schedule=getattr(args, "schedule", ""),
            settings=_pinned_settings(args),
        )
    finally:
        if observer is not None:
            observer.watch.store.close()
        _drop_spare_worker()
    _print_results(record, engine.records)
    return 0


def _drop_spare_worker() -> None:
    prespawn = sys.modules.get("jupyter_flow.runtime.prespawn")
    if prespawn is not None:
        prespawn.discard()


def _pinned_settings(args: argparse.Namespace) -> Any:
    """``--settings KEY``: the settings a schedule pinned at create, read from the store
    and checked against their key; None without the option."""
    key = getattr(args, "settings", None)
    if not key:
        return None
    import json
    from dataclasses import replace

    from ..config import Settings
    from ..errors import ConfigError
    from ..store import open_store
    from .api import settings_for

    root = settings_for(args.root).root
    store = open_store(root)
    try:
        if store.missing_blobs([key]):
            raise ConfigError(
                f"the pinned settings {key[:12]} are not in the store {root}",
                hint="re-create the schedule (schedule create --update) to pin them again",
            )
        settings = Settings.from_pinned(json.loads(bytes(store.open_blob(key))), root)
    finally:
        store.close()
    if args.executor and args.executor != settings.executor:
        raise ConfigError(
            f"--on {args.executor} contradicts the pinned settings {key[:12]} "
            f"(for {settings.executor})",
            hint=f"use --on {settings.executor} or drop --settings",
        )
    return replace(settings, max_workers=args.max_workers or settings.max_workers)


def _print_results(record: Any, records: Any) -> None:
    print(f"\nResults of {record.pathspec}:")
    foreach = {s.name for s in record.steps if s.foreach}
    for name, step in sorted(record.final.items()):
        if step in foreach:
            tasks = records.tasks(record.flow, record.run_id, step)
        else:  # one task: no listing of the run's folders
            task = records.read_task(record.flow, record.run_id, step, 0)
            tasks = [task] if task is not None else []
        mine = [t.artifact(name) for t in tasks if t.step == step]
        shown = [a.summary for a in mine if a is not None]
        if step in foreach:
            items = ", ".join(shown[:4]) + (", ..." if len(shown) > 4 else "")
            print(f"  {name} = [{items}]  ({len(shown)} items from foreach step {step!r})")
        elif shown:
            print(f"  {name} = {shown[0]}")


def cmd_run(args: argparse.Namespace) -> int:
    return _run(args)


def cmd_resume(args: argparse.Namespace) -> int:
    from .api import LATEST

    return _run(args, resume=args.run or LATEST, from_step=args.from_step)


def _get_run(args: argparse.Namespace) -> Any:
    from ..client import Run, latest_run

    if args.run and "/" in args.run:
        return Run(args.run, root=args.root)
    name = _flow_name(args)
    if args.run:
        return Run(f"{name}/{args.run}", root=args.root)
    return latest_run(name, root=args.root)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def columns(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> str:
    """Rows as aligned columns, each as wide as its widest cell (fixed widths ran long
    names into the next column); the last column is not padded."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        (indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))).rstrip()
        for r in rows
    )


def _caught(tasks: list[Any]) -> dict[str, list[str]]:
    """Per step, what its caught tasks failed with (a caught step is not a plain success)."""
    from .observer import caught_note

    found: dict[str, list[str]] = {}
    for task in tasks:
        if task.status == "caught":
            found.setdefault(task.step, []).append(caught_note(task.error))
    return found


def _step_row(step: dict[str, Any], caught: list[str]) -> tuple[str, ...]:
    from .observer import SYMBOL, caught_summary

    status = "caught" if caught and step["status"] == "done" else step["status"]
    note = caught_summary(caught, step["tasks_total"])
    return (
        step["name"],
        f"{SYMBOL.get(status, ' ')} {status}",
        f"{step['tasks_done']}/{step['tasks_total']}",
        note,
    )


def cmd_show(args: argparse.Namespace) -> int:
    run = _get_run(args)
    summary = run.summary()
    duration = (run.finished or time.time()) - run.created
    print(f"{run.pathspec}  {summary['status']}  started {_when(run.created)}  ({duration:.1f}s)")
    if summary["origin_run"]:
        print(f"  resumed from {summary['origin_run']}")
    if summary["params"]:
        print("  parameters: " + ", ".join(f"{k}={v}" for k, v in summary["params"].items()))
    tasks = run._engine.records.tasks(run.flow, run.id)
    caught = _caught(tasks)
    rows: list[tuple[str, ...]] = [("step", "status", "tasks", "")]
    rows += [_step_row(step, caught.get(step["name"], [])) for step in summary["steps"]]
    print(columns(rows))
    if run.record.error:
        from .tracemap import error_text

        print("\n" + error_text(run.record.failed_step or "?", run.record.error))
    found = [
        (f"{t.step}/{t.index}", a.name, a.type, " ".join(a.summary.split()))
        for t in tasks
        if not t.step.startswith("_")
        for a in t.artifacts
    ]
    if found:
        print("\n  artifacts:")
        print(columns([("task", "name", "type", "value"), *found]))
    return 0 if summary["status"] in ("done", "running") else 1


def cmd_graph(args: argparse.Namespace) -> int:
    flow = _flow(args)
    dag = flow.dag()
    print(f"{flow.name}: {len(dag.order)} steps")
    if flow.parameters:
        print(
            "  parameters: "
            + ", ".join(f"{p.name}={p.default!r}" for p in flow.parameters.values())
        )
    for name in dag.order:
        step = flow.steps[name]
        after = f" after {', '.join(dag.upstream[name])}" if dag.upstream[name] else ""
        each = f" foreach {step.foreach}" if step.foreach else ""
        print(f"  {name}{each}{after}")
        reads, writes = ", ".join(step.reads) or "-", ", ".join(step.outputs) or "-"
        print(f"      reads: {reads}   writes: {writes}")
        extra = [step.resources.describe()]
        if step.retries:
            extra.append(f"retries={step.retries}")
        if step.timeout:
            extra.append(f"timeout={step.timeout:g}s")
        if step.catch:
            extra.append("catch")
        print(f"      {' '.join(extra)}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from ..client import list_runs

    runs = list_runs(_flow_name(args), status=args.status, root=args.root, limit=args.limit)
    if not runs:
        print("no runs")
        return 0
    rows = [("run", "status", "started", "duration", "")]
    for run in runs:
        duration = (run.finished or time.time()) - run.created
        caught = _caught(run._engine.records.tasks(run.flow, run.id)) if run.successful else {}
        steps = [s.name for s in run.record.steps if s.name in caught]  # in flow order
        note = f"⚠ caught failures in {', '.join(steps)}" if steps else ""
        rows.append((run.pathspec, run.status, _when(run.created), f"{duration:.1f}s", note))
    print(columns(rows, indent=""))
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    run = _get_run(args)
    steps = [s.name for s in run.record.steps]
    if args.step is not None and args.step not in steps:
        from ..errors import RunNotFound

        raise RunNotFound(
            f"{run.pathspec} has no step {args.step!r}", hint=f"steps: {', '.join(steps)}"
        )
    text = run.logs(args.step, tail=args.tail)
    print(text if text else "(no output)")
    return 0
