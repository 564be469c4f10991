"""``%%step``, ``%%params`` and ``%flow``: glue between IPython and the notebook half.

Argument parsing is the shared ``%%step`` parser (``notebook.cells``); what a step reads,
writes and changes comes from ``notebook.dataflow`` and ``kernel.observe``, global random
state from ``kernel.randomness``; what a step showed is written beside the notebook
(``notebook.observations``) so every export path reaches the kernel's verdict. ``%flow`` is
a table of verbs, so later issues add ``run``/``pull``/``runs`` with ``register_verb``.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from ..errors import FlowError
from ..notebook.cells import Cell, StepOptions, parse_params, parse_step_line, step_help
from ..notebook.dataflow import analyze
from ..notebook.ipysyntax import to_python
from ..notebook.observations import Observation, RandomUse
from . import observe
from .randomness import Tracker


@dataclass(frozen=True)
class Verb:
    func: Callable[[FlowMagics, str], Any]
    help: str


VERBS: dict[str, Verb] = {}


def register_verb(name: str, help: str) -> Callable[[Callable[[FlowMagics, str], Any]], Any]:
    """Add ``%flow NAME ARGS``: ``func(magics, args)``; its return value is displayed."""

    def add(func: Callable[[FlowMagics, str], Any]) -> Callable[[FlowMagics, str], Any]:
        VERBS[name] = Verb(func, help)
        return func

    return add


def _usage(err: FlowError) -> UsageError:
    """A kernel-side error: the message and the hint, no cell number (the user is on it)."""
    text = err.headline + (f"\n  hint: {err.hint}" if err.hint else "")
    return UsageError(text)


@magics_class
class FlowMagics(Magics):
    """Registered by ``%load_ext jupyter_flow``."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._shell: Any = shell
        self.session = observe.Session()
        self.tracker: Tracker | None = None  # set by load_ipython_extension
        self.observations: dict[str, Observation] = {}  # sidecar key -> what was seen
        self._unwritable: str | None = None  # the folder a sidecar write failed in
        self._written: set[Path] = set()  # folder / key of sidecar files this kernel wrote

    # -- running code the way IPython would
    def _compile(self, raw: str, first_line: int) -> observe.Body:
        from IPython.core.displayhook import DisplayHook

        python = self._shell.transform_cell(raw)
        padded = "\n" * (first_line - 1) + python  # tracebacks show the cell's own line numbers
        number = max(1, self._shell.execution_count - 1)  # IPython counts the running cell already
        filename = self._shell.compile.cache(padded, number, raw_code=raw)
        quiet = bool(python.strip()) and DisplayHook.semicolon_at_end_of_expression(python)
        return observe.compile_body(padded, filename, self._shell.compile, quiet=quiet)

    @cell_magic
    def step(self, line: str, cell: str) -> Any:
        __tracebackhide__ = True
        ns = self._shell.user_ns
        where = Cell(0, None, f"%%step {line}")
        try:
            options = parse_step_line(line, where)
        except FlowError as err:
            raise _usage(err) from None
        if options.on is not None:
            return _run_elsewhere(self, options, cell)
        try:
            flow = analyze(to_python(cell))
        except SyntaxError:
            flow = None  # let Python report it exactly as it would without the magic
        body = self._compile(cell, 2)
        if flow is None:
            return observe.run_body(body, ns)
        if options.foreach is not None and options.foreach.items not in ns:
            raise UsageError(f"--foreach list {options.foreach.items!r} is not defined")
        count = self._shell.execution_count - 1
        tracker = self.tracker
        saved, start = tracker.step_start() if tracker is not None else ({}, {})
        if tracker is not None and options.foreach is not None:
            saved = tracker.seeded(saved)  # unseeded draws differ per task in the flow too
        reset = _resetter(saved) if saved and options.foreach is not None else None
        value, rec, hidden = observe.run_step(
            body, flow, options, ns, self.session, count, before_item=reset
        )
        if hidden:
            _warn_hidden(rec, hidden)
        uses = None
        if tracker is not None:
            uses = tracker.step_uses(
                start, to_python(cell), f"step {options.name!r} (In [{count}])"
            )
        if uses is not None:
            pins = _auto_pins(options, cell, ns) if "auto" in options.packages else None
            try:
                self.observe_step(options.name, cell, rec, uses, pins)
            except Exception as err:  # bookkeeping never fails the user's cell
                print(f"jupyter_flow: step {options.name!r} not recorded: {err!r}", file=sys.stderr)
        return value

    def observe_step(
        self,
        step: str,
        body: str,
        rec: observe.StepRecord,
        uses: tuple[tuple[str, RandomUse], ...] = (),
        packages: tuple[str, ...] | None = None,
        ran_on: str | None = None,
    ) -> None:
        """Keep what this run of a step showed beside the notebook, for every export path;
        in memory too (``%flow export`` passes it when the folder is read-only)."""
        from ..notebook import observations

        folder, notebook = _notebook_folder()
        obs = Observation(
            step,
            changed=rec.observed,
            random=uses,
            packages=packages,
            notebook=notebook,
            observed_at=time.time(),
            execution_count=rec.execution_count,
            ran_on=ran_on,
        )
        key = observations.step_key(step, body)
        prev = self.observations.get(key)
        self.observations[key] = obs
        where = folder / key
        if prev is not None and where in self._written and _same(prev, obs):
            return  # re-running an unchanged step: what is on disk still holds (a write ~2 ms)
        try:
            observations.write(folder, key, obs)
            self._written.add(where)
        except OSError as err:
            if self._unwritable != str(folder):
                self._unwritable = str(folder)
                print(
                    f"jupyter_flow: cannot keep what step {step!r} did beside the notebook "
                    f"({err.strerror or err}); %flow export in this kernel still uses it, "
                    "other export paths will say the step was not observed",
                    file=sys.stderr,
                )

    @cell_magic
    def params(self, line: str, cell: str) -> Any:
        """Declare flow parameters: simple assignments of literals, e.g. ``n_rows = 1000``.

        The cell runs as usual; ``jupyter flow export`` makes them the flow's parameters
        (``python my_flow.py run --param n_rows=10``). A cell tagged ``parameters``
        (papermill's convention) is the same.
        """
        __tracebackhide__ = True
        try:
            found = parse_params(to_python(cell), Cell(0, None, "%%params"), 2)
        except FlowError as err:
            raise _usage(err) from None
        value = observe.run_body(self._compile(cell, 2), self._shell.user_ns)
        self.session.params.update(found.values)
        return value

    @line_magic
    def flow(self, line: str) -> Any:
        """``%flow VERB [ARGS]``, e.g. ``%flow steps``, ``%flow export [PATH]``.

        ``%flow`` alone lists the verbs.
        """
        verb, _, rest = line.strip().partition(" ")
        if not verb or verb in ("help", "-h", "--help"):
            print(verbs_help())
            return None
        if verb not in VERBS:
            raise UsageError(f"unknown %flow verb {verb!r}\n{verbs_help()}")
        try:
            return VERBS[verb].func(self, rest.strip())
        except FlowError as err:
            raise UsageError(str(err)) from None


