"""``jupyter flow package FLOW.py``: show what a remote task would receive, before it runs."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "package",
        help="show the code package remote steps run from (size and files)",
        description=(
            "Build the code package a Kubernetes or AWS Batch step downloads: the flow "
            "module, the project modules it imports (a package with its data files) and "
            "jupyter_flow itself. Never: credential-like files (by name, or by content: "
            "private keys, AWS key ids, tokens), notebooks, symlinks out of the project, "
            "virtualenvs and VCS folders; files over 1 MB only with --include-large. A "
            "module that holds a credential is refused, naming it. Nothing is uploaded."
        ),
    )
    parser.add_argument("flow", metavar="FLOW", help="the flow module (path to a .py file)")
    parser.add_argument(
        "--list", action="store_true", help="list every file with its size and why it is in"
    )
    parser.add_argument("--include-large", action="store_true", help="also package files over 1 MB")
    parser.set_defaults(func=run_package)
    return parser


def human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover - the loop always returns


def run_package(args: argparse.Namespace) -> int:
    from .package import build_package

    package = build_package(args.flow, include_large=args.include_large)
    project = [(p, s) for p, s in package.files if not p.startswith("jupyter_flow/")]
    own = len(package.files) - len(project)
    print(f"code package {package.key[:12]} for {package.module_path}")
    print(
        f"  {human(package.size)} compressed, {len(package.files)} files: "
        f"{len(project)} from the project, {own} of jupyter_flow"
    )
    shown = package.files if args.list else project
    reasons = dict(package.reasons)
    for path, size in shown:
        why = f"  ({reasons[path]})" if args.list and reasons.get(path) else ""
        print(f"  {human(size):>9}  {path}{why}")
    if not args.list and own:
        print(f"  (and {own} jupyter_flow files: --list shows them)")
    for path, why in package.skipped:
        print(f"  skipped    {path}: {why}")
    return 0
