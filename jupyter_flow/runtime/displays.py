"""Rich outputs of a task: what its code displays, kept as mimebundles next to its logs.

A step that calls ``display(df)`` or draws a matplotlib figure shows it in the notebook when
the cell runs in the kernel; in a worker or a container there is no frontend, so the same
calls are recorded instead (``attempt-<n>.displays.jsonl``, one bundle per line) and the
notebook shows them under the step. IPython's ``display`` looks up the interactive shell
singleton: during the task, a small stand-in shell formats objects with IPython's own
formatters and appends each bundle to the store. Figures still open when the step returns
(or shown with ``plt.show()``) are saved as PNG.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..store.records import log_path

if TYPE_CHECKING:
    from ..store.blobs import BlobStore
    from .taskspec import TaskSpec

STREAM = "displays.jsonl"
MAX_BUNDLES = 200  # a step displaying in a tight loop must not fill the store
MAX_BUNDLE_BYTES = 8 << 20


def displays_key(flow: str, run_id: str, step: str, index: int, attempt: int) -> str:
    return log_path(flow, run_id, step, index, attempt, STREAM)


def read_displays(store: BlobStore, key: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The bundles recorded after byte ``offset``, and the offset to read on from. Whole
    lines only: a task may still be appending; a view polling a running task reads each
    bundle (images can be megabytes) once."""
    path = store.local_path(key)
    if path is not None:
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
        except FileNotFoundError:
            return [], offset
    else:
        data = (store.get(key) or b"")[offset:]
    whole = data[: data.rfind(b"\n") + 1]
    bundles = []
    for line in whole.split(b"\n"):
        if line.strip():
            with contextlib.suppress(ValueError):
                bundles.append(json.loads(line))
    return bundles, offset + len(whole)


def figure_png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


class _Recorder:
    """Appends bundles to the attempt's ``displays.jsonl`` (local file, or one PUT at the end)."""

    def __init__(self, store: BlobStore, key: str) -> None:
        self.store = store
        self.key = key
        self.path = store.local_path(key)
        self.lines: list[bytes] = []
        self.count = 0
        self.shown: set[int] = set()  # figures displayed explicitly: not saved again at the end
        self.lock = threading.Lock()
        self.masks: tuple[bytes, ...] = ()  # secret values the task read: never recorded

    def mask(self, values: list[bytes]) -> None:
        """From now on, mask ``values`` in the text of what the task displays (a DataFrame
        of credentials, ``display(token)``); the live view reads the bundles as they come."""
        self.masks = tuple(sorted(set(self.masks) | set(values), key=len, reverse=True))

    def add(self, data: dict[str, Any], metadata: dict[str, Any] | None = None) -> None:
        if self.masks:
            data = _masked(data, self.masks)
        line = json.dumps({"data": data, "metadata": metadata or {}}, default=str).encode()
        with self.lock:
            if self.count >= MAX_BUNDLES or len(line) > MAX_BUNDLE_BYTES:
                return
            self.count += 1
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "ab") as fh:
                    fh.write(line + b"\n")
            else:
                self.lines.append(line)

    def close(self) -> None:
        if self.path is None and self.lines:
            self.store.put(self.key, b"\n".join(self.lines) + b"\n")


def _masked(value: Any, masks: tuple[bytes, ...]) -> Any:
    """``value`` (a bundle: str per mimetype, a dict for JSON types) with secrets masked."""
    from ..flow.secret_params import mask_text

    if isinstance(value, str):
        return mask_text(value, masks)
    if isinstance(value, dict):
        return {k: _masked(v, masks) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, masks) for v in value]
    return value


class _Active:
    """The recorder of the task running in this process (a worker runs one at a time)."""

    recorder: _Recorder | None = None


