"""The located errors of graph resolution: a step reads something the flow cannot hand it.

Each names the reading cell and line, the cell that set the value, and what to do.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import re
from collections.abc import Mapping, Sequence

from ..errors import NotebookError
from .cells import Cell, StepCell
from .definitions import Definition
from .prelude import config_target
from .stepgraph import GraphStep

NOTEBOOK_ONLY = re.compile(r"^(get_ipython|In|Out|_+|_\d+|_i+\d*|_[ido]h)$")
RESERVED = frozenset({"flow", "Flow", "prelude"})  # names the module itself binds
_WHAT = {"step": "a value of step", "param": "a parameter", "code": "set by an untagged cell"}


def unexportable(
    cell: Cell,
    name: str,
    line: int,
    kind: str,
    src: Cell,
    step: str | None,
    blocker: tuple[str, str] | None = None,
) -> NotebookError:
    """A step reads ``name``, last set by ``src`` in a way the flow cannot reproduce."""
    if kind == "code":
        return cell.error(
            f"reads {name!r}, which was last set by cell {src.index} "
            f"({src.first_line.strip()[:50]!r}), a cell that is not a step",
            line=line,
            hint=f"tag cell {src.index} with %%step NAME, or move that code into this step",
        )
    if kind == "stepdef":
        value, what = blocker or ("", "step")
        uses = f" and uses {value!r} ({_WHAT.get(what, 'a value of step')}" if value else ""
        if uses:
            uses += f" {step!r})" if what in ("step", "") else ")"
        return cell.error(
            f"reads {name!r}, a function or class defined inside step {step!r} "
            f"(cell {src.index}){uses}, so the flow cannot move it to module level",
            line=line,
            hint=(
                f"pass {value!r} to {name!r} as an argument; then it moves to module level"
                if value
                else f"move the definition of {name!r} to an untagged cell above"
            ),
        )
    if kind == "hidden":
        return cell.error(
            f"reads {name!r}, which step {step!r} (cell {src.index}) sets but does "
            "not list in its --outputs",
            line=line,
            hint=f"add {name!r} to --outputs of step {step!r}",
        )
    return cell.error(
        f"reads {name!r}, which step {step!r} (cell {src.index}) deleted with del",
        line=line,
        hint=f"remove the del, or stop reading {name!r} here",
    )


# What a step most likely meant, by the kind of the name's writer: a value first
_RANK = {"step": 0, "param": 0, "def": 1, "lazydef": 1, "stepdef": 1, "code": 2, "hidden": 2}
_BUILTINS = [n for n in dir(builtins) if not n.startswith("_")]


def _distance(a: str, b: str) -> int:
    """Edits from ``a`` to ``b``, a swap of two neighbours counting as one (``modle``)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            best = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, prev2[j - 2] + 1)
            row.append(best)
        prev2, prev = prev, row
    return prev[-1]


