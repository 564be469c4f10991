"""State set outside steps that every task must start from: seeds and configuration.

In the kernel, ``np.random.seed(0)`` or ``pd.set_option(...)`` in an untagged cell changes
what every later step computes. A flow task starts in a fresh (or reused) process, so these
statements are replayed at the start of every task (``@flow.prelude``). Only statements that
are safe to replay qualify: a call or an assignment on an imported module's attribute chain,
from a fixed table of known configuration and seeding functions, whose arguments are
*replayable*: literals, module-level constants (``SEED = 42`` ... ``np.random.seed(SEED)``),
builtins (``category=FutureWarning``), attributes of imported modules (``level=logging.INFO``)
and lambdas over those. Anything else in an untagged cell stays exploration, except a seeding
call that cannot be replayed: the graph refuses it (``seed_target``), never drops it.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Literal

from .cells import Cell

PreludeKind = Literal["seed", "config"]

# Seeding calls -> the global generator they set. Keys are the dotted call target with the
# root resolved to the imported module's real name (``np.random.seed`` -> ``numpy.random.seed``).
SEEDS: dict[str, str] = {
    "random.seed": "random",
    "numpy.random.seed": "numpy",
    "torch.manual_seed": "torch",
    "torch.cuda.manual_seed": "torch",
    "torch.cuda.manual_seed_all": "torch",
    "tensorflow.random.set_seed": "tensorflow",
    "tensorflow.keras.utils.set_random_seed": "tensorflow",
    "keras.utils.set_random_seed": "tensorflow",
}

# Configuration calls safe to replay (dotted, root resolved).
CONFIG_CALLS = frozenset(
    {
        "pandas.set_option",
        "pandas.reset_option",
        "pandas.options.mode.copy_on_write",
        "numpy.set_printoptions",
        "numpy.seterr",
        "warnings.filterwarnings",
        "warnings.simplefilter",
        "warnings.resetwarnings",
        "matplotlib.use",
        "matplotlib.style.use",
        "matplotlib.pyplot.style.use",
        "matplotlib.rcParams.update",
        "matplotlib.pyplot.rcParams.update",
        "matplotlib.rc",
        "matplotlib.pyplot.rc",
        "seaborn.set",
        "seaborn.set_theme",
        "seaborn.set_style",
        "seaborn.set_context",
        "seaborn.set_palette",
        "sklearn.set_config",
        "logging.basicConfig",
        "os.environ.update",
        "os.environ.setdefault",
        "os.putenv",
        "sys.path.insert",
        "sys.path.append",
        "torch.set_num_threads",
        "torch.set_default_dtype",
        "torch.use_deterministic_algorithms",
        "torch.set_float32_matmul_precision",
        "tensorflow.config.threading.set_intra_op_parallelism_threads",
        "tensorflow.config.threading.set_inter_op_parallelism_threads",
    }
)

# Assignment targets safe to replay: ``os.environ["X"] = "1"``, ``pd.options.display.x = 5``,
# ``plt.rcParams["figure.figsize"] = (8, 4)``. Dotted prefixes, root resolved.
CONFIG_TARGETS = (
    "os.environ",
    "pandas.options",
    "matplotlib.rcParams",
    "matplotlib.pyplot.rcParams",
)


@dataclass(frozen=True)
class PreludeStatement:
    """One replayable statement of an untagged cell."""

    source: str  # the statement as written
    line: int  # 1-based line in its cell's code
    kind: PreludeKind
    generator: str | None = None  # for a seed: "random" | "numpy" | "torch" | "tensorflow"


@dataclass(frozen=True)
class PreludeEntry:
    """A prelude statement and the cell it comes from (for provenance and located errors)."""

    cell: Cell
    statement: PreludeStatement


def _imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements of a block and its nested blocks (``try: import torch``), without
    walking expressions (this runs for every cell of a notebook)."""
    for stmt in body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            yield stmt
        elif not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(stmt, field, None)
                if isinstance(block, list):
                    yield from _imports(block)
            for sub in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
                yield from _imports(sub.body)


