"""The settings file: a misspelled backend table is refused, a profile's backend table
changes only the keys it sets (not drops the default's credentials)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_flow.config import Settings
from jupyter_flow.errors import ConfigError


def settings_from(tmp_path: Path, text: str, **overrides: str) -> Settings:
    (tmp_path / "jupyter_flow.toml").write_text(text)
    return Settings.load(tmp_path, env={}, **overrides)


def test_a_misspelled_backend_table_is_refused_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, '[default]\nexecutor = "batch"\n[default.bacth]\nqueue = "q"\n')
    message = caught.value.format()
    assert "jupyter_flow.toml [default.bacth]: no backend is named 'bacth'" in message
    assert "did you mean [default.batch]?" in message


def test_a_misspelled_table_in_a_profile_is_refused_too(tmp_path: Path) -> None:
    text = '[default]\n[profiles.gpu.kubernets]\nnamespace = "gpu"\n'
    with pytest.raises(ConfigError, match=r"\[profiles\.gpu\.kubernets\].*kubernetes"):
        settings_from(tmp_path, text, profile="gpu")


def test_a_profiles_backend_table_overrides_keys_and_keeps_the_defaults_others(
    tmp_path: Path,
) -> None:
    text = """
[default]
executor = "kubernetes"
[default.kubernetes]
namespace = "flows"
secrets = ["s3-credentials"]
[profiles.gpu.kubernetes]
namespace = "gpu"
"""
    gpu = settings_from(tmp_path, text, profile="gpu").backend_options("kubernetes")
    assert gpu == {"namespace": "gpu", "secrets": ["s3-credentials"]}
    default = settings_from(tmp_path, text).backend_options("kubernetes")
    assert default == {"namespace": "flows", "secrets": ["s3-credentials"]}
