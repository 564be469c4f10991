"""The entry points a user types: ``jupyter flow export`` and ``jupyter nbconvert --to flow``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_flow.notebook.exporter import FlowExporter

GOOD = [
    "import math",
    "%%params\nn = 3",
    "%%step square --cpu 2\nsq = n * n",
    "%%step root\nr = math.sqrt(sq)",
]


def write(folder: Path, cells: list[str], name: str = "calc.ipynb") -> Path:
    nb = new_notebook(
        cells=[new_code_cell(c) for c in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    path = folder / name
    nbformat.write(nb, path)
    return path


def jupyter(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter", *args],
        cwd=cwd,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


def test_export_writes_the_module_and_prints_the_step_table(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    done = jupyter("flow", "export", "calc.ipynb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["step", "cell", "inputs", "outputs", "resources"]
    assert lines[1].split()[:4] == ["square", "3", "n", "sq"] and "cpu=2" in lines[1]
    assert lines[-1] == "wrote calc_flow.py (CalcFlow, 2 steps)"
    module = (tmp_path / "calc_flow.py").read_text()
    assert "def root(sq):" in module and 'Flow("CalcFlow", parameters={"n": 3})' in module
    ran = subprocess.run(
        [sys.executable, "calc_flow.py", "run", "--root", str(tmp_path / "store")],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert "r = 3.0" in ran.stdout


def test_check_validates_without_writing(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    done = jupyter("flow", "export", "calc.ipynb", "--check", "-o", "elsewhere.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "square" in done.stdout and "not written" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calc.ipynb"]


def test_a_mistake_is_one_located_message_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, [*GOOD, "%%step late --foreach v in values\nw = v"])
    done = jupyter("flow", "export", "calc.ipynb", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cell 5, line 1 ('%%step late --foreach v in values')")
    assert "hint:" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calc.ipynb"]


def test_help(tmp_path: Path) -> None:
    done = jupyter("flow", "export", "--help", cwd=tmp_path)
    assert done.returncode == 0
    for word in ("NOTEBOOK", "--output", "--check", "%%step"):
        assert word in done.stdout


def test_nbconvert_to_flow(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    done = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "flow", "calc.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "def square(n):" in (tmp_path / "calc_flow.py").read_text()


def test_the_exporter_is_offered_to_jupyterlab() -> None:
    from nbconvert.exporters import get_exporter

    assert get_exporter("flow") is FlowExporter
    exporter = FlowExporter()
    assert exporter.file_extension == ".py" and exporter.export_from_notebook == "Flow"
    nb = nbformat.from_dict(
        new_notebook(
            cells=[new_code_cell(c) for c in GOOD],
            metadata={"kernelspec": {"name": "python3", "display_name": "P"}},
        )
    )
    source, resources = exporter.from_notebook_node(nb, {"metadata": {"name": "calc"}})
    assert resources["output_extension"] == "_flow.py" and 'Flow("CalcFlow"' in source
    with pytest.raises(Exception, match="no %%step cells"):
        exporter.from_notebook_node(nbformat.from_dict(new_notebook()), {"metadata": {"name": "x"}})
