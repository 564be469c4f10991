"""State set outside steps that every task must start from: seeds and configuration.

In the kernel, ``np.random.seed(0)`` or ``pd.set_option(...)`` in an untagged cell changes
what every later step computes. A flow task starts in a fresh (or reused) process, so these
statements are replayed at the start of every task (``@flow.prelude``). Only statements that
are safe to replay qualify: a call or an assignment on an imported module's attribute chain,
with literal arguments, from a fixed table of known configuration and seeding functions.
Anything else in an untagged cell stays exploration.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

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


def module_aliases(tree: ast.Module) -> dict[str, str]:
    """Names bound by the cell's imports -> the dotted module (or object) they stand for."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    found[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
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


def _args_literal(call: ast.Call) -> bool:
    return all(_literal(a) for a in call.args) and all(_literal(k.value) for k in call.keywords)


def classify_statement(stmt: ast.stmt, aliases: dict[str, str]) -> PreludeStatement | None:
    """The statement as a prelude entry (source and line filled by the caller), or None."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        target = dotted(call.func, aliases)
        if target is None or not _args_literal(call):
            return None
        if target in SEEDS:
            return PreludeStatement("", stmt.lineno, "seed", SEEDS[target])
        if target in CONFIG_CALLS:
            return PreludeStatement("", stmt.lineno, "config")
        return None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and _literal(stmt.value):
        target_node = stmt.targets[0]
        if isinstance(target_node, ast.Subscript):
            if not _literal(target_node.slice):
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
    tree: ast.Module, code: str, aliases: dict[str, str] | None = None
) -> list[tuple[int, PreludeStatement]]:
    """``(statement index, entry)`` for each top-level statement of an untagged cell that is
    replayable state. ``aliases``: imports seen so far in the notebook (the cell's own are
    added)."""
    known = {**STANDARD_ALIASES, **(aliases or {}), **module_aliases(tree)}
    found: list[tuple[int, PreludeStatement]] = []
    for i, stmt in enumerate(tree.body):
        entry = classify_statement(stmt, known)
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
