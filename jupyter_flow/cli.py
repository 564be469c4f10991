"""``jupyter flow VERB ...`` / ``jupyter-flow`` / ``python my_flow.py VERB``: thin over the API.

Verbs that belong to other parts of the package (export, schedule, ...) live in their own
``cli`` modules listed in ``COMMAND_MODULES``; each has ``add_parser(subparsers)`` and sets
``func`` on its parser. Errors a user can cause print as one located message, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import FlowError

if TYPE_CHECKING:
    from .flow.spec import Flow

# Other packages' verbs: module with add_parser(subparsers). Order is the order in --help.
COMMAND_MODULES = (
    "jupyter_flow.notebook.cli",
    "jupyter_flow.runtime.cli_package",
    "jupyter_flow.schedule.cli",
)

PROG = "jupyter flow"


def build_parser(bound: Flow | None = None) -> argparse.ArgumentParser:
    from .runtime import cli_engine

    prog = f"python {sys.argv[0]}" if bound is not None else PROG
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Run, inspect and schedule jupyter_flow flows."
            if bound is None
            else f"Run and inspect the flow {bound.name!r}."
        ),
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    cli_engine.add_parsers(sub, bound=bound)
    if bound is None:
        for name in COMMAND_MODULES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as err:
                if not (err.name and name.startswith(err.name)):
                    raise  # the module exists but something it imports is missing
                continue
            module.add_parser(sub)
    return parser


def _version() -> str:
    from . import __version__

    return f"jupyter_flow {__version__}"


def _dispatch(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, bound: Flow | None
) -> int:
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if bound is not None:
        args.flow_object = bound
    try:
        return int(args.func(args) or 0)
    except FlowError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # ``show | head``: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``jupyter-flow`` (and so of ``jupyter flow``)."""
    sys.exit(_dispatch(build_parser(), argv, None))


def flow_main(flow: Flow, argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python my_flow.py VERB``: the flow object is already known."""
    sys.exit(_dispatch(build_parser(flow), argv, flow))
