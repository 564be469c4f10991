"""Export never destroys work (issue 13, item 4): a hand-edited module, or an unrelated file
named by -o, is not overwritten without --force; -o into a missing folder is a located error;
the module keeps the user's umask (it was 0600)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_flow.notebook.api import export_notebook

from .test_export_cli import GOOD, write

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def _export(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter", "flow", "export", "calc.ipynb", *args],
        cwd=folder,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


def test_a_hand_edited_module_is_kept_unless_forced(tmp_path):
    write(tmp_path, GOOD)
    assert _export(tmp_path).returncode == 0
    module = tmp_path / "calc_flow.py"
    assert _export(tmp_path).returncode == 0  # its own, unchanged output: re-export is fine

    edited = module.read_text() + "\n# my tuning, by hand\n"
    module.write_text(edited)
    refused = _export(tmp_path)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "calc_flow.py exists and it was edited since export wrote it" in refused.stderr
    assert "--force" in refused.stderr
    assert module.read_text() == edited  # nothing lost

    forced = _export(tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "my tuning" not in module.read_text()
    assert _export(tmp_path).returncode == 0  # written by export again


def test_an_unrelated_file_named_by_output_is_not_overwritten(tmp_path):
    write(tmp_path, GOOD)
    notes = tmp_path / "notes.py"
    notes.write_text("print('my own script')\n")
    refused = _export(tmp_path, "-o", "notes.py")
    assert refused.returncode != 0
    assert "notes.py exists and export did not write it" in refused.stderr
    assert notes.read_text() == "print('my own script')\n"


def test_output_into_a_missing_folder_is_a_located_error(tmp_path):
    write(tmp_path, GOOD)
    done = _export(tmp_path, "-o", "flows/calc.py")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "the folder flows does not exist" in done.stderr


def test_the_module_gets_the_umask_and_keeps_an_existing_mode(tmp_path):
    nb = write(tmp_path, GOOD)
    old = os.umask(0o022)
    try:
        result = export_notebook(str(nb))
    finally:
        os.umask(old)
    module = Path(result.module_path)
    assert stat.S_IMODE(module.stat().st_mode) == 0o644
    module.chmod(0o640)
    export_notebook(str(nb))
    assert stat.S_IMODE(module.stat().st_mode) == 0o640


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_flow": True}}}


async def test_the_lab_export_button_refuses_to_overwrite_an_edited_module(jp_fetch, jp_root_dir):
    write(jp_root_dir, GOOD)
    body = json.dumps({"path": "calc.ipynb"})
    await jp_fetch("jupyter-flow", "export", method="POST", body=body)
    module = jp_root_dir / "calc_flow.py"
    module.write_text(module.read_text() + "\n# edited in the Lab editor\n")
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-flow", "export", method="POST", body=body)
    assert info.value.code == 409
    problem = json.loads(info.value.response.body)
    assert "was edited since export wrote it" in problem["message"]
    assert module.read_text().endswith("# edited in the Lab editor\n")
