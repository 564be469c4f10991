"""StepGraph -> flow module source: deterministic, compiles, laid out as ruff-format would.

The code we write (decorators, signatures, returns, the Flow line) is formatted here with
ruff's rules: split a line longer than 88 characters at its outermost bracket, one item
per line with a trailing comma (a "magic" comma, so ruff keeps the split at any line
length). Cell code is moved as written, comments included, only re-indented.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from typing import Any

from ..flow.secret_params import Secret
from .cells import imports_flow_api
from .definitions import Definition
from .stepgraph import GraphStep, StepGraph

WIDTH = 88
INDENT = "    "


@dataclass(frozen=True)
class Group:
    """A bracketed list of items, e.g. a call's arguments: flat if it fits, else one per line."""

    prefix: str
    items: tuple[Node, ...]
    open: str = "("
    close: str = ")"
    single: bool = False  # a one-element tuple keeps its comma when flat


Node = str | Group


def flat(node: Node) -> str:
    if isinstance(node, str):
        return node
    inner = ", ".join(flat(i) for i in node.items)
    comma = "," if node.single else ""
    return f"{node.prefix}{node.open}{inner}{comma}{node.close}"


def render(node: Node, indent: str = "", lead: str = "", trail: str = "") -> list[str]:
    """Lines for ``lead + node + trail`` at ``indent``, split like ruff when too long."""
    line = f"{indent}{lead}{flat(node)}{trail}"
    if isinstance(node, str) or len(line) <= WIDTH or not node.items:
        return [line]
    lines = [f"{indent}{lead}{node.prefix}{node.open}"]
    for item in node.items:
        lines += render(item, indent + INDENT, "", ",")
    lines.append(f"{indent}{node.close}{trail}")
    return lines


def quote(text: str) -> str:
    """A string literal the way ruff writes it: double quotes unless that needs escapes."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


def literal(value: Any, prefix: str = "") -> Node:
    """Source of a parameter default (a literal_eval result)."""
    if isinstance(value, str):
        return prefix + quote(value)
    if isinstance(value, bytes):
        text = repr(value)
        if text.startswith("b'") and '"' not in text:
            text = 'b"' + text[2:-1].replace("\\'", "'") + '"'
        return prefix + text
    if isinstance(value, list):
        return Group(prefix, tuple(literal(v) for v in value), "[", "]")
    if isinstance(value, tuple):
        return Group(prefix, tuple(literal(v) for v in value), single=len(value) == 1)
    if isinstance(value, set | frozenset):
        members = sorted((literal(v) for v in value), key=flat)
        return Group(prefix, tuple(members), "{", "}") if members else prefix + "set()"
    if isinstance(value, dict):
        pairs = tuple(literal(v, flat(literal(k)) + ": ") for k, v in value.items())
        return Group(prefix, pairs, "{", "}")
    if isinstance(value, Secret):
        return prefix + f"Secret({quote(value.env)})"
    return prefix + repr(value)


def _number_or_str(text: str) -> str:
    for convert in (int, float):
        try:
            convert(text)
        except ValueError:
            continue
        return text
    return quote(text)


def decorator(step: GraphStep) -> Group:
    """``@flow.step(...)`` with only the non-default options, in the signature's order."""
    opts = step.options
    args: list[Node] = []
    if opts.cpu is not None:
        args.append(f"cpu={_number_or_str(opts.cpu)}")
    if opts.memory is not None:
        args.append(f"memory={_number_or_str(opts.memory)}")
    if opts.gpu:
        args.append(f"gpu={opts.gpu}")
    if opts.retries:
        args.append(f"retries={opts.retries}")
    if opts.timeout is not None:
        args.append(f"timeout={_number_or_str(opts.timeout)}")
    if opts.catch:
        args.append("catch=True")
    if opts.image:
        args.append(f"image={quote(opts.image)}")
    if step.packages:
        args.append(literal(list(step.packages), "packages="))
    if opts.foreach is not None:
        args.append(f"foreach={quote(str(opts.foreach))}")
    if step.outputs:
        args.append(literal(step.outputs, "outputs="))
    if step.after:
        args.append(literal(step.after, "after="))
    return Group("flow.step", tuple(args))


