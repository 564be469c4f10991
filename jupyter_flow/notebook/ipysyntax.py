"""Notebook-only lines (``%magic``, ``!cmd``) in cell code, and what each becomes in a module.

IPython's own input transformer finds them (it knows strings from commands), so a ``%`` in
a multi-line SQL string is never mistaken for a magic. In a step: display and session
magics are dropped with a comment, ``%time STMT`` keeps ``STMT``, ``%pip install`` /
``!pip install`` become the step's packages, anything else is a located error.
"""

from __future__ import annotations

import ast
import re
import shlex
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.inputtransformer2 import TransformerManager

    from .cells import Cell

# Line magics that only change how the notebook displays or behaves interactively.
DROPPED_MAGICS = frozenset(
    {
        "matplotlib", "config", "load_ext", "reload_ext", "unload_ext", "autoreload",
        "aimport", "precision", "pprint", "xmode", "pdb", "timeit", "who", "whos",
        "who_ls", "lsmagic", "history", "pinfo", "pinfo2", "magic", "notebook", "colors",
        "autocall", "automagic", "doctest_mode", "page", "pdef", "pdoc", "psource",
        "pfile", "alias_magic", "flow", "reset_selective",
    }
)  # fmt: skip
UNWRAPPED_MAGICS = frozenset({"time"})
_PIP_FLAGS_WITH_VALUE = frozenset(
    {"-i", "--index-url", "--extra-index-url", "-r", "--requirement", "-c", "--constraint",
     "-e", "--editable", "-f", "--find-links", "-t", "--target"}
)  # fmt: skip
_MAGIC_CALLS = frozenset({"run_line_magic", "system", "getoutput", "run_cell_magic"})


@cache
def _transformer() -> TransformerManager:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


Magic = tuple[int, str, str, str]  # (0-based line, kind, magic name, argument)
_SIMPLE_MAGIC = re.compile(r"^%([A-Za-z_]\w*)(?:\s+(.*))?$")
_SIMPLE_SHELL = re.compile(r"^!([^!].*)$")


def _fast_magics(source: str) -> tuple[str, list[Magic]] | None:
    """The common case without IPython's (slow, pure-Python) transformer: whole-line
    ``%magic args`` and ``!cmd``. None when anything is unusual: the slow path decides."""
    lines = source.split("\n")
    found: list[Magic] = []
    for i, line in enumerate(lines):
        text = line.strip()
        if not text or text[0] not in "%!":
            continue
        indent = line[: len(line) - len(line.lstrip())]
        magic, shell = _SIMPLE_MAGIC.match(text), _SIMPLE_SHELL.match(text)
        if text.endswith(("\\", "?")) or not (magic or shell):
            return None
        if magic:
            name, arg = magic.group(1), magic.group(2) or ""
            lines[i] = f"{indent}get_ipython().run_line_magic({name!r}, {arg!r})"
            found.append((i, "run_line_magic", name, arg))
        elif shell:
            lines[i] = f"{indent}get_ipython().system({shell.group(1)!r})"
            found.append((i, "system", "", shell.group(1)))
    code = "\n".join(lines)
    if '"""' in source or "'''" in source:  # a "magic" line inside a multi-line string?
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return None
        rows = {i + 1 for i, *_ in found}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
                end = node.end_lineno or node.lineno
                if any(node.lineno < r <= end for r in rows):
                    return None
    return code, found


def _slow_magics(code: str) -> list[Magic]:
    found: list[Magic] = []
    for node in ast.walk(ast.parse(code)):
        call = _magic_call(node) if isinstance(node, ast.stmt) else None
        if call is not None:
            found.append((node.lineno - 1, *call))  # type: ignore[attr-defined]
    return found


def parse_python(source: str) -> tuple[str, ast.Module]:
    """``(python, tree)`` for cell code with IPython syntax; raises ``SyntaxError``."""
    try:
        return source, ast.parse(source)
    except SyntaxError:
        pass
    fast = _fast_magics(source)
    if fast is not None:
        try:
            return fast[0], ast.parse(fast[0])
        except SyntaxError:
            pass
    code = _ipython_transform(source)
    return code, ast.parse(code)


