"""Pre-flight of a cell sent elsewhere: what it needs from the kernel, and what cannot go.

Before anything is submitted, every name the cell reads is sorted into: data to ship (an
input artifact), an import to repeat in the task (modules, functions of installed
packages), a function defined in the notebook (its source travels), or a problem. Problems
are reported together, so one round trip fixes them all: a name nothing defines, an input
that cannot be pickled (which one, what type), a class defined in the notebook that the
task could not import, and, for remote executors, modules that are neither in the step's
packages nor in a chosen image. ``--packages auto`` pins the kernel's installed versions.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import inspect
import pickle
import re
import sys
import textwrap
import types
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from ..errors import FlowError

NOTEBOOK_ONLY = frozenset({"get_ipython", "In", "Out", "exit", "quit"})
IMPLICIT = {"display": ("from IPython.display import display", "IPython")}  # IPython builtins
BUILTINS = frozenset(dir(builtins)) - NOTEBOOK_ONLY - set(IMPLICIT)
ALWAYS_THERE = frozenset({"jupyter_flow", "__future__"})


class PreflightError(FlowError):
    """The cell cannot run elsewhere as it is; nothing was submitted."""


@dataclass
class Needs:
    """What the cell needs, sorted; ``problems`` empty means it can go."""

    inputs: dict[str, Any] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)  # name -> import statement
    functions: dict[str, str] = field(default_factory=dict)  # name -> source
    modules: set[str] = field(default_factory=set)  # top-level modules imported
    packages: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)

    def raise_problems(self, step: str) -> None:
        if self.problems:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            raise PreflightError(
                f"step {step!r} cannot run remotely; nothing was submitted:\n{lines}",
                hint="fix these in the kernel and run the cell again",
            )


def _import_of(name: str, value: Any) -> str | None:
    """An import statement that binds ``name`` to ``value`` in a fresh interpreter."""
    if isinstance(value, types.ModuleType):
        mod = value.__name__
        if "." in mod:
            parent, _, leaf = mod.rpartition(".")
            return f"from {parent} import {leaf}" + (f" as {name}" if leaf != name else "")
        return f"import {mod}" + (f" as {name}" if mod != name else "")
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "." in qualname:
        return None
    try:
        if getattr(importlib.import_module(module), qualname) is not value:
            return None
    except (ImportError, AttributeError):
        return None
    return f"from {module} import {qualname}" + (f" as {name}" if qualname != name else "")


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _add_function(needs: Needs, name: str, func: Any, ns: dict[str, Any]) -> None:
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        needs.problems.append(f"function {name!r}: its source is not available to send")
        return
    needs.functions[name] = source
    for used in sorted(_global_names(func.__code__)):
        if used in needs.functions or used in needs.imports or used not in ns:
            continue
        _classify(needs, used, ns[used], ns, via=name)


def _classify(needs: Needs, name: str, value: Any, ns: dict[str, Any], via: str = "") -> None:
    statement = _import_of(name, value)
    if statement is not None:
        needs.imports[name] = statement
        root = value.__name__ if isinstance(value, types.ModuleType) else value.__module__
        needs.modules.add(root.split(".")[0])
        return
    if isinstance(value, types.FunctionType) and value.__module__ == "__main__":
        _add_function(needs, name, value, ns)
        return
    if isinstance(value, type) and value.__module__ == "__main__":
        needs.problems.append(
            f"class {name!r} is defined in the notebook: the task cannot import it "
            "(move it to a .py module next to the notebook, or define it inside the cell)"
        )
        return
    if via:
        needs.problems.append(
            f"function {via!r} reads the kernel variable {name!r}: pass it as an argument"
        )
        return
    needs.inputs[name] = value


def check_serializable(needs: Needs) -> None:
    for name, value in needs.inputs.items():
        kind = type(value)
        where = f"{kind.__module__}.{kind.__qualname__}"
        needs.modules.add(kind.__module__.split(".")[0])  # loading it imports that module
        if kind.__module__ == "__main__":
            needs.problems.append(
                f"input {name!r} is a {kind.__qualname__}, a class defined in the notebook: "
                "the task cannot load it (move the class to a .py module)"
            )
            continue
        try:
            pickle.dumps(value, protocol=5, buffer_callback=lambda _: None)
        except Exception as err:
            needs.problems.append(f"input {name!r} of type {where} cannot be sent: {err}")


def cell_modules(code: str) -> set[str]:
    """Top-level modules the cell's own import statements name."""
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def _requirement_name(req: str) -> str:
    return re.split(r"[<>=!~\[;@ ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


@functools.cache
def _owners() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())  # scans every installed dist: ~1 s


