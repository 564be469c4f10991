"""The notebook half's Python API: analyse a notebook, export it to a flow module.

``analyze`` never raises for a user mistake (the server extension shows problems next to
cells); ``export_notebook`` raises the first problem and then writes nothing.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CellLocation, NotebookError
from ..flow.secret_params import Secret
from ..flow.spec import Parameter
from . import observations, overwrite
from .broken import Unreadable
from .cells import Cell, CodeCell, ParsedCell, StepCell, parse_cell
from .codegen import generate
from .dataflow import analyze_tree
from .formatting import format_module
from .graph import StepGraph, build_graph
from .linemap import annotate as annotate_lines
from .observations import Observation
from .prelude import prelude_statements


@dataclass(frozen=True)
class ExportResult:
    module_path: str
    source: str
    steps: tuple[dict[str, Any], ...]
    flow_name: str
    notes: tuple[str, ...] = ()  # what export could not check (cells never observed, ...)
    parameters: tuple[tuple[str, Any], ...] = ()  # (name, default): what a run may set


def flow_name_for(notebook_path: str) -> str:
    """``taxi-trips.ipynb`` -> ``TaxiTripsFlow``; a stem ending in ``flow`` is not doubled."""
    words = re.findall(r"[A-Za-z0-9]+", Path(notebook_path).stem)
    camel = "".join(w[:1].upper() + w[1:] for w in words).lstrip("0123456789")
    if not camel:
        camel = "Notebook"
    return camel if camel.lower().endswith("flow") else camel + "Flow"


def module_path_for(notebook_path: str) -> str:
    """``<notebook stem>_flow.py`` beside the notebook (non-identifier characters -> ``_``)."""
    path = Path(notebook_path)
    stem = re.sub(r"\W", "_", path.stem)
    return str(path.with_name(f"{stem}_flow.py"))


def _invalid(err: Exception) -> NotebookError:
    path = list(getattr(err, "absolute_path", []) or [])
    loc = None
    if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
        loc = CellLocation(path[1] + 1)
    message = str(getattr(err, "message", err)).splitlines()[0]
    return NotebookError(
        f"not a valid notebook (nbformat 4): {message}",
        location=loc,
        hint="open and save it in JupyterLab, or check the file was not truncated",
    )


_CELL_TYPES = frozenset({"code", "markdown", "raw"})


def _well_formed(nb: Any) -> bool:
    """What export relies on: nbformat 4, and cells with a type, a source and metadata.

    Checked by hand because importing nbformat's JSON-schema validator costs seconds (its
    URI grammar is compiled at import), which a user would pay on the first ``%flow run``.
    A notebook that fails this check goes through nbformat, for its precise error.
    """
    if not isinstance(nb, Mapping) or nb.get("nbformat") != 4:
        return False
    cells = nb.get("cells")
    if not isinstance(cells, list) or not isinstance(nb.get("metadata", {}), Mapping):
        return False
    for cell in cells:
        if not isinstance(cell, Mapping) or cell.get("cell_type") not in _CELL_TYPES:
            return False
        source = cell.get("source")
        if not (
            isinstance(source, str)
            or (isinstance(source, list) and all(isinstance(s, str) for s in source))
        ):
            return False
        if not isinstance(cell.get("metadata", {}), Mapping):
            return False
    return True


def _validate(nb: Mapping[str, Any], *, validated: bool = False) -> Any:
    """The notebook, or a NotebookError naming the broken cell."""
    if validated or _well_formed(nb):
        return nb
    import nbformat
    from nbformat.validator import ValidationError

    node = nb if isinstance(nb, nbformat.NotebookNode) else nbformat.from_dict(dict(nb))
    try:
        if node.get("nbformat") != 4:
            raise ValidationError(f"nbformat {node.get('nbformat')!r} is not 4")
        with warnings.catch_warnings():  # missing cell ids in old files are not our concern
            warnings.simplefilter("ignore")
            nbformat.validate(node, version=4)
    except ValidationError as err:
        raise _invalid(err) from None
    return node


def _parse_cells(
    node: Any, problems: list[NotebookError], broken: Unreadable | None = None
) -> list[ParsedCell]:
    """The cells that parse; ``broken`` gets those that do not (``broken.py``)."""
    parsed: list[ParsedCell] = []
    for i, raw in enumerate(node.get("cells", []), start=1):
        try:
            cell = parse_cell(raw, i)
        except NotebookError as err:
            problems.append(err)
            source = raw.get("source", "")
            if broken is not None:
                text = "".join(source) if isinstance(source, list) else source
                broken.add(i, raw.get("id"), text)
            continue
        if cell is not None:
            parsed.append(cell)
    return parsed


@dataclass(frozen=True)
class Built:
    """A resolved notebook: the graph (None when it is not even a notebook), every problem,
    and the notes export prints (what it could not check)."""

    graph: StepGraph | None
    problems: list[NotebookError]
    notes: tuple[str, ...] = ()
    unreadable: Unreadable | None = None
    cells: tuple[ParsedCell, ...] = ()


def build_checked(
    nb: Mapping[str, Any],
    *,
    notebook_path: str,
    flow_name: str | None = None,
    validated: bool = False,
    observed: Mapping[str, Observation] | None = None,
) -> Built:
    """Parse and resolve a notebook with what the kernel observed of its step cells.

    The observations are read from the sidecar beside the notebook (``.jupyter_flow/observed``
    in ``notebook_path``'s folder); ``observed`` (key -> observation, from a kernel that could
    not write its sidecar) adds to and overrides them."""
    try:
        node = _validate(nb, validated=validated)
    except NotebookError as err:
        return Built(None, [err])
    problems: list[NotebookError] = []
    broken = Unreadable()
    cells = _parse_cells(node, problems, broken)
    seen = {**observations.load(cells, Path(notebook_path).parent), **(observed or {})}
    cells, used, unseen = observations.apply(cells, seen)
    meta_name = (node.get("metadata") or {}).get("jupyter_flow", {}).get("flow_name")
    name = flow_name or meta_name or flow_name_for(notebook_path)
    if not name.isidentifier():
        problems.append(NotebookError(f"flow name {name!r} is not an identifier"))
    graph, more = build_graph(
        cells, flow_name=name, notebook_name=Path(notebook_path).name, broken=broken.names
    )
    if problems:  # "no steps" is noise when a step line itself is broken
        more = [e for e in more if e.location is not None]
    problems += more
    steps = {c.options.name: c.cell for c in cells if isinstance(c, StepCell)}
    random_problems, notes = observations.check_random(
        used, steps, _last_seeds(graph, cells), [c.cell for c in cells]
    )
    located = {p.location.index for p in problems if isinstance(p.location, CellLocation)}
    net = observations.check_changed(graph.steps, used)  # only where the graph said nothing
    problems += random_problems + [
        p for p in net if isinstance(p.location, CellLocation) and p.location.index not in located
    ]
    problems.sort(key=lambda e: e.location.index if isinstance(e.location, CellLocation) else 0)
    unseen_note = observations.unseen_note(unseen)
    said = (*([unseen_note] if unseen_note else []), *notes)
    return Built(graph, problems, tuple(said), broken, tuple(cells))


def build(
    nb: Mapping[str, Any],
    *,
    notebook_path: str,
    flow_name: str | None = None,
    validated: bool = False,
) -> tuple[StepGraph | None, list[NotebookError]]:
    """``build_checked`` without the notes."""
    built = build_checked(nb, notebook_path=notebook_path, flow_name=flow_name, validated=validated)
    return built.graph, built.problems


def _last_seeds(graph: StepGraph, cells: list[ParsedCell]) -> dict[str, tuple[str, Cell]]:
    """Generator -> (source, cell) of the last seed the prelude replays: the state every
    flow task starts from. The graph's prelude when it has one; else the untagged cells'
    replayable seeds, read the same way (``notebook.prelude``)."""
    found: dict[str, tuple[str, Cell]] = {}
    seeds = getattr(graph, "seeds", None)
    if callable(seeds):  # generator -> its last PreludeEntry
        for gen, entry in seeds().items():
            found[gen] = (entry.statement.source, entry.cell)
        return found
    aliases: dict[str, str] = {}
    for parsed in cells:
        if isinstance(parsed, CodeCell) and parsed.tree is not None:
            for _, stmt in prelude_statements(parsed.tree, parsed.code, aliases):
                if stmt.kind == "seed" and stmt.generator:
                    found[stmt.generator] = (stmt.source, parsed.cell)
    return found


def step_table(graph: StepGraph) -> tuple[dict[str, Any], ...]:
    """JSON-able step rows: what the server extension and the CLI table show."""
    rows = []
    for step in graph.steps:
        opts = step.options
        res = opts.resources
        rows.append(
            {
                "name": step.name,
                "cell_index": step.cell.index,
                "cell_id": step.cell.cell_id,
                "inputs": list(step.inputs),
                "outputs": list(step.outputs),
                "resources": {"cpu": res.cpu, "memory_mb": res.memory_mb, "gpu": res.gpu},
                "foreach": str(opts.foreach) if opts.foreach else None,
                "after": list(step.after),
                "retries": opts.retries,
                "timeout": opts.timeout_seconds,
                "packages": list(step.packages),
            }
        )
    return tuple(rows)


def _jsonable(value: Any) -> Any:
    """Parameter defaults are literals; the few JSON lacks (sets, bytes, complex) become text.
    A secret is described by the variable it reads (``{"secret": "ENV"}``), never a value."""
    if isinstance(value, Secret):
        return {"secret": value.env}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def analyze(nb: Mapping[str, Any], *, notebook_path: str) -> dict[str, Any]:
    """Everything the UI shows about a (possibly unsaved) notebook; problems, never raises."""
    built = build_checked(nb, notebook_path=notebook_path)
    graph, problems = built.graph, built.problems
    result: dict[str, Any] = {
        "flow": graph.flow_name if graph else flow_name_for(notebook_path),
        "module_path": module_path_for(notebook_path),
        "parameters": {k: _jsonable(v) for k, v in graph.parameters} if graph else {},
        # JSON cannot tell 1.0 from 1: the type each value is converted to, from its default
        "parameter_types": (
            {k: Parameter(k, v).type_name for k, v in graph.parameters} if graph else {}
        ),
        "steps": list(step_table(graph)) if graph else [],
        "edges": [list(e) for e in graph.edges] if graph else [],
        "problems": [p.to_json() for p in problems],
        "notes": list(built.notes),
    }
    if built.unreadable is not None and built.unreadable.steps:  # drawn, marked as problems
        readers = [
            (c.options.name, c.cell.index, analyze_tree(c.tree).reads)
            for c in built.cells
            if isinstance(c, StepCell)
        ]
        rows, edges = built.unreadable.dag(readers)
        result["steps"] = sorted(result["steps"] + rows, key=lambda r: r["cell_index"])
        result["edges"] += edges
    return result


def read_notebook(notebook_path: str) -> Any:
    """The notebook as plain JSON when it is well formed (fast); a file that is not JSON
    is described by ``unreadable`` (where, and how to restore it); valid JSON that is not
    a notebook goes through nbformat, to say precisely what is wrong."""
    import json

    from .unreadable import unreadable

    try:
        with open(notebook_path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise NotebookError(f"no notebook at {notebook_path}") from None
    except IsADirectoryError:
        raise NotebookError(f"{notebook_path} is a folder, not a notebook") from None
    except OSError as err:
        raise NotebookError(f"cannot read {notebook_path}: {err.strerror or err}") from None
    problem = unreadable(notebook_path, data)
    if problem is not None:
        raise problem
    nb = json.loads(data.decode("utf-8-sig"))
    if _well_formed(nb):
        return nb

    import nbformat

    invalid: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing cell ids in old files: not our concern
        node = nbformat.reads(
            json.dumps(nb), as_version=nbformat.NO_CONVERT, capture_validation_error=invalid
        )
    if invalid.get("ValidationError") is not None:
        raise _invalid(invalid["ValidationError"])
    if node.get("nbformat") != 4:
        raise NotebookError(f"{notebook_path} is nbformat {node.get('nbformat')}, not 4")
    return node


def export_checked(
    nb: Mapping[str, Any],
    *,
    notebook_path: str,
    module_path: str,
    flow_name: str | None = None,
    fmt: bool = True,
    validated: bool = False,
    observed: Mapping[str, Observation] | None = None,
) -> tuple[StepGraph, str, tuple[str, ...]]:
    """Module source and notes for a notebook; raises the first problem as a
    ``NotebookError``. Every export path comes through here, so all give one verdict."""
    built = build_checked(
        nb, notebook_path=notebook_path, flow_name=flow_name, validated=validated, observed=observed
    )
    if built.problems:
        first = built.problems[0]
        if len(built.problems) > 1:
            more = f"{len(built.problems) - 1} more problem(s) after this one"
            hint = f"{first.hint}; {more}" if first.hint else more
            raise NotebookError(first.headline, location=first.location, hint=hint)
        raise first
    assert built.graph is not None
    source = generate(built.graph, Path(module_path).name)
    source = format_module(source) if fmt else source
    return built.graph, annotate_lines(source, built.graph), built.notes


def export_source(
    nb: Mapping[str, Any],
    *,
    notebook_path: str,
    module_path: str,
    flow_name: str | None = None,
    fmt: bool = True,
    validated: bool = False,
) -> tuple[StepGraph, str]:
    """``export_checked`` without the notes."""
    graph, source, _ = export_checked(
        nb,
        notebook_path=notebook_path,
        module_path=module_path,
        flow_name=flow_name,
        fmt=fmt,
        validated=validated,
    )
    return graph, source


def export_notebook(
    notebook_path: str,
    output: str | None = None,
    *,
    check: bool = False,
    flow_name: str | None = None,
    observed: Mapping[str, Observation] | None = None,
    force: bool = False,
) -> ExportResult:
    """Export a saved notebook to its flow module (written atomically, or not at all).
    ``observed``: the kernel's observations it could not write beside the notebook.
    A module export did not write, or edited since, is not overwritten unless ``force``."""
    module_path = output or module_path_for(notebook_path)
    nb = read_notebook(notebook_path)
    graph, source, notes = export_checked(
        nb,
        notebook_path=notebook_path,
        module_path=module_path,
        flow_name=flow_name,
        validated=True,  # read_notebook did
        observed=observed,
    )
    if not check:
        overwrite.check_target(module_path, source, force=force)
        overwrite.write(module_path, source)
    return ExportResult(
        module_path, source, step_table(graph), graph.flow_name, notes, tuple(graph.parameters)
    )
