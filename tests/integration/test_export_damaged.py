"""``jupyter flow export`` of a damaged notebook says what is wrong, where, and how to
restore it (naming the checkpoint when there is one): never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "ridge_sweep.ipynb"


def export(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter", "flow", "export", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def said(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: ridge.ipynb ")
    return done.stderr


@pytest.fixture
def good() -> bytes:
    return EXAMPLE.read_bytes()


def test_a_cut_off_notebook_names_where_it_ends_and_its_checkpoint(tmp_path, good):
    path = tmp_path / "ridge.ipynb"
    path.write_bytes(good[:1500])
    text = said(export(path))
    lines = good[:1500].decode().rstrip().split("\n")
    assert f"ridge.ipynb is cut off: it ends at line {len(lines)}, column" in text
    assert f"there: {lines[-1].strip()[-60:]}" in text
    assert "there is no checkpoint .ipynb_checkpoints/ridge-checkpoint.ipynb" in text
    assert not (tmp_path / "ridge_flow.py").exists()

    checkpoints = tmp_path / ".ipynb_checkpoints"
    checkpoints.mkdir()
    shutil.copy(EXAMPLE, checkpoints / "ridge-checkpoint.ipynb")
    text = said(export(path))
    assert "restore it from its checkpoint .ipynb_checkpoints/ridge-checkpoint.ipynb" in text
    assert "File > Revert Notebook to Checkpoint" in text


def test_an_empty_notebook_says_so(tmp_path):
    path = tmp_path / "ridge.ipynb"
    path.write_bytes(b"")
    assert "ridge.ipynb is empty (0 bytes)" in said(export(path))


def test_invalid_json_names_the_line_and_column(tmp_path, good):
    path = tmp_path / "ridge.ipynb"
    path.write_bytes(good.replace(b'"cells": [', b'"cells": [,', 1))
    line = next(i for i, ln in enumerate(good.split(b"\n"), 1) if b'"cells": [' in ln)
    text = said(export(path))
    assert f"ridge.ipynb is not valid JSON: Expecting value at line {line}, column" in text
    assert 'there: "cells": [,' in text


def test_a_non_utf8_notebook_names_the_byte_offset(tmp_path, good):
    path = tmp_path / "ridge.ipynb"
    at = good.index(b"import")
    path.write_bytes(good[:at] + "café ".encode("latin-1") + good[at:])
    text = said(export(path))
    offset = at + 3
    line = good[:at].count(b"\n") + 1
    assert f"ridge.ipynb is not UTF-8: byte 0xe9 at offset {offset} (line {line}," in text
    assert "iconv -f latin1 -t utf-8 ridge.ipynb" in text