def _swap_quotes(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> None:
    """Turn one single-quoted literal spanning ``start``..``end`` into a double-quoted one."""
    (r1, c1), (r2, c2) = start, end
    text = "\n".join(lines[r1 - 1 : r2])
    literal = text[c1 : len(text) - len(lines[r2 - 1]) + c2]
    prefix = literal[: len(literal) - len(literal.lstrip("rRbBfFuU"))]
    quotes = 3 if literal[len(prefix) :].startswith("'''") else 1
    body = literal[len(prefix) + quotes : -quotes]
    if not literal[len(prefix) :].startswith("'") or '"' in body or "\\'" in body:
        return
    if quotes == 3 and body.endswith('"'):
        return
    q = '"' * quotes
    first, last = lines[r1 - 1], lines[r2 - 1]
    at = c1 + len(prefix)
    lines[r1 - 1] = first[:at] + q + first[at + quotes :]
    last = lines[r2 - 1]
    lines[r2 - 1] = last[: c2 - quotes] + q + last[c2:]


Span = tuple[tuple[int, int], tuple[int, int]]


def _string_spans(code: str) -> list[Span]:
    """Where each string literal starts and ends (an f-string counts as one literal)."""
    if "'" not in code and '"' not in code:
        return []
    spans: list[Span] = []
    starts: list[tuple[int, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            name = tokenize.tok_name[tok.type]
            if name == "FSTRING_START":
                starts.append(tok.start)
            elif name == "FSTRING_END" and starts:
                start = starts.pop()
                if not starts:
                    spans.append((start, tok.end))
            elif tok.type == tokenize.STRING and not starts:
                spans.append((tok.start, tok.end))
    except (tokenize.TokenError, SyntaxError):
        return []
    return spans


def normalize_quotes(code: str, spans: list[Span] | None = None) -> str:
    """Single-quoted strings -> double-quoted, as ruff-format does (when no escape changes).
    Quotes swap one for one, so ``spans`` stay valid for the result."""
    if "'" not in code:
        return code
    lines = code.split("\n")
    for start, end in _string_spans(code) if spans is None else spans:
        _swap_quotes(lines, start, end)
    return "\n".join(lines)


def indent_body(code: str) -> list[str]:
    """Cell code as a function body: re-indented, trailing spaces and edge blanks removed."""
    spans = _string_spans(code)
    code = normalize_quotes(code, spans)
    # rows continuing a multi-line string: re-indenting them would change the string
    inside = {row for (r1, _), (r2, _) in spans for row in range(r1 + 1, r2 + 1)}
    out: list[str] = []
    for row, line in enumerate(code.split("\n"), start=1):
        if row in inside:
            out.append(line)
        elif line.strip():
            out.append(INDENT + line.rstrip())
        elif out:
            out.append("")
    while out and not out[-1].strip():
        out.pop()
    collapsed: list[str] = []
    for line in out:  # ruff keeps at most one blank line in a row inside a function
        if not line and collapsed and not collapsed[-1]:
            continue
        collapsed.append(line)
    return collapsed


def _name_only(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return _name_only(node.value)
    return isinstance(node, ast.Tuple) and all(_name_only(e) for e in node.elts)


def module_body(step: GraphStep) -> str:
    """The cell code as the step function runs it: definitions moved to module level are
    removed, and a last line the notebook showed as Out[] becomes ``display(...)``."""
    lines = step.body.split("\n")
    body = step.tree.body
    edits: list[tuple[int, int, list[str]]] = []  # (first row, last row, replacement), 1-based
    for index in step.hoisted:
        stmt = body[index]
        start = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
        edits.append((start, stmt.end_lineno or stmt.lineno, []))
    last = body[-1] if body else None
    if step.show_last and isinstance(last, ast.Expr) and len(body) - 1 not in step.hoisted:
        first, end = last.lineno, last.end_lineno or last.lineno
        expr = ast.get_source_segment(step.body, last) or ast.unparse(last)
        tail = lines[end - 1][last.end_col_offset or 0 :]
        shown = f"display({expr}){tail}".split("\n")
        edits.append((first, end, shown))
    elif isinstance(last, ast.Expr) and not last.col_offset and _name_only(last.value):
        edits.append((last.lineno, last.end_lineno or last.lineno, []))  # shows nothing
    for first, end, new in sorted(edits, reverse=True):
        lines[first - 1 : end] = new
    return "\n".join(lines)


def step_source(step: GraphStep) -> list[str]:
    cell = step.cell
    where = f"# cell {cell.index}" + (f" (id: {cell.cell_id})" if cell.cell_id else "")
    lines = [where, *render(decorator(step), lead="@")]
    lines += render(Group(f"def {step.name}", step.inputs), trail=":")
    body = indent_body(module_body(step))
    if not any(ln.strip() and not ln.strip().startswith("#") for ln in body) and not step.outputs:
        body.append(INDENT + "pass")
    lines += body
    if step.outputs:
        if len(step.outputs) == 1:
            lines.append(f"{INDENT}return {step.outputs[0]}")
        else:
            flat_ret = f"{INDENT}return {', '.join(step.outputs)}"
            lines += (
                [flat_ret]
                if len(flat_ret) <= WIDTH
                else render(Group("", step.outputs), INDENT, "return ")
            )
    return lines


def _own_import(source: str) -> bool:
    """``from jupyter_flow import secret`` in the notebook: the module imports what it
    uses from jupyter_flow itself (``secret()`` calls become ``Secret`` defaults)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return len(tree.body) == 1 and imports_flow_api(tree.body[0])


def _definitions(defs: tuple[Definition, ...], secrets: bool) -> list[list[str]]:
    """Blocks of module-level code; imports first (ruff/isort expect them at the top)."""
    imports = [
        normalize_quotes(d.source) for d in defs if d.kind == "import" and not _own_import(d.source)
    ]
    blocks = [imports] if imports else []
    blocks.append([f"from jupyter_flow import Flow{', Secret' if secrets else ''}"])
    consts: list[str] = []
    for d in defs:
        if d.kind == "const":
            consts.append(normalize_quotes(d.source))
        elif d.kind in ("def", "class"):
            if consts:
                blocks.append(consts)
                consts = []
            blocks.append([normalize_quotes(d.source), ""])  # a def is set off by two blank lines
    if consts:
        blocks.append(consts)
    return blocks


def prelude_source(graph: StepGraph) -> list[str]:
    """``@flow.prelude``: the seeds and options of untagged cells, replayed before every task."""
    cells = list(dict.fromkeys(e.cell.index for e in graph.prelude))
    where = ", ".join(str(c) for c in cells)
    doc = (
        f'{INDENT}"""State the notebook sets outside its steps '
        f'(cell{"s" if len(cells) > 1 else ""} {where}); every task starts from it."""'
    )
    lines = ["@flow.prelude", "def prelude():", doc]
    for entry in graph.prelude:
        lines += indent_body(entry.statement.source)
    return lines


def generate(graph: StepGraph, module_name: str) -> str:
    """The module source for ``graph``; same graph, same bytes."""
    out = [
        f'"""Flow exported from {graph.notebook_name} by jupyter_flow.',
        "",
        "Edit the notebook and export it again rather than editing this file.",
        f"Run it with: python {module_name} run",
        '"""',
        "",
    ]
    previous_def = False
    secrets = any(isinstance(v, Secret) for _, v in graph.parameters)
    for block in _definitions(graph.definitions, secrets):
        is_def = block[-1] == ""
        if is_def or previous_def:
            out.append("")
        out += [b for b in block if b] if is_def else block
        out.append("")
        previous_def = is_def
    params = Group("", tuple(literal(v, f"{quote(k)}: ") for k, v in graph.parameters), "{", "}")
    args: list[Node] = [quote(graph.flow_name)]
    if graph.parameters:
        args.append(Group("parameters=", params.items, "{", "}"))
    out += ["", *render(Group("Flow", tuple(args)), lead="flow = ")]
    if graph.prelude:
        out += ["", "", *prelude_source(graph)]
    for step in graph.steps:
        out += ["", "", *step_source(step)]
    out += ["", "", 'if __name__ == "__main__":', f"{INDENT}flow.main()", ""]
    return "\n".join(out)
