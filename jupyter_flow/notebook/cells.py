"""One notebook cell -> what it is for the flow: a step, parameters, plain code, or nothing.

The ``%%step`` line is the single source of truth for a step: it is parsed here with the
same ``magic_arguments`` parser the kernel magic uses, so export needs no kernel and the
two can never read a line differently.
"""

from __future__ import annotations

import argparse
import ast
import keyword
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import CellLocation, FlowError, NotebookError, ParameterError
from ..flow.resources import Resources, make_resources, parse_duration
from ..flow.secret_params import API_NAMES, Secret
from ..flow.spec import Foreach
from .ipysyntax import clean_step_body, parse_python, to_python

STEP_OPTIONS = (
    "--cpu", "--memory", "--gpu", "--retries", "--timeout", "--catch", "--image",
    "--packages", "--foreach", "--after", "--inputs", "--outputs", "--on",
)  # fmt: skip
PARAMS_TAG = "parameters"
# Cell magics that still run their body as Python in the user namespace.
TRANSPARENT_CELL_MAGICS = frozenset({"time", "capture", "prun"})


@dataclass(frozen=True)
class Cell:
    """Where a cell is, so every problem can point at it."""

    index: int  # 1-based, counting every cell as JupyterLab shows them
    cell_id: str | None
    source: str

    @property
    def first_line(self) -> str:
        return next((ln for ln in self.source.splitlines() if ln.strip()), "")

    def location(self, line: int | None = None) -> CellLocation:
        return CellLocation(self.index, self.first_line, self.cell_id, line)

    def error(
        self, headline: str, *, line: int | None = None, hint: str | None = None
    ) -> NotebookError:
        return NotebookError(headline, location=self.location(line), hint=hint)


@dataclass(frozen=True)
class StepOptions:
    """The ``%%step`` line, validated; raw strings are kept so the module reads as written."""

    name: str
    cpu: str | None = None
    memory: str | None = None
    gpu: int | None = None
    retries: int = 0
    timeout: str | None = None
    catch: bool = False
    image: str | None = None
    packages: tuple[str, ...] = ()
    foreach: Foreach | None = None
    after: tuple[str, ...] = ()
    inputs: tuple[str, ...] | None = None
    outputs: tuple[str, ...] | None = None
    on: str | None = None  # kernel only: run this cell on an executor; export ignores it

    @property
    def resources(self) -> Resources:
        return make_resources(self.cpu, self.memory, self.gpu)

    @property
    def timeout_seconds(self) -> float | None:
        return parse_duration(self.timeout)


@dataclass(frozen=True)
class StepCell:
    cell: Cell
    options: StepOptions
    body: str  # Python only: notebook-only lines replaced by comments
    body_line: int  # line of the cell where ``body`` starts (1-based)
    tree: ast.Module
    packages: tuple[str, ...]  # --packages plus ``%pip install`` lines
    # Names the kernel saw this step change in place without its code showing it (filled
    # from what the kernel recorded, before the graph is built): treated as in-place changes.
    observed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParamsCell:
    cell: Cell
    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class CodeCell:
    """An untagged code cell: only its pure definitions (imports, defs, constants) export."""

    cell: Cell
    code: str
    tree: ast.Module | None  # None for a non-Python cell (``%%bash``, ``%%html``, ...)


ParsedCell = StepCell | ParamsCell | CodeCell


def _step_spec(line: str, cell: str) -> None:
    """Mark this cell as a flow step. The cell still runs here exactly as without the magic.

    The step reads the variables the cell uses and writes the ones it assigns or changes;
    ``jupyter flow export`` turns every ``%%step`` cell into a step function of the flow.
    """


