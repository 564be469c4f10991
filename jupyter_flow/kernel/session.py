"""The kernel-side runner: run the notebook's flow from the notebook and watch it live.

The driver (``runtime.runner``) runs in the kernel process. A blocking run drives in the
main thread, so the kernel's stop button (a ``KeyboardInterrupt``) reaches the runner, which
stops the tasks and marks the run cancelled. A background run drives in a thread; it is
stopped by ``handle.cancel()``, or by interrupting a ``handle.wait()`` — an interrupt of an
unrelated cell must not kill the run the user left running on purpose.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FlowError, NotebookError, RunCancelled
from ..runtime.observer import RunObserver, TerminalProgress
from ..store.records import new_run_id

if TYPE_CHECKING:
    from ..client import Run
    from ..config import Settings
    from ..flow.dag import Dag
    from ..flow.spec import Flow
    from ..notebook.observations import Observation
    from ..runtime.taskspec import TaskSpec
    from ..store.records import ErrorInfo, RunRecord, TaskRecord

__all__ = ["RunHandle", "find_notebook", "run"]


# -- which notebook, and is it saved -------------------------------------------------------
@dataclass
class KernelSteps:
    """When each ``%%step`` cell last ran here, and its source: to spot an unsaved notebook."""

    ran: dict[str, tuple[float, str]] = field(default_factory=dict)

    def post_run_cell(self, result: Any) -> None:
        from ..notebook.cells import split_cell_magic

        raw = getattr(getattr(result, "info", None), "raw_cell", None) or ""
        found = split_cell_magic(raw) if "%%step" in raw else None
        if found is None or found[0] != "step" or not getattr(result, "success", False):
            return
        name = found[1].split(" ", 1)[0]
        if name:
            self.ran[name] = (time.time(), found[2])


STEPS = KernelSteps()


def track_steps(shell: Any) -> None:
    """Remember every ``%%step`` cell the kernel runs (once per shell)."""
    if not getattr(shell, "_jupyter_flow_tracked", False):
        shell.events.register("post_run_cell", STEPS.post_run_cell)
        shell._jupyter_flow_tracked = True


def find_notebook(shell: Any = None) -> str:
    """The notebook this kernel belongs to: as the server knows it now (it follows renames
    and moves), else as the frontend told the kernel when it started."""
    from .whereami import current_notebook

    names = [current_notebook(), os.environ.get("JPY_SESSION_NAME")]
    if shell is not None:
        names.append(shell.user_ns.get("__session__"))
    for name in filter(None, names):
        for candidate in (name, Path(name).name):  # the kernel runs in its folder
            if candidate.endswith(".ipynb") and Path(candidate).exists():
                return candidate
    raise NotebookError(
        "which notebook? this kernel was not started from a saved notebook",
        hint="pass it: %flow run --notebook path/to/nb.ipynb, or jupyter_flow.run('nb.ipynb')",
    )


def check_saved(notebook: str, steps: KernelSteps = STEPS) -> None:
    """Refuse to run a file older than the steps the kernel ran, when they differ from it."""
    from ..notebook.cells import split_cell_magic

    saved_at = Path(notebook).stat().st_mtime
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return  # export reads it next and says what is wrong with it
    saved: dict[str, str] = {}
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        found = split_cell_magic(source) if cell.get("cell_type") == "code" else None
        if found is not None and found[0] == "step":
            saved[found[1].split(" ", 1)[0]] = found[2]
    for name, (ran_at, body) in steps.ran.items():
        if ran_at <= saved_at or saved.get(name, "").strip() == body.strip():
            continue
        what = "is not in" if name not in saved else "differs from the cell in"
        clock = time.strftime("%H:%M:%S", time.localtime(saved_at))
        raise NotebookError(
            f"the notebook on disk is older than this kernel: step {name!r} as it ran here "
            f"{what} {notebook} (saved at {clock})",
            hint="save the notebook (Ctrl+S), then run again",
        )


def load_notebook_flow(notebook: str, *, check: bool = True, shell: Any = None) -> Flow:
    """Export the saved notebook (or take a flow module as is) and import its ``Flow``.

    The export is the one every path makes (``%flow export``, the CLI, nbconvert, Lab): the
    kernel's own observations are added only for what it could not write beside the notebook,
    and the export's notes (steps never observed here) are printed."""
    from ..runtime.loader import load_flow

    if notebook.endswith(".py"):
        return load_flow(notebook)
    from ..notebook.api import export_notebook

    if check:
        check_saved(notebook)
    result = export_notebook(notebook, observed=_kernel_observations(shell))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return load_flow(result.module_path, result.flow_name)


