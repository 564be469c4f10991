"""``jupyter flow VERB ...`` / ``jupyter-flow`` / ``python my_flow.py VERB``: thin over the API.

Verbs that belong to other parts of the package (export, schedule, ...) live in their own
``cli`` modules listed in ``COMMAND_MODULES``; each has ``add_parser(subparsers)`` and sets
``func`` on its parser. Errors a user can cause print as one located message, no traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from .errors import FlowError

if TYPE_CHECKING:
    import argparse

    from .flow.spec import Flow

# Other packages' verbs: module with add_parser(subparsers). Order is the order in --help.
COMMAND_MODULES = (
    "jupyter_flow.notebook.cli",
    "jupyter_flow.runtime.cli_package",
    "jupyter_flow.schedule.cli",
)

PROG = "jupyter flow"


def build_parser(
    bound: Flow | None = None, argv: Sequence[str] | None = None
) -> argparse.ArgumentParser:
    """The parser for ``argv``: when it starts with an engine verb (``run``...), only that
    verb's parser is built, the rest of the CLI is neither imported nor built."""
    from .runtime import cli_engine

    args = sys.argv[1:] if argv is None else list(argv)
    only = args[0] if args and args[0] in cli_engine.VERBS else None

    prog = f"python {sys.argv[0]}" if bound is not None else PROG
    import argparse  # here, not at import: a run forks its first worker before this

    parser = argparse.ArgumentParser(
        prog=prog,
        formatter_class=cli_engine.HelpFormatter,
        description=(
            "Run, inspect and schedule jupyter_flow flows."
            if bound is None
            else f"Run and inspect the flow {bound.name!r}."
        ),
    )
    parser.add_argument("--version", action="version", version=_version())
    # prog given: else argparse imports shutil (and bz2, lzma) to measure the terminal
    sub = parser.add_subparsers(dest="verb", metavar="VERB", prog=prog)
    cli_engine.add_parsers(sub, bound=bound, only=only)
    if bound is None and only is None:
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
    code = _dispatch(build_parser(None, argv), argv, None)
    _exit(code, fast=argv is None)


def flow_main(flow: Flow, argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python my_flow.py VERB``: the flow object is already known."""
    if argv is None:
        _start_worker_early(flow, sys.argv[1:])
    code = _dispatch(build_parser(flow, argv), argv, flow)
    _exit(code, fast=argv is None and _is_script(flow))


def _start_worker_early(flow: Flow, args: Sequence[str]) -> None:
    """``run``/``resume`` here: fork the first local worker before argparse and the runtime
    are imported (``runtime/prespawn.py``). Not for help, nor when the executor may be
    another (``--on X``, pinned ``--settings``): the run's own start decides then."""
    if not args or args[0] not in ("run", "resume"):
        return
    rest = list(args[1:])
    for i, arg in enumerate(rest):
        if arg in ("-h", "--help") or arg.startswith("--settings"):
            return
        if arg.startswith("--on"):
            value = (
                arg.partition("=")[2] if "=" in arg else (rest[i + 1] if i + 1 < len(rest) else "")
            )
            if value != "local":
                return
    if flow.module_file and _is_script(flow):
        from .runtime import prespawn

        prespawn.start(flow.module_file)


def _is_script(flow: Flow) -> bool:
    """Whether the flow's module is the program (``python my_flow.py``)."""
    from pathlib import Path

    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if not main_file or not flow.module_file:
        return False
    try:
        return Path(str(main_file)).samefile(str(flow.module_file))
    except OSError:
        return False


def _exit(code: int, *, fast: bool) -> NoReturn:
    """End the command. A command-line process (``fast``) skips the interpreter's tear-down
    of its modules and objects (~10 ms, a tenth of a short run), as a forked worker does:
    atexit handlers still run and the standard streams are flushed. A process with other
    threads, or a caller in-process (tests, a kernel), gets the normal ``sys.exit``."""
    import threading

    if not fast or threading.active_count() > 1:
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what was lost is lost either way
            pass
    os._exit(code)