def distributions(modules: set[str]) -> dict[str, str]:
    """Third-party distribution of each module (stdlib and ours excluded)."""
    owners = _owners()
    found = {}
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module in ALWAYS_THERE:
            continue
        dists = owners.get(module)
        found[module] = dists[0] if dists else module
    return found


def check_packages(needs: Needs, declared: tuple[str, ...], *, auto: bool) -> None:
    """Every third-party module must come from a declared (or, with ``auto``, pinned) package."""
    have = {_requirement_name(r) for r in declared}
    pinned = list(declared)
    missing = []
    for module, dist in distributions(needs.modules).items():
        if _requirement_name(dist) in have:
            continue
        if auto:
            try:
                pinned.append(f"{dist}=={metadata.version(dist)}")
            except metadata.PackageNotFoundError:
                needs.problems.append(f"module {module!r} is not from an installed distribution")
            continue
        missing.append(f"{module} (from {dist})")
    if missing:
        needs.problems.append(
            f"imports not in the step's packages or image: {', '.join(missing)} — add "
            "--packages auto (pins this kernel's versions), --packages 'name==version', "
            "or --image IMAGE"
        )
    needs.packages = tuple(pinned)


def resolve(
    reads: tuple[str, ...],
    maybe: tuple[str, ...],
    ns: dict[str, Any],
    *,
    local_names: frozenset[str] = frozenset(),
) -> Needs:
    """Sort what the cell reads; ``local_names`` are bound by the cell itself (the foreach
    item), so they are neither shipped nor missing."""
    needs = Needs()
    for name in dict.fromkeys([*reads, *maybe]):
        if name in local_names:
            continue
        if name in NOTEBOOK_ONLY:
            needs.problems.append(f"{name!r} exists only in a notebook kernel")
        elif name in IMPLICIT and name not in ns:
            needs.imports[name], module = IMPLICIT[name]
            needs.modules.add(module)
        elif name in ns:
            _classify(needs, name, ns[name], ns)
        elif name in BUILTINS:
            continue
        elif name in reads:
            needs.problems.append(f"name {name!r} is not defined in the kernel")
    return needs


def auto_pins(options: Any, cell: str, ns: dict[str, Any]) -> tuple[str, ...]:
    """``--packages auto`` as this kernel resolves it: the step's other packages plus a pin
    of the installed version of each third-party module the cell imports or whose objects
    it reads. Run when the cell runs in the kernel, so export can write the pins."""
    from ..notebook.cells import Cell
    from ..notebook.dataflow import analyze
    from ..notebook.ipysyntax import clean_step_body

    code, pip, _ = clean_step_body(cell, Cell(0, None, f"%%step {options.name}\n{cell}"), 2)
    flow = analyze(code)
    needs = resolve(tuple(flow.reads), tuple(flow.maybe_reads), ns)
    needs.modules |= cell_modules(code)
    for value in needs.inputs.values():
        needs.modules.add(type(value).__module__.split(".")[0])
    declared = tuple(p for p in (*options.packages, *pip) if p != "auto")
    check_packages(needs, declared, auto=True)
    return needs.packages