@functools.cache
def _stand_in_shell() -> Any:
    """An object ``IPython.display.display`` accepts as the shell: IPython's formatter plus a
    publisher that records into the active task's recorder. Built once per process (the
    formatter's set-up costs milliseconds, too much per task) and without
    ``InteractiveShell.__init__`` (no history, no hooks): only what ``display`` and
    matplotlib use exists."""
    from IPython.core.formatters import DisplayFormatter
    from IPython.core.interactiveshell import InteractiveShell

    class Publisher:
        def publish(self, data: dict[str, Any], metadata: Any = None, **_: Any) -> None:
            if _Active.recorder is not None:
                _Active.recorder.add(dict(data), dict(metadata or {}))

        def clear_output(self, wait: bool = False) -> None:
            """Outputs are kept: a recorded display cannot be cleared afterwards."""

    class Events:
        """matplotlib registers a redraw hook with the shell: nothing to redraw here."""

        def register(self, *_: Any) -> None: ...
        def unregister(self, *_: Any) -> None: ...

    class StandIn(InteractiveShell):
        display_formatter = None
        display_pub = None  # type: ignore[assignment]
        events = Events()  # type: ignore[assignment]

    shell = StandIn.__new__(StandIn)
    formatter = DisplayFormatter()
    png = formatter.formatters["image/png"]

    def shown_png(fig: Any) -> str:
        if _Active.recorder is not None:
            _Active.recorder.shown.add(id(fig))
        return figure_png(fig)

    png.for_type_by_name("matplotlib.figure", "Figure", shown_png)
    object.__setattr__(shell, "display_formatter", formatter)
    object.__setattr__(shell, "display_pub", Publisher())
    return shell


def _save_figures(recorder: _Recorder) -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for number in plt.get_fignums():
        fig = plt.figure(number)
        with contextlib.suppress(Exception):
            if id(fig) not in recorder.shown:
                recorder.add({"image/png": figure_png(fig), "text/plain": repr(fig)})
        plt.close(fig)


def _headless_matplotlib() -> None:
    """A worker inherits the kernel's inline backend, which needs a live kernel: use Agg."""
    if "matplotlib.pyplot" in sys.modules or "inline" not in os.environ.get("MPLBACKEND", ""):
        return
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None:
        matplotlib.use("Agg")
    else:
        os.environ["MPLBACKEND"] = "Agg"


def _install_stand_in() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell._instance = _stand_in_shell()


class _InstallWhenImported:  # a meta path finder (not importlib.abc's: ~4 ms to import)
    """Installs the stand-in shell as soon as the task imports IPython.

    Most steps never display anything, and importing IPython costs a fresh worker about
    0.1 s, a fifth of a short flow's run: so a worker that has not imported it yet installs
    the stand-in only when (if) the step does. Only the top-level package is intercepted:
    every IPython import goes through it first, and once it is fully initialized the
    stand-in's own imports are safe.
    """

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "IPython":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if finder is self or find is None else find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _ThenInstall(spec.loader)
                return spec
        return None


class _ThenInstall:  # a loader, as importlib.abc.Loader would be
    """The real loader of IPython, then the stand-in; anything else goes to the real one."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        if _Active.recorder is not None:
            _install_stand_in()


@contextlib.contextmanager
def capture_displays(store: BlobStore, spec: TaskSpec) -> Iterator[_Recorder]:
    """Record what the task displays; a no-op inside a real IPython shell (the kernel shows
    displays itself: the recorder given is then never used)."""
    key = displays_key(spec.flow, spec.run_id, spec.step, spec.index, spec.attempt)
    recorder = _Recorder(store, key)
    imported = "IPython" in sys.modules
    if imported:
        from IPython.core.interactiveshell import InteractiveShell

        if InteractiveShell.initialized():
            yield recorder
            return
    _headless_matplotlib()
    _Active.recorder = recorder
    hook = None
    if imported:
        _install_stand_in()
    else:
        hook = _InstallWhenImported()
        sys.meta_path.insert(0, hook)
    plt: Any = sys.modules.get("matplotlib.pyplot")
    show = getattr(plt, "show", None)
    if plt is not None:
        plt.show = lambda *args, **kwargs: _save_figures(recorder)
    try:
        yield recorder
    finally:
        with contextlib.suppress(Exception):
            _save_figures(recorder)
        if plt is not None:
            plt.show = show
        if hook is not None:
            sys.meta_path.remove(hook)
        shell = sys.modules.get("IPython.core.interactiveshell")
        if shell is not None:
            shell.InteractiveShell._instance = None
        _Active.recorder = None
        recorder.close()