def to_python(source: str) -> str:
    """IPython syntax -> Python, keeping line numbers (magics become ``get_ipython()`` calls).
    Code that is not valid either way comes back transformed, for Python to report."""
    try:
        return parse_python(source)[0]
    except SyntaxError:
        return _ipython_transform(source)


def _ipython_transform(source: str) -> str:
    lead = len(source) - len(source.lstrip("\n"))
    code: str = _transformer().transform_cell(source)
    if not code.startswith("\n" * lead):
        code = "\n" * lead + code
    return code


def _magic_call(node: ast.AST) -> tuple[str, str, str] | None:
    """``(kind, name, arg)`` for ``get_ipython().run_line_magic(name, arg)`` and friends."""
    value = node.value if isinstance(node, ast.Expr | ast.Assign) else None
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
        return None
    owner = value.func.value
    if not (isinstance(owner, ast.Call) and getattr(owner.func, "id", None) == "get_ipython"):
        return None
    kind = value.func.attr
    args = [a.value for a in value.args if isinstance(a, ast.Constant)]
    if kind not in _MAGIC_CALLS or not args or not all(isinstance(a, str) for a in args):
        return None
    if isinstance(node, ast.Assign):
        kind = "assign"
    if kind in ("run_line_magic", "run_cell_magic") and len(args) >= 2:
        return kind, str(args[0]), str(args[1])
    return kind, "", str(args[0])


def pip_requirements(command: str) -> list[str] | None:
    """Requirements of ``pip install ...`` (any spelling), None if it is not one."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    while (words and words[0] in ("python", "python3", "-m", "%pip")) or (
        words and words[0].endswith(("/python", "/python3"))
    ):
        words = words[1:]
    if len(words) < 2 or words[0] not in ("pip", "pip3") or words[1] != "install":
        return None
    reqs: list[str] = []
    for word in words[2:]:
        if word in _PIP_FLAGS_WITH_VALUE or word.split("=")[0] in _PIP_FLAGS_WITH_VALUE:
            return None  # index URLs, requirement files: not expressible as packages
        if not word.startswith("-"):
            reqs.append(word)
    return reqs


def clean_step_body(
    body: str, cell: Cell, body_line: int
) -> tuple[str, tuple[str, ...], ast.Module]:
    """Step code as plain Python, the packages its ``pip install`` lines asked for, its tree."""
    try:
        return body, (), ast.parse(body)
    except SyntaxError:
        pass
    fast = _fast_magics(body)
    if fast is not None:
        code, packages, tree = _clean(body, cell, body_line, fast[1])
        if tree is not None:
            return code, packages, tree
    try:
        magics = _slow_magics(_ipython_transform(body))
    except SyntaxError as err:
        line = (err.lineno or 1) + body_line - 1
        raise cell.error(f"syntax error: {err.msg}", line=line) from None
    code, packages, tree = _clean(body, cell, body_line, magics)
    if tree is None:
        raise cell.error("syntax error in the cell", line=body_line)
    return code, packages, tree


def _clean(
    body: str, cell: Cell, body_line: int, magics: list[Magic]
) -> tuple[str, tuple[str, ...], ast.Module | None]:
    lines = body.split("\n")
    packages: list[str] = []
    for index, kind, name, arg in sorted(magics):
        original = lines[index]
        indent = original[: len(original) - len(original.lstrip())]
        written = original.strip()
        reqs = pip_requirements(arg if kind == "system" else f"{name} {arg}")
        if kind in ("system", "run_line_magic") and reqs is not None:
            packages += reqs
            note = f"{written}  (notebook-only: these became the step's packages)"
        elif kind == "run_line_magic" and name in DROPPED_MAGICS:
            note = f"{written}  (notebook-only, dropped)"
        elif kind == "run_line_magic" and name in UNWRAPPED_MAGICS:
            lines[index] = indent + arg
            continue
        else:
            raise cell.error(
                f"{written!r} only works in a notebook and cannot be exported",
                line=index + body_line,
                hint="do it in Python (e.g. subprocess.run, os.chdir) or move it to an "
                "untagged cell; pip installs become the step's packages",
            )
        lines[index] = f"{indent}pass  # {note}" if indent else f"# {note}"
    code = "\n".join(lines)
    try:
        return code, tuple(packages), ast.parse(code)
    except SyntaxError:
        return code, tuple(packages), None