def _run_elsewhere(magics: FlowMagics, options: StepOptions, cell: str) -> Any:
    """``%%step ... --on X``: the kernel session's job (``kernel.remote_cell``)."""
    try:
        from .remote_cell import remote_step
    except ModuleNotFoundError as err:
        if err.name != f"{__package__}.remote_cell":
            raise
        raise UsageError("--on is not available in this version of jupyter_flow") from None
    assert options.on is not None
    return remote_step(magics, options, cell, options.on)


def verbs_help() -> str:
    rows = [f"  %flow {name:<8} {verb.help}" for name, verb in sorted(VERBS.items())]
    return "usage: %flow VERB [ARGS]\n" + "\n".join(rows)


def _warn_hidden(rec: observe.StepRecord, hidden: tuple[str, ...]) -> None:
    names = ", ".join(repr(n) for n in hidden)
    declared = rec.options.outputs is not None
    print(
        f"jupyter_flow: step {rec.name!r} changed {names} in place, which its code does not "
        "show (a function call?). The kernel now treats it as an output of the step, and so "
        "does export"
        + (
            " once the %%step line declares it:\n"
            if declared
            else "; to make it visible in the code, declare the outputs on the %%step line:\n"
        )
        + f"  %%step {rec.name} ... --outputs {','.join(rec.outputs)}",
        file=sys.stderr,
    )


def _same(a: Observation, b: Observation) -> bool:
    """The same observation, whenever and from whichever run it was made."""
    return replace(a, observed_at=0.0, execution_count=None) == replace(
        b, observed_at=0.0, execution_count=None
    )


