"""Export speed on a 500-cell notebook (target: <= 0.5 s), beside nbconvert's script export.

    python bench/export_bench.py [--cells 500] [--repeat 7]

Prints medians; nothing here asserts. The notebook mixes what real ones hold: markdown,
imports, helper defs, a parameters cell, exploration cells and multi-line %%step cells with
resources, foreach and notebook-only lines.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def big_notebook(n_cells: int) -> Any:
    cells = [
        new_code_cell(
            "%load_ext jupyter_flow\nimport math\nimport numpy as np\nimport pandas as pd"
        ),
        new_code_cell(
            "n_rows = 1000\nalphas = [0.1, 1.0, 10.0]", metadata={"tags": ["parameters"]}
        ),
        new_code_cell(
            "%%step s0\nv0 = np.arange(n_rows, dtype=float)\ndf0 = pd.DataFrame({'v': v0})"
        ),
    ]
    i = 1
    helper = "abs"
    while len(cells) < n_cells:
        kind = len(cells) % 5
        if kind == 0:
            cells.append(new_markdown_cell(f"## Part {i}\nSome words about step {i}."))
        elif kind == 1:
            cells.append(
                new_code_cell(f"def helper_{i}(x, k={i}):\n    return math.sqrt(abs(x)) * k")
            )
            helper = f"helper_{i}"
        elif kind == 2:
            cells.append(new_code_cell(f"df{i - 1}.describe()"))
        else:
            prev = i - 1
            opts = " --cpu 2 --memory 4G" if i % 3 else " --retries 1 --timeout 10m"
            body = (
                f"%%step s{i}{opts}\n"
                "%matplotlib inline\n"
                f"v{i} = v{prev} * 2 + {helper}(len(v{prev}))\n"
                f"df{i} = df{prev}.copy()\n"
                f"df{i}['w'] = [x for x in v{i}[:3]] * 0 + 1 if False else v{i}\n"
                f"stats{i} = {{'mean': float(v{i}.mean()), 'n': len(v{i})}}\n"
                f"for j in range(2):\n    stats{i}['j'] = j\n"
                f"df{i}"
            )
            cells.append(new_code_cell(body))
            i += 1
    return new_notebook(
        cells=cells[:n_cells], metadata={"kernelspec": {"name": "python3", "display_name": "P"}}
    )


def median_seconds(func: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds: on a busy shared machine CPU time is the stable figure."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from nbconvert.exporters import PythonExporter

    from jupyter_flow.notebook.api import analyze, export_source
    from jupyter_flow.notebook.formatting import ruff_binary

    nb = big_notebook(args.cells)
    text = nbformat.writes(nb)
    n_steps = sum(c.source.startswith("%%step") for c in nb.cells)

    def export(fmt: bool) -> Callable[[], object]:
        def run() -> object:
            node = nbformat.reads(text, as_version=4)
            return export_source(
                node, notebook_path="big.ipynb", module_path="big_flow.py", fmt=fmt, validated=True
            )

        return run

    # validated=True: nbformat.reads already validated, as export_notebook's read does
    _, source = export(False)()  # warm-up, and a sanity check that it exports
    compile(source, "big_flow.py", "exec")
    rows = [
        (
            "jupyter_flow export (read + analyse + generate)",
            median_seconds(export(False), args.repeat),
        ),
    ]
    if ruff_binary():
        rows.append(
            (
                "  ... plus ruff format (subprocess: see wall)",
                median_seconds(export(True), args.repeat),
            )
        )
    rows.append(
        (
            "analyze() for the UI (no codegen)",
            median_seconds(
                lambda: analyze(nbformat.reads(text, as_version=4), notebook_path="big.ipynb"),
                args.repeat,
            ),
        )
    )
    rows.append(
        (
            "nbconvert --to script (for comparison)",
            median_seconds(
                lambda: PythonExporter().from_notebook_node(nbformat.reads(text, as_version=4)),
                args.repeat,
            ),
        )
    )
    print(
        f"notebook: {len(nb.cells)} cells, {n_steps} steps; module {len(source.splitlines())} lines"
    )
    print(f"median of {args.repeat} runs (target for export: <= 0.5 s)")
    print(f"  {'':<50} {'wall':>9} {'cpu':>9}")
    for label, (wall, cpu) in rows:
        print(f"  {label:<50} {wall * 1000:6.0f} ms {cpu * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
