import nbformat
import pytest

from jupyter_flow.errors import NotebookError
from jupyter_flow.notebook.api import export_notebook


def test_packages_auto_is_refused_at_export(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%%step load --packages auto\nx = 1")]
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(NotebookError) as err:
        export_notebook(str(path))
    assert "--packages auto" in str(err.value) and "cell 1" in str(err.value)
    assert not (tmp_path / "a_flow.py").exists()