def _resetter(saved: dict[str, Any]) -> Callable[[], None]:
    """Put the global generators back to the step's start before each foreach item."""
    from .randomness import restore

    return lambda: restore(saved)


def _auto_pins(options: StepOptions, cell: str, ns: Any) -> tuple[str, ...] | None:
    """What ``--packages auto`` resolves to for this cell in this kernel (export writes it)."""
    from .preflight import auto_pins

    try:
        return auto_pins(options, cell, ns)
    except Exception as err:  # bookkeeping must never fail the user's cell
        print(f"jupyter_flow: --packages auto could not be resolved: {err}", file=sys.stderr)
        return None


def _notebook_folder() -> tuple[Path, str | None]:
    """Where the kernel's notebook lives (its sidecar goes there) and its name; the kernel's
    working folder when it does not know its notebook."""
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        return Path.cwd(), None
    if Path(name).exists():
        return Path(name).resolve().parent, Path(name).name
    return Path.cwd(), Path(name).name  # a server-relative path: the kernel runs beside it


def take_option(words: list[str], flag: str, what: str) -> str | None:
    """Remove ``flag VALUE`` from ``words`` and return VALUE (None when the flag is absent)."""
    if flag not in words:
        return None
    at = words.index(flag)
    if at + 1 >= len(words):
        raise UsageError(f"{flag} needs {what}")
    value = words[at + 1]
    del words[at : at + 2]
    return value


@register_verb("steps", "show the steps run so far: inputs, outputs, resources")
def _steps(magics: FlowMagics, args: str) -> Any:
    return StepTable(tuple(magics.session.steps.values()))


@register_verb(
    "export", "export the notebook to a flow module: %flow export [NOTEBOOK] [-o OUT] [--force]"
)
def _export(magics: FlowMagics, args: str) -> Any:
    from ..notebook.api import export_notebook

    words = shlex.split(args)
    output = take_option(words, "-o", "a path")
    force = "--force" in words
    words = [w for w in words if w != "--force"]
    path = words[0] if words else _session_notebook()
    result = export_notebook(path, output, observed=magics.observations, force=force)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {result.module_path} ({len(result.steps)} steps) from {path}")
    return None


def _session_notebook() -> str:
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        raise UsageError(
            "which notebook? JPY_SESSION_NAME is not set (not running under JupyterLab)\n"
            "  hint: %flow export path/to/notebook.ipynb"
        )
    if Path(name).exists():
        return name
    base = Path(name).name  # the kernel runs in the notebook's folder
    return base if Path(base).exists() else name


class StepTable:
    """``%flow steps``: a table in both plain text and HTML."""

    HEADER = ("step", "inputs", "outputs", "resources", "seconds")

    def __init__(self, records: tuple[observe.StepRecord, ...]) -> None:
        self.records = records

    def rows(self) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for rec in self.records:
            outs = [f"{n} (observed)" if n in rec.observed else n for n in rec.outputs]
            res = rec.options.resources.describe()
            if rec.options.foreach:
                res += f" foreach {rec.options.foreach}"
            out.append(
                (rec.name, ", ".join(rec.inputs), ", ".join(outs), res, f"{rec.seconds:.2f}")
            )
        return out

    def __repr__(self) -> str:
        rows = [self.HEADER, *self.rows()]
        if len(rows) == 1:
            return "no steps have run yet in this kernel"
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADER))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{h}</th>" for h in self.HEADER)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in self.rows()
        )
        return f'<table class="jp-Flow-steps"><tr>{head}</tr>{body}</table>'


# Other parts' kernel-side modules: imported at load (registering their %flow verbs), and
# their ``load(shell)`` called if they have one. Missing modules are skipped.
EXTENSION_MODULES = ("jupyter_flow.kernel.session_magics",)


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics once per shell; ``%%step?`` shows the option help."""
    import importlib

    FlowMagics.step.__doc__ = step_help()
    if not any(isinstance(m, FlowMagics) for m in ipython.magics_manager.registry.values()):
        ipython.register_magics(FlowMagics)
    for magics in ipython.magics_manager.registry.values():
        if isinstance(magics, FlowMagics) and magics.tracker is None:
            magics.tracker = Tracker(ipython)
            magics.tracker.register()
    for name in EXTENSION_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        load = getattr(module, "load", None)
        if load is not None:
            load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Nothing to undo: the magics stay registered, as IPython's own extensions do."""
