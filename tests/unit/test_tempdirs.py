"""Temp-folder fallbacks are this user's own (issue 13, item 5): made 0700, and a folder
another user could write to, or a symlink planted in its place, is refused."""

from __future__ import annotations

import os
import stat
import tempfile

import pytest

from jupyter_flow.errors import ConfigError
from jupyter_flow.server.launcher import _log_dir
from jupyter_flow.tempdirs import private_tmp


@pytest.fixture
def tmpdir_here(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_private_folder_is_made_0700_and_reused(tmpdir_here):
    folder = private_tmp("launches")
    base = tmpdir_here / f"jupyter_flow-{os.getuid()}"
    assert folder == base / "launches" and folder.is_dir()
    assert stat.S_IMODE(base.stat().st_mode) == 0o700
    assert private_tmp("launches") == folder


def test_launch_logs_of_a_remote_store_are_in_the_private_folder(tmpdir_here):
    folder = _log_dir("s3://bucket/flows")
    assert folder.parent == tmpdir_here / f"jupyter_flow-{os.getuid()}"


def test_a_folder_others_can_write_is_refused(tmpdir_here):
    base = tmpdir_here / f"jupyter_flow-{os.getuid()}"
    base.mkdir()
    base.chmod(0o777)
    with pytest.raises(ConfigError, match="is not a private folder"):
        private_tmp("code")


def test_a_planted_symlink_is_refused(tmpdir_here):
    elsewhere = tmpdir_here / "planted"
    elsewhere.mkdir(mode=0o700)
    (tmpdir_here / f"jupyter_flow-{os.getuid()}").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="is not a private folder"):
        private_tmp("code")
