"""Write the corpus: ``python -m tests.fidelity.generate`` (re)writes every notebook folder
under tests/fidelity/notebooks/ from the specs in ``corpus_*.py``. Same specs, same bytes
(cell ids are derived from the position, not random)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from . import corpus_config, corpus_data, corpus_models
from .nbspec import NotebookSpec

OUT = Path(__file__).resolve().parent / "notebooks"
META = "jupyter_flow_fidelity"


def all_specs() -> list[NotebookSpec]:
    specs = [*corpus_config.SPECS, *corpus_data.SPECS, *corpus_models.SPECS]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate notebook names in the corpus: {names}")
    return specs


def to_notebook(spec: NotebookSpec) -> nbformat.NotebookNode:
    nb = new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            META: {
                "compare": list(spec.compare),
                "expect": spec.expect,
                "fails_at": spec.fails_at,
                "classes": list(spec.classes),
            },
        }
    )
    for i, cell in enumerate(spec.cells, start=1):
        node = (
            new_markdown_cell(cell.source)
            if cell.kind == "markdown"
            else new_code_cell(cell.source)
        )
        node["id"] = f"cell-{i:02d}"
        if cell.tags:
            node.metadata["tags"] = list(cell.tags)
        nb.cells.append(node)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def render(spec: NotebookSpec) -> str:
    """The .ipynb file's text, as written (and as a check of the committed file)."""
    return json.dumps(to_notebook(spec), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write(spec: NotebookSpec, out: Path = OUT) -> Path:
    folder = out / spec.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / f"{spec.name}.ipynb"
    path.write_text(render(spec), encoding="utf-8")
    for rel, content in spec.files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content.lstrip("\n"), encoding="utf-8")
    return path


def main() -> int:
    specs = all_specs()
    keep = {s.name for s in specs}
    if OUT.exists():
        for stale in OUT.iterdir():
            if stale.is_dir() and stale.name not in keep:
                shutil.rmtree(stale)
    for spec in specs:
        write(spec)
    print(f"wrote {len(specs)} notebooks to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