def _kernel_observations(shell: Any) -> Mapping[str, Observation] | None:
    """What ``%%step`` saw in this kernel (None outside a kernel with the extension)."""
    from .magics import FlowMagics

    registry = getattr(getattr(shell, "magics_manager", None), "registry", {}) or {}
    found = next((m for m in registry.values() if isinstance(m, FlowMagics)), None)
    return found.observations if found is not None else None


# -- the handle ----------------------------------------------------------------------------
class _Controls(RunObserver):
    """Forwards events to the view; turns ``cancel()`` into the runner's own interrupt."""

    def __init__(self, inner: RunObserver, handle: RunHandle) -> None:
        self.inner = inner
        self.handle = handle

    def run_started(self, record: RunRecord, dag: Dag) -> None:
        self.inner.run_started(record, dag)

    def step_expanded(self, step: str, tasks: int, to_run: int) -> None:
        self.inner.step_expanded(step, tasks, to_run)

    def task_started(self, spec: TaskSpec) -> None:
        if self.handle.first_task is None:
            self.handle.first_task = time.monotonic()
        self.inner.task_started(spec)

    def task_finished(
        self, spec: TaskSpec, task: TaskRecord | None, error: ErrorInfo | None, *, retrying: bool
    ) -> None:
        self.inner.task_finished(spec, task, error, retrying=retrying)

    def poll(self) -> None:
        self.inner.poll()
        if self.handle._cancel.is_set():
            raise KeyboardInterrupt  # Runner.run: stop the tasks, record "cancelled"

    def run_finished(self, record: RunRecord) -> None:
        self.inner.run_finished(record)


class RunHandle:
    """A run started from the kernel: its live view, its status, its results."""

    def __init__(self, flow: Flow, settings: Settings, run_id: str, view: RunObserver) -> None:
        self.flow = flow
        self.settings = settings
        self.run_id = run_id
        self.pathspec = f"{flow.name}/{run_id}"
        self.view = view
        self.error: FlowError | None = None
        self.started = time.monotonic()
        self.first_task: float | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._run: Run | None = None

    # state
    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def status(self) -> str:
        if not self.done:
            return "running"
        if isinstance(self.error, RunCancelled):
            return "cancelled"
        return "failed" if self.error is not None else "done"

    @property
    def run(self) -> Run:
        """The run as the store records it (``run.data.name``, ``run["step"].tasks``)."""
        from ..client import Run

        self._run = Run(self.pathspec, root=self.settings.root)
        return self._run

    @property
    def data(self) -> Any:
        """Final artifacts, loaded lazily: ``handle.data.model``."""
        return self.run.data

    # control
    def cancel(self, wait: bool = True) -> RunHandle:
        """Stop the run: tasks stopped, run marked cancelled, finished tasks kept for resume."""
        self._cancel.set()
        if wait:
            self.wait()
        return self

    def wait(self, timeout: float | None = None) -> RunHandle:
        """Block until the run ends; interrupting the wait cancels the run."""
        try:
            self._done.wait(timeout)
        except KeyboardInterrupt:
            self._cancel.set()
            self._done.wait()
        return self

    # driving
    def _drive(
        self, params: Mapping[str, Any] | None, resume: str | None, step: str | None
    ) -> None:
        from ..runtime.api import run_flow

        try:
            run_flow(
                self.flow,
                params,
                settings=self.settings,
                run_id=self.run_id,
                resume=resume,
                resume_step=step,
                observer=_Controls(self.view, self),
            )
        except FlowError as err:
            self.error = err
        finally:
            self._done.set()

    def _start_background(self, *args: Any) -> None:
        self._thread = threading.Thread(
            target=self._drive, args=args, name=f"jupyter-flow-{self.run_id}", daemon=True
        )
        atexit.unregister(_cancel_background)  # registered once, whatever the number of runs
        atexit.register(_cancel_background)
        _BACKGROUND.add(self)
        self._thread.start()

    def __repr__(self) -> str:
        return f"RunHandle({self.pathspec!r}, status={self.status!r})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        bundle = getattr(self.view, "bundle", None)
        return bundle(final=self.done) if bundle else {"text/plain": repr(self)}


