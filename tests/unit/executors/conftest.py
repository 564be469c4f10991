"""The rendered manifests name the packages a bare image installs, pinned to this
environment's versions (``bootstrap.requirements_for``): fixed here, so a golden file does
not change whenever boto3, botocore or blake3 is upgraded."""

from __future__ import annotations

import pytest

from jupyter_flow.runtime import launcher

PINS = "boto3==1.44.8 botocore==1.44.8 blake3==1.0.11"


@pytest.fixture(autouse=True)
def fixed_requirements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(launcher.REQUIRES_ENV, PINS)
