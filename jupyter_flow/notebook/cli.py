"""``jupyter flow export NOTEBOOK [-o PATH] [--check]``: thin over ``notebook.api``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "export",
        help="export a notebook's %%%%step cells to a flow module",
        description=(
            "Turn the %%step cells of a notebook into a flow module "
            "(default: <notebook stem>_flow.py beside the notebook). Nothing is written "
            "if the notebook has a problem; the problem names the cell and what to do."
        ),
    )
    parser.add_argument("notebook", metavar="NOTEBOOK", help="path of the .ipynb file")
    parser.add_argument("-o", "--output", metavar="PATH", help="where to write the module")
    parser.add_argument(
        "--check", action="store_true", help="validate and print the step table; write nothing"
    )
    parser.add_argument("--name", help="flow name (default: CamelCase of the notebook + Flow)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite the module even if export did not write it or it was edited since",
    )
    parser.set_defaults(func=run_export)
    return parser


def format_table(steps: Sequence[dict[str, Any]]) -> str:
    """The step table printed after an export: one row per step, in flow order."""
    from ..flow.resources import format_memory

    header = ("step", "cell", "inputs", "outputs", "resources")
    rows = [header]
    for s in steps:
        res = s["resources"]
        parts = [f"cpu={res['cpu']:g}", f"memory={format_memory(res['memory_mb'])}"]
        if res["gpu"]:
            parts.append(f"gpu={res['gpu']}")
        if s["foreach"]:
            parts.append(f"foreach {s['foreach']}")
        rows.append(
            (
                s["name"],
                str(s["cell_index"]),
                ", ".join(s["inputs"]) or "-",
                ", ".join(s["outputs"]) or "-",
                " ".join(parts),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def run_export(args: argparse.Namespace) -> int:
    from .api import export_notebook

    result = export_notebook(
        args.notebook, args.output, check=args.check, flow_name=args.name, force=args.force
    )
    print(format_table(result.steps))
    for note in result.notes:  # what export could not check: stderr, beside the verdict
        print(f"note: {note}", file=sys.stderr)
    if args.check:
        print(
            f"ok: {result.flow_name} would be written to {result.module_path} "
            "(--check: not written)"
        )
    else:
        print(f"wrote {result.module_path} ({result.flow_name}, {len(result.steps)} steps)")
    return 0
