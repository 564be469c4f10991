"""Regenerate the Argo Workflows JSON schemas the tests validate against (no network in CI).

Reads ``api/jsonschema/schema.json`` of each tag from a clone of argoproj/argo-workflows,
keeps only the definitions reachable by ``$ref`` from the kinds jupyter_flow renders (and
``Workflow``, which ``schedule run-now`` creates), records the tag and commit, and writes
``schema-<tag>.json.gz`` next to this file. The schemas are kept as upstream wrote them:
strictness (``additionalProperties: false``) is applied by the test when it loads them.

    python tests/data/argo/prune.py --git-dir /path/to/argo-workflows/.git v3.6.19 v3.7.18 v4.1.2
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PATH = "api/jsonschema/schema.json"
PREFIX = "#/definitions/"
KINDS = ("CronWorkflow", "WorkflowTemplate", "Workflow")
ROOTS = tuple(f"io.argoproj.workflow.v1alpha1.{kind}" for kind in KINDS)


def refs(node: Any) -> set[str]:
    """The definition names ``node`` refers to, at any depth."""
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(PREFIX)} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node))
    return set()


def prune(schema: dict[str, Any], source: str) -> dict[str, Any]:
    definitions = schema["definitions"]
    keep: set[str] = set()
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo += sorted(refs(definitions[name]) - keep)
    return {
        "$schema": schema["$schema"],
        "$comment": source,
        "oneOf": [{"$ref": PREFIX + name} for name in ROOTS],
        "type": "object",
        "definitions": {name: definitions[name] for name in sorted(keep)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-dir", required=True, help="a clone of argoproj/argo-workflows")
    parser.add_argument("tags", nargs="+")
    args = parser.parse_args()
    for tag in args.tags:
        git = ["git", f"--git-dir={args.git_dir}"]
        commit = subprocess.run(
            [*git, "rev-list", "-n1", tag], check=True, capture_output=True, text=True
        ).stdout.strip()
        text = subprocess.run(
            [*git, "show", f"{commit}:{PATH}"], check=True, capture_output=True, text=True
        ).stdout
        source = f"argoproj/argo-workflows {tag} ({commit}) {PATH}, pruned by prune.py"
        pruned = prune(json.loads(text), source)
        data = json.dumps(pruned, indent=1, sort_keys=True).encode() + b"\n"
        out = HERE / f"schema-{tag}.json.gz"
        out.write_bytes(gzip.compress(data, mtime=0))
        kept = len(pruned["definitions"])
        print(f"{out.name}: {kept} definitions, {len(data)} bytes, {out.stat().st_size} gzipped")


if __name__ == "__main__":
    main()