def module_aliases(tree: ast.Module) -> dict[str, str]:
    """Names bound by the cell's imports -> the dotted module (or object) they stand for."""
    found: dict[str, str] = {}
    for node in _imports(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    found[root] = root
        elif node.module and not node.level:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


STANDARD_ALIASES = {
    "np": "numpy",
    "pd": "pandas",
    "plt": "matplotlib.pyplot",
    "mpl": "matplotlib",
    "sns": "seaborn",
    "tf": "tensorflow",
}


def dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """``np.random.seed`` -> ``numpy.random.seed`` when ``np`` is a known import."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    root = aliases.get(node.id)
    if root is None:
        return None
    return ".".join([root, *reversed(parts)])


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


_BUILTINS = frozenset(dir(builtins))


def _replayable(node: ast.expr, aliases: dict[str, str], constants: Container[str]) -> bool:
    """Whether the value means the same at the start of a task as it did in the kernel."""
    if _literal(node):
        return True
    if isinstance(node, ast.Name):
        return node.id in constants or node.id in aliases or node.id in _BUILTINS
    if isinstance(node, ast.Attribute):
        return dotted(node, aliases) is not None or _replayable(node.value, aliases, constants)
    if isinstance(node, ast.Lambda):  # its body runs later, with module-level names only
        params = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        names = {n.id for n in ast.walk(node.body) if isinstance(n, ast.Name)} - params
        return all(n in constants or n in aliases or n in _BUILTINS for n in names)
    parts: list[ast.expr]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        parts = list(node.elts)
    elif isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            return False
        parts = [*(k for k in node.keys if k is not None), *node.values]
    elif isinstance(node, ast.UnaryOp):
        parts = [node.operand]
    elif isinstance(node, ast.BinOp):
        parts = [node.left, node.right]
    else:
        return False
    return all(_replayable(p, aliases, constants) for p in parts)


def _args_replayable(call: ast.Call, aliases: dict[str, str], constants: Container[str]) -> bool:
    values = [*call.args, *(k.value for k in call.keywords)]
    return all(_replayable(v, aliases, constants) for v in values)


def classify_statement(
    stmt: ast.stmt, aliases: dict[str, str], constants: Container[str] = ()
) -> PreludeStatement | None:
    """The statement as a prelude entry (source and line filled by the caller), or None.
    ``constants``: module-level constant names the arguments may use."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        target = dotted(call.func, aliases)
        if target is None or not _args_replayable(call, aliases, constants):
            return None
        if target in SEEDS:
            return PreludeStatement("", stmt.lineno, "seed", SEEDS[target])
        if target in CONFIG_CALLS:
            return PreludeStatement("", stmt.lineno, "config")
        return None
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and _replayable(stmt.value, aliases, constants)
    ):
        target_node = stmt.targets[0]
        if isinstance(target_node, ast.Subscript):
            if not _replayable(target_node.slice, aliases, constants):
                return None
            base = dotted(target_node.value, aliases)
        elif isinstance(target_node, ast.Attribute):
            base = dotted(target_node, aliases)
        else:
            return None
        if base is not None and any(base == p or base.startswith(p + ".") for p in CONFIG_TARGETS):
            return PreludeStatement("", stmt.lineno, "config")
    return None


def prelude_statements(
    tree: ast.Module,
    code: str,
    aliases: dict[str, str] | None = None,
    constants: Container[str] = (),
) -> list[tuple[int, PreludeStatement]]:
    """``(statement index, entry)`` for each top-level statement of an untagged cell that is
    replayable state. ``aliases``: imports seen so far in the notebook (the cell's own are
    added); ``constants``: module-level constants defined so far (in a kernel, the user
    namespace will do: there the statement runs as written)."""
    known = {**STANDARD_ALIASES, **(aliases or {}), **module_aliases(tree)}
    found: list[tuple[int, PreludeStatement]] = []
    for i, stmt in enumerate(tree.body):
        entry = classify_statement(stmt, known, constants)
        if entry is None:
            continue
        source = ast.get_source_segment(code, stmt) or ast.unparse(stmt)
        found.append((i, PreludeStatement(source, entry.line, entry.kind, entry.generator)))
    return found


def seeded_generators(tree: ast.Module, aliases: dict[str, str] | None = None) -> set[str]:
    """Global generators the code seeds anywhere (a step that seeds itself does not depend
    on the state it started from)."""
    known = {**STANDARD_ALIASES, **(aliases or {}), **module_aliases(tree)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            target = dotted(node.func, known)
            if target in SEEDS:
                found.add(SEEDS[target])
    return found


def seed_target(stmt: ast.stmt, aliases: dict[str, str]) -> str | None:
    """The dotted seeding call (``numpy.random.seed``) a statement makes when it runs, if any;
    bodies of ``def``/``class``/``lambda`` run later and do not count."""
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            target = dotted(node.func, {**STANDARD_ALIASES, **aliases})
            if target in SEEDS:
                return target
        todo.extend(ast.iter_child_nodes(node))
    return None


def config_target(stmt: ast.stmt, aliases: dict[str, str]) -> str | None:
    """The process-wide setting a top-level statement changes (``os.environ``,
    ``pandas.set_option``...), whatever its arguments; None for anything else."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        target = dotted(stmt.value.func, aliases)
        return target if target in CONFIG_CALLS else None
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AugAssign | ast.AnnAssign):
        targets = [stmt.target]
    for node in targets:
        base = dotted(node.value if isinstance(node, ast.Subscript) else node, aliases)
        if base is not None and any(base == p or base.startswith(p + ".") for p in CONFIG_TARGETS):
            return base
    return None