def closest(name: str, known: Mapping[str, str]) -> str | None:
    """The name a typo most likely meant: fewest edits (a swap is one), then a value a
    step can read before a function or an import, then the same length, then difflib's
    likeness. (difflib alone took ``modle`` for ``mode``, not for ``model``.)"""
    limit = max(1, len(name) // 3)
    ranked = []
    for other, kind in [*known.items(), *((b, "builtin") for b in _BUILTINS)]:
        if other == name or kind not in (*_RANK, "builtin"):
            continue  # a deleted name is no suggestion
        edits = 0 if other.lower() == name.lower() else _distance(name, other)
        if edits > limit:
            continue
        like = difflib.SequenceMatcher(None, name, other).ratio()
        ranked.append((edits, _RANK.get(kind, 3), abs(len(other) - len(name)), -like, other))
    return min(ranked)[-1] if ranked else None


def undefined(
    cell: Cell, name: str, line: int, below: list[int], known: Mapping[str, str]
) -> NotebookError:
    """A step reads a name no cell above sets; ``below``: cells further down that set it;
    ``known``: the names set above, with the kind of their writer."""
    if NOTEBOOK_ONLY.match(name):
        return cell.error(
            f"{name!r} exists only in a notebook kernel",
            line=line,
            hint="use a variable name instead of IPython's history and helpers",
        )
    if below:
        hint = f"it is set further down, in cell {below[0]}: move that cell above this one"
    else:
        close = closest(name, known)
        hint = f"did you mean {close!r}?" if close else "define it in a cell above"
    return cell.error(f"reads {name!r}, which no cell above defines", line=line, hint=hint)


def unreplayable_seed(cell: Cell, line: int, target: str, code: str) -> NotebookError:
    """An untagged cell seeds a global generator with something a task cannot recompute."""
    return cell.error(
        f"this cell seeds a global random generator ({target}) with a value "
        f"the flow cannot replay: {code.strip().splitlines()[0][:60]!r}",
        line=line,
        hint="seed with a literal or a constant of an untagged cell "
        "(SEED = 42), or seed inside the step that draws",
    )


def observed_not_declared(cell: Cell, step: str, name: str) -> NotebookError:
    """The kernel saw the step change ``name`` in place; its ``--outputs`` omit it."""
    return cell.error(
        f"step {step!r} changed {name!r} in place when it ran in the kernel, which its code "
        "does not show (a function call?); its --outputs do not list it",
        line=1,
        hint=f"add {name} to --outputs, or remove --outputs and let export find the outputs",
    )


def settings_in_step(parsed: StepCell, aliases: dict[str, str]) -> list[NotebookError]:
    """Process-wide settings a step changes (``os.environ[...]``, ``pd.set_option``): in the
    kernel the steps after it see them, in the flow they do not (each task starts from the
    prelude, and a reused worker would leak them to whichever task it runs next)."""
    found = []
    for stmt in parsed.tree.body:
        target = config_target(stmt, aliases)
        if target is None:
            continue
        code = ast.get_source_segment(parsed.body, stmt) or ast.unparse(stmt)
        found.append(
            parsed.cell.error(
                f"step {parsed.options.name!r} changes a process-wide setting ({target}): "
                f"{code.strip().splitlines()[0][:60]!r}; in the kernel the steps after it "
                "see it, in the flow they do not (each task starts from the prelude)",
                line=stmt.lineno + parsed.body_line - 1,
                hint="move the statement to an untagged cell above the steps: export "
                "replays it before every task",
            )
        )
    return found


def setting_between_steps(cell: Cell, line: int, code: str, above: StepCell) -> NotebookError:
    """A setting of an untagged cell below a step: the prelude runs before every task, so
    the step above would see it in the flow but did not in the kernel."""
    return cell.error(
        f"this cell changes a process-wide setting after step {above.options.name!r} "
        f"(cell {above.cell.index}) ran: {code.strip().splitlines()[0][:60]!r}; the flow "
        "replays it before every task, so that step would see it too",
        line=line,
        hint="move it to an untagged cell above the first step, or into the step that needs it",
    )


def star_imports(
    cell: Cell, tree: ast.Module, body_line: int, problems: list[NotebookError]
) -> None:
    """A star import hides which names the cell uses: dataflow cannot follow it."""
    for node in tree.body:  # Python allows ``import *`` only at module level
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            problems.append(
                cell.error(
                    f"'from {node.module} import *' hides which names the cell uses",
                    line=node.lineno + body_line - 1,
                    hint=f"import the names you use: from {node.module} import a, b",
                )
            )


def module_name_clashes(
    steps: Sequence[GraphStep], taken: Mapping[str, Definition], *, prelude: bool
) -> list[NotebookError]:
    """A step's name and a module-level name (a definition, or what the module binds itself)
    would be one name in the exported module."""
    problems: list[NotebookError] = []
    reserved = RESERVED if prelude else RESERVED - {"prelude"}
    for step in steps:
        if step.name in taken or step.name in reserved:
            problems.append(
                step.cell.error(
                    f"step name {step.name!r} is also a module-level name"
                    + (f" (cell {taken[step.name].cell.index})" if step.name in taken else ""),
                    line=1,
                    hint="rename the step",
                )
            )
    if prelude and "prelude" in taken:
        clash = taken["prelude"]
        problems.append(
            clash.cell.error(
                "'prelude' is the name of the function the flow runs before every task",
                line=clash.line,
                hint="rename your 'prelude'",
            )
        )
    return problems