@cache
def step_parser() -> argparse.ArgumentParser:
    """The parser of the ``%%step`` line, shared by the kernel magic and export."""
    from IPython.core.magic_arguments import argument, magic_arguments

    decorators = [
        magic_arguments("step"),
        argument("name", help="step name (a Python identifier)"),
        argument("--cpu", help="CPUs per task, e.g. 2, 0.5 or 500m"),
        argument("--memory", help="memory per task, e.g. 4G, 512M"),
        argument("--gpu", help="GPUs per task"),
        argument("--retries", help="retry a failed task N times", default="0"),
        argument("--timeout", help="fail a task after this long, e.g. 30m, 1h"),
        argument("--catch", action="store_true", help="a failing task does not fail the run"),
        argument("--image", help="container image for remote executors"),
        argument("--packages", help='pip requirements, e.g. "pandas==2.2 scikit-learn"'),
        argument("--foreach", nargs="+", metavar="ITEM in LIST", help="one task per item"),
        argument("--after", help="comma-separated steps to run after (besides data)"),
        argument("--inputs", help="comma-separated names read (overrides inference)"),
        argument("--outputs", help="comma-separated names written (overrides inference)"),
        argument("--on", help="run the cell on an executor (local, kubernetes, batch)"),
    ]
    func: Any = _step_spec
    for deco in reversed(decorators):
        func = deco(func)
    parser: argparse.ArgumentParser = func.parser
    parser.allow_abbrev = False  # --mem must not silently mean --memory
    return parser


def step_help() -> str:
    return step_parser().format_help()


def _names(value: str | None, what: str, cell: Cell) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise cell.error(f"{what} name {name!r} is not a Python identifier", line=1)
    return names


def _unquote(value: Any) -> Any:
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_step_line(args: str, cell: Cell) -> StepOptions:
    """``NAME [--cpu N] ...`` -> StepOptions; any mistake is a located ``NotebookError``."""
    from IPython.core.error import UsageError

    try:
        ns = step_parser().parse_argstring(args)  # type: ignore[attr-defined]
    except (UsageError, ValueError) as err:
        text = str(err)
        if "unrecognized arguments" in text or "ambiguous option" in text:
            hint = "valid options: " + " ".join(STEP_OPTIONS)
        elif "required" in text:
            text, hint = "%%step needs a step name", "write e.g. %%step train --cpu 2"
        else:
            hint = "see %%step? in a notebook for the syntax"
        raise cell.error(f"bad %%step line: {text}", line=1, hint=hint) from None
    for key, value in vars(ns).items():  # IPython's arg_split keeps quotes: "a b" -> '"a b"'
        setattr(ns, key, _unquote(value))
    name = ns.name
    if not name.isidentifier() or keyword.iskeyword(name):
        raise cell.error(
            f"step name {name!r} is not a Python identifier", line=1, hint="e.g. load_data"
        )
    try:
        retries = int(ns.retries)
        if retries < 0:
            raise ValueError(ns.retries)
    except ValueError:
        raise cell.error(f"--retries {ns.retries!r} must be a whole number >= 0", line=1) from None
    loc = cell.location(1)
    try:
        foreach = Foreach.parse(" ".join(ns.foreach), location=None) if ns.foreach else None
        make_resources(ns.cpu, ns.memory, ns.gpu, location=loc)
        parse_duration(ns.timeout, location=loc)
    except FlowError as err:
        raise NotebookError(err.headline, location=loc, hint=err.hint) from None
    return StepOptions(
        name=name,
        cpu=ns.cpu,
        memory=ns.memory,
        gpu=None if ns.gpu is None else int(ns.gpu),
        retries=retries,
        timeout=ns.timeout,
        catch=bool(ns.catch),
        image=ns.image,
        packages=tuple(ns.packages.split()) if ns.packages else (),
        foreach=foreach,
        after=_names(ns.after, "--after", cell) or (),
        inputs=_names(ns.inputs, "--inputs", cell),
        outputs=_names(ns.outputs, "--outputs", cell),
        on=ns.on,
    )


def split_cell_magic(source: str) -> tuple[str, str, str, int] | None:
    """``(magic, args, body, body_line)`` when the cell starts with ``%%magic``."""
    lines = source.split("\n")
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first == len(lines) or not lines[first].startswith("%%"):
        return None
    head = lines[first][2:]
    magic, _, args = head.partition(" ")
    return magic.strip(), args.strip(), "\n".join(lines[first + 1 :]), first + 2


