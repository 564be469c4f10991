"""One error family for everything a user can cause.

Every error carries a headline (what is wrong), a location (a notebook cell or a flow
step) and a hint (what to do). The CLI, the magics and the server print these without a
traceback; anything else escaping is our bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CellLocation:
    """A notebook cell: 1-based index as the user counts them, its id and first line."""

    index: int
    first_line: str = ""
    cell_id: str | None = None
    line: int | None = None  # 1-based line inside the cell, when known

    def __str__(self) -> str:
        where = f"cell {self.index}"
        if self.line is not None:
            where += f", line {self.line}"
        if self.first_line:
            where += f" ({self.first_line.strip()[:60]!r})"
        return where


@dataclass(frozen=True)
class StepLocation:
    """A flow step, optionally one task of it (a foreach item)."""

    step: str
    task: int | None = None

    def __str__(self) -> str:
        if self.task is None:
            return f"step {self.step!r}"
        return f"step {self.step!r}, task {self.task}"


Location = CellLocation | StepLocation


class FlowError(Exception):
    """Base of every error a user can cause. ``str(err)`` is the full, printable message."""

    exit_code = 2

    def __init__(
        self, headline: str, *, location: Location | None = None, hint: str | None = None
    ) -> None:
        self.headline = headline
        self.location = location
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        text = f"{self.location}: {self.headline}" if self.location else self.headline
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        """The shape the server extension sends to the browser."""
        loc: dict[str, object] | None = None
        if isinstance(self.location, CellLocation):
            loc = {
                "kind": "cell",
                "index": self.location.index,
                "cell_id": self.location.cell_id,
                "first_line": self.location.first_line,
                "line": self.location.line,
            }
        elif isinstance(self.location, StepLocation):
            loc = {"kind": "step", "step": self.location.step, "task": self.location.task}
        return {
            "error": type(self).__name__,
            "message": self.headline,
            "hint": self.hint,
            "location": loc,
            "text": self.format(),
        }


class FlowDefinitionError(FlowError):
    """The flow as written cannot be run: bad step options, bad DAG, bad resources."""


class ParameterError(FlowError):
    """A --param value is unknown or cannot be converted to the parameter's type."""


class NotebookError(FlowError):
    """A notebook cannot be exported (located at a cell)."""


class ExportRefused(FlowError):
    """Export would overwrite a file it did not write, or one edited since it wrote it."""


class ArtifactError(FlowError):
    """An output cannot be saved or an artifact cannot be loaded."""


class StoreError(FlowError):
    """The store is unreachable, misconfigured or missing an object."""


class CorruptBlob(StoreError):
    """A blob's bytes do not match its key. It was not loaded; ``set_aside`` is where the
    damaged copy was moved (so the blob now counts as missing and ``resume`` recomputes the
    task that made it), or None when it could not be moved."""

    def __init__(
        self,
        headline: str,
        *,
        key: str,
        set_aside: str | None = None,
        location: Location | None = None,
        hint: str | None = None,
    ) -> None:
        self.key = key
        self.set_aside = set_aside
        super().__init__(headline, location=location, hint=hint)

    def about(
        self, what: str, *, store: str, run_id: str, location: Location | None = None
    ) -> CorruptBlob:
        """This error told in the user's terms: ``what`` (an input and the task that wrote
        it, an artifact of a task) and the run to resume."""
        aside = f"; the damaged copy was moved to {self.set_aside}" if self.set_aside else ""
        return CorruptBlob(
            f"{what} is corrupt in the store {store} (blob {self.key} does not match its "
            f"key): it was not loaded{aside}",
            key=self.key,
            set_aside=self.set_aside,
            location=location,
            hint=f"resume the run ({run_id}): the task that wrote it is recomputed",
        )


class RunNotFound(FlowError):
    """A run id or flow name that the store does not know."""


class ConfigError(FlowError):
    """Settings, profiles or a backend name are wrong."""


class MissingExtraError(ConfigError):
    """An optional SDK is needed but not installed."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the {package!r} package, which is not installed",
            hint=f"pip install 'jupyter-flow[{extra}]'",
        )


class RunFailed(FlowError):
    """A run ended with a failed step. The headline says where and why in one line
    (``step 'combine' failed (cell 6, line 3: "..."): KeyError: 'y'``); ``detail`` is the
    user's traceback, printed after it."""

    exit_code = 1

    def __init__(
        self,
        headline: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        detail: str = "",
    ) -> None:
        self.detail = detail
        super().__init__(headline, location=location, hint=hint)

    def format(self) -> str:
        text = f"{self.location}: {self.headline}" if self.location else self.headline
        if getattr(self, "detail", ""):
            text += "\n" + self.detail.rstrip()
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "detail": self.detail}


class RunCancelled(FlowError):
    """A run was interrupted; finished tasks are kept for resume."""

    exit_code = 130


class StoreFull(StoreError):
    """A write to the store failed for lack of space, quota or permission; the run is
    resumable once the store is writable again."""