_BACKGROUND: weakref.WeakSet[RunHandle] = weakref.WeakSet()


def _cancel_background() -> None:
    """A kernel shutting down stops the runs it drives (they stay resumable)."""
    for handle in list(_BACKGROUND):
        if not handle.done:
            handle._cancel.set()
            handle._done.wait(10)


def _in_kernel(shell: Any) -> bool:
    return shell is not None and getattr(shell, "kernel", None) is not None


def make_view(settings: Settings, shell: Any) -> RunObserver:
    """The widget in a kernel; the terminal's progress lines in a plain IPython or script."""
    from ..store import open_store

    store = open_store(settings.root)
    if _in_kernel(shell):
        from .widgets import RunView

        return RunView(store)
    return TerminalProgress(store)


LAST: dict[str, RunHandle] = {}  # "run": the latest handle of this kernel, for %flow pull


def check_backend(flow: Any, name: str) -> None:
    """Before anything starts: refuse a backend that cannot run here (its SDK is missing:
    say what to install), and say what it will not do for this flow, from its capabilities
    (a GPU step on a backend that does not give GPUs)."""
    import sys

    from ..errors import ConfigError
    from ..runtime.executors.base import describe_backend

    info = describe_backend(name)
    if not info.usable:
        raise ConfigError(f"the {name} backend cannot run here: {info.reason}", hint=info.hint)
    if "gpu" not in info.capabilities:
        for step in flow.steps.values():
            if step.resources.gpu:
                print(
                    f"jupyter_flow: step {step.name!r} asks for {step.resources.gpu} GPU; "
                    f"the {name} backend does not give it one: it runs with what this "
                    "machine has (--on kubernetes or --on batch gives the step a GPU)",
                    file=sys.stderr,
                )


def run(
    notebook: str | None = None,
    *,
    on: str | None = None,
    params: Mapping[str, Any] | None = None,
    max_workers: int | None = None,
    background: bool = False,
    root: str | None = None,
    resume: str | bool | None = None,
    resume_step: str | None = None,
    check: bool = True,
) -> RunHandle:
    """Run the notebook's flow (export it first) and show it live; returns the handle.

    ``notebook`` defaults to the kernel's own notebook; a ``.py`` path runs a flow module.
    ``on`` picks the executor (local, kubernetes, batch). A blocking run raises
    ``RunFailed`` / ``RunCancelled`` once the view shows the end; a background one returns
    at once (``handle.wait()``, ``handle.cancel()``).
    """
    from IPython import get_ipython

    from ..runtime.api import settings_for

    shell = get_ipython()
    path = notebook or find_notebook(shell)
    flow = load_notebook_flow(path, check=check, shell=shell)
    settings = settings_for(root, on, max_workers)
    check_backend(flow, settings.executor)
    if resume is True:
        resume = "latest"  # run_flow: the latest run, refused when it finished
    handle = RunHandle(flow, settings, new_run_id(), make_view(settings, shell))
    LAST["run"] = handle
    show = getattr(handle.view, "show", None)
    if show is not None:
        show()
    args = (params, resume or None, resume_step)
    if background:
        handle._start_background(*args)
        return handle
    handle._drive(*args)
    if handle.error is not None:
        raise handle.error
    return handle