def _parse(code: str, cell: Cell, body_line: int) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError as err:
        line = (err.lineno or 1) + body_line - 1
        raise cell.error(
            f"syntax error: {err.msg}", line=line, hint="fix the cell; it must run as Python"
        ) from None


def _secret_call(node: ast.expr) -> Secret | None:
    """``secret("ENV")`` (or ``jupyter_flow.secret("ENV")``): a secret parameter."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name != "secret" or node.keywords or len(node.args) != 1:
        return None
    arg = node.args[0]
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        return None
    return Secret(arg.value)


def imports_flow_api(stmt: ast.stmt, names: frozenset[str] = API_NAMES) -> bool:
    """``from jupyter_flow import secret`` (only ``names``, not renamed): what a parameters
    cell may hold, and what the module imports itself instead of copying."""
    return (
        isinstance(stmt, ast.ImportFrom)
        and stmt.module == "jupyter_flow"
        and all(a.name in names and a.asname is None for a in stmt.names)
    )


def _imports_secret(stmt: ast.stmt) -> bool:
    """A parameters cell may import what its ``secret(...)`` calls need."""
    return imports_flow_api(stmt, frozenset({"secret"})) or (
        isinstance(stmt, ast.Import) and all(a.name == "jupyter_flow" for a in stmt.names)
    )


def parse_params(code: str, cell: Cell, body_line: int) -> ParamsCell:
    """Parameters are simple assignments of literals (or of ``secret("ENV")``), so the
    module can list them."""
    tree = _parse(code, cell, body_line)
    values: dict[str, Any] = {}
    for stmt in tree.body:
        line = stmt.lineno + body_line - 1
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring or a stray literal
        if _imports_secret(stmt):
            continue
        target = (
            stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
        )
        if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target = stmt.target
        if not isinstance(target, ast.Name):
            raise cell.error(
                "a parameters cell may only contain assignments like n_rows = 1000",
                line=line,
                hint="move other code to a step or an untagged cell",
            )
        value_node = stmt.value  # type: ignore[attr-defined]
        assert value_node is not None
        try:
            ref = _secret_call(value_node)
        except ParameterError as err:
            raise cell.error(err.headline, line=line, hint=err.hint) from None
        if ref is not None:
            values[target.id] = ref
            continue
        try:
            values[target.id] = ast.literal_eval(value_node)
        except ValueError:
            raise cell.error(
                f"parameter {target.id!r} must be a literal (number, string, bool, list, dict)",
                line=line,
                hint="compute derived values in a step; a password or token is read with "
                'secret("ENV_VAR") (from jupyter_flow import secret)',
            ) from None
    return ParamsCell(cell, tuple(values.items()))


def _tags(raw: Mapping[str, Any]) -> list[str]:
    meta = raw.get("metadata") or {}
    return list(meta.get("tags") or [])


def parse_cell(raw: Mapping[str, Any], index: int) -> ParsedCell | None:
    """Classify one nbformat cell; ``None`` for markdown, raw and empty cells."""
    if raw.get("cell_type") != "code":
        return None
    source = raw.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    cell = Cell(index, raw.get("id"), source)
    if not source.strip():
        return None
    magic = split_cell_magic(source)
    if magic is not None:
        name, args, body, body_line = magic
        if name == "step":
            options = parse_step_line(args, cell)
            code, packages, tree = clean_step_body(body, cell, body_line)
            return StepCell(cell, options, code, body_line, tree, (*options.packages, *packages))
        if name == "params":
            return parse_params(to_python(body), cell, body_line)
        if name not in TRANSPARENT_CELL_MAGICS:
            return CodeCell(cell, body, None)
        source = "\n" * (body_line - 1) + body
    if PARAMS_TAG in _tags(raw):
        return parse_params(to_python(source), cell, 1)
    try:
        code, tree = parse_python(source)
    except SyntaxError as err:
        raise cell.error(
            f"syntax error: {err.msg}",
            line=err.lineno or 1,
            hint="fix the cell; it must run as Python",
        ) from None
    return CodeCell(cell, code, tree)
