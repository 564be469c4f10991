"""``%flow run``, ``%flow pull``, ``%flow runs``, ``%flow cancel``: the verbs over ``session``.

Glue only: parse the line, call the session API, print what happened in one line.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from ..errors import FlowError, RunCancelled, RunFailed, RunNotFound
from . import session
from .magics import register_verb, take_option

if TYPE_CHECKING:
    from ..client import Run
    from .magics import FlowMagics

RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")


def load(shell: Any) -> None:
    """Called by ``%load_ext jupyter_flow``: start noting which ``%%step`` cells ran."""
    session.track_steps(shell)


def _run_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(prog="%flow run", add_help=False)
    parser.add_argument("--on", help="executor: local, kubernetes or batch")
    parser.add_argument("--param", action="append", default=[], metavar="K=V")
    parser.add_argument("--max-workers", type=int)
    parser.add_argument("--background", action="store_true")
    parser.add_argument("--resume", nargs="?", const="latest", metavar="RUN")
    parser.add_argument("--from", dest="from_step", metavar="STEP")
    parser.add_argument("--notebook", help="default: this kernel's notebook")
    parser.add_argument("--root", help="store root (default: settings)")
    return parser


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--param {pair!r} is not KEY=VALUE")
        params[key.strip()] = value
    return params


@register_verb(
    "run",
    "run this notebook's flow: [--on local|kubernetes|batch] [--param k=v] [--max-workers N] "
    "[--background] [--resume [RUN]] [--from STEP]",
)
def run_verb(magics: FlowMagics, args: str) -> Any:
    ns = _run_parser().parse_argstring(args)
    try:
        handle = session.run(
            ns.notebook,
            on=ns.on,
            params=parse_params(ns.param),
            max_workers=ns.max_workers,
            background=ns.background,
            root=ns.root,
            resume=ns.resume,
            resume_step=ns.from_step,
        )
    except (RunFailed, RunCancelled) as err:
        # the view shows the traceback already: one line that says what to do next
        run_id = session.LAST["run"].run_id
        raise UsageError(
            f"{err.headline.splitlines()[0]}\n  continue with: %flow run --resume {run_id}"
        ) from None
    shell: Any = magics.shell
    shell.user_ns["_flow_run"] = handle
    return None


@register_verb("cancel", "cancel the background run started last in this kernel")
def cancel_verb(magics: FlowMagics, args: str) -> Any:
    handle = session.LAST.get("run")
    if handle is None or handle.done:
        raise UsageError("no run of this kernel is running")
    handle.cancel()
    print(f"cancelled {handle.pathspec}; continue it with: %flow run --resume {handle.run_id}")
    return None


def _flow_name(root: str | None) -> str:
    handle = session.LAST.get("run")
    if handle is not None:
        return handle.flow.name
    from ..notebook.api import flow_name_for, read_notebook

    try:
        path = session.find_notebook()
    except FlowError:
        raise UsageError("which flow? name the run: %flow pull FlowName/RUN_ID") from None
    meta = read_notebook(path).get("metadata", {}).get("jupyter_flow", {})
    return str(meta.get("flow_name") or flow_name_for(path))


def resolve_run(spec: str | None, root: str | None = None) -> Run:
    """``Flow/ID``, a bare ``ID`` of this notebook's flow, or the latest successful run of
    it (a failed run's values would be missing or partial)."""
    from ..client import Run, latest_successful_run

    if spec and "/" in spec:
        return Run(spec, root=root)
    flow = _flow_name(root)
    if spec:
        return Run(f"{flow}/{spec}", root=root)
    return latest_successful_run(flow, root=root)


def _newer_unsuccessful(run: Run) -> str:
    """A note naming the newest run when it is not ``run`` (it did not finish)."""
    from ..client import latest_run

    newest = latest_run(run.flow, root=run._engine.settings.root)
    if newest.id == run.id:
        return ""
    return f" (the newest run, {newest.id}, is {newest.status}: pull it by id to see it)"


def pull(run: Run, names: list[str], step: str | None = None) -> dict[str, Any]:
    """The values to bind: a step's outputs, or the run's final value of each output."""
    record = run.record
    if step is not None:
        info = next((s for s in record.steps if s.name == step), None)
        if info is None:
            raise RunNotFound(
                f"{run.pathspec} has no step {step!r}",
                hint="steps: " + ", ".join(s.name for s in record.steps),
            )
        tasks = run[step].tasks
        if not tasks:
            raise RunNotFound(f"step {step!r} did not finish in {run.pathspec}")
        wanted = names or list(info.outputs)
        for name in wanted:
            if name not in info.outputs:
                raise RunNotFound(
                    f"step {step!r} has no output {name!r}",
                    hint="outputs: " + ", ".join(info.outputs),
                )
        if info.foreach:
            return {n: [t.data[n] for t in tasks] for n in wanted}
        return {n: tasks[0].data[n] for n in wanted}
    wanted = names or list(record.final)
    values: dict[str, Any] = {}
    for name in wanted:
        if name not in run.data:
            known = ", ".join(sorted(record.final)) or "none"
            raise RunNotFound(f"{run.pathspec} has no artifact {name!r}", hint=f"outputs: {known}")
        try:
            values[name] = run.data[name]
        except RunNotFound:
            if names:
                raise
    return values


@register_verb("pull", "bind artifacts as variables: %flow pull [RUN] [--step S] [NAME ...]")
def pull_verb(magics: FlowMagics, args: str) -> Any:
    words = shlex.split(args)
    step = take_option(words, "--step", "a step name")
    spec = None
    if words and ("/" in words[0] or RUN_ID.match(words[0]) or words[0] == "latest"):
        spec = words.pop(0)
    run = resolve_run(None if spec == "latest" else spec)
    values = pull(run, words, step)
    newer = _newer_unsuccessful(run) if spec in (None, "latest") else ""
    shell: Any = magics.shell
    shell.user_ns.update(values)
    bound = ", ".join(f"{n} ({type(v).__name__})" for n, v in values.items()) or "nothing"
    skipped = sorted(set(run.record.final) - set(values)) if not words and step is None else []
    note = f"; not computed in this run: {', '.join(skipped)}" if skipped else ""
    print(f"bound from {run.pathspec} ({run.status}){newer}: {bound}{note}")
    return None


class RunsTable:
    """``%flow runs``: recent runs with their status, as text and HTML. A done run whose
    failures ``catch=True`` let pass says where (its outputs there are None), as the
    terminal's ``runs`` does."""

    HEADER = ("run", "status", "started", "seconds", "note")

    def __init__(self, runs: list[Run]) -> None:
        self.rows = []
        import time

        for r in runs:
            end = r.finished or time.time()
            self.rows.append(
                (
                    r.pathspec,
                    r.status,
                    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created)),
                    f"{end - r.created:.1f}",
                    _run_note(r),
                )
            )

    def __repr__(self) -> str:
        if not self.rows:
            return "no runs yet"
        rows = [self.HEADER, *self.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADER))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{h}</th>" for h in self.HEADER)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in self.rows
        )
        return f"<table class='jp-Flow-runs'><tr>{head}</tr>{body}</table>"


def _run_note(run: Run) -> str:
    if run.record.failed_step:
        return f"failed in {run.record.failed_step}"
    if not run.successful:
        return ""
    tasks = run._engine.records.tasks(run.flow, run.id)
    caught = {t.step for t in tasks if t.status == "caught"}
    steps = [s.name for s in run.record.steps if s.name in caught]  # in flow order
    return f"⚠ caught failures in {', '.join(steps)}" if steps else ""


@register_verb("runs", "list runs of this notebook's flow: %flow runs [FLOW] [--status S] [-n N]")
def runs_verb(magics: FlowMagics, args: str) -> Any:
    from ..client import list_runs

    parser = MagicArgumentParser(prog="%flow runs", add_help=False)
    parser.add_argument("flow", nargs="?")
    parser.add_argument("--status")
    parser.add_argument("-n", type=int, default=20)
    ns = parser.parse_argstring(args)
    flow = ns.flow or _flow_name(None)
    return RunsTable(list_runs(flow, status=ns.status, limit=ns.n))
