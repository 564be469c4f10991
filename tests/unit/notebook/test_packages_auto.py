from __future__ import annotations

from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_flow.errors import NotebookError
from jupyter_flow.notebook.api import export_notebook

AUTO = "%%step load --packages auto\nimport pandas\nx = len(pandas.DataFrame({'a': [1]}))"


def save(folder: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = folder / "a.ipynb"
    nbformat.write(nb, path)
    return path


def test_packages_auto_never_run_in_a_kernel_is_refused_at_export(tmp_path: Path) -> None:
    path = save(tmp_path, "%%step load --packages auto\nx = 1")
    with pytest.raises(NotebookError) as err:
        export_notebook(str(path))
    assert "--packages auto" in str(err.value) and "cell 1" in str(err.value)
    assert not (tmp_path / "a_flow.py").exists()


def test_packages_auto_run_in_the_kernel_exports_the_pins_it_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = save(tmp_path, AUTO)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("%load_ext jupyter_flow", store_history=True)
        assert shell.run_cell(AUTO, store_history=True).success
    finally:
        InteractiveShell.clear_instance()
    result = export_notebook(str(path))
    pin = f"pandas=={metadata.version('pandas')}"
    assert result.steps[0]["packages"] == [pin]
    assert pin in result.source and "auto" not in result.source
