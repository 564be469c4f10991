"""Build hook: a wheel built from a clean checkout carries the JupyterLab extension.

The built extension (``jupyter_flow/labextension``) is not in git. A wheel build (not an
editable install: developers build with ``labextension/ci.sh build``) compiles it from
``labextension/`` with npm when it is missing, from the committed lockfile (``npm ci``), and
refuses to produce a wheel without it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUILT = Path("jupyter_flow") / "labextension" / "package.json"


class LabExtensionHook(BuildHookInterface):
    PLUGIN_NAME = "labextension"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        if (root / BUILT).is_file():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "building the jupyter-flow wheel needs Node.js and npm to build its JupyterLab "
                "extension (labextension/); install them, or run labextension/ci.sh build first"
            )
        source = root / "labextension"
        env_note = "npm ci, clean and build in labextension/"
        self.app.display_info(f"building the JupyterLab extension ({env_note})")
        # clean: a stale tsconfig.tsbuildinfo would make `tsc -b` skip emitting lib/
        for args in (["ci", "--no-audit", "--no-fund"], ["run", "clean"], ["run", "build"]):
            subprocess.run([npm, *args], cwd=source, check=True)
        if not (root / BUILT).is_file():
            raise RuntimeError(f"the extension build did not produce {BUILT}")
