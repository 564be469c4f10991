"""In a task's container: install the environment the driver resolved (``environments``).

The wheels come from the store (checked against their blob's key, like every read), and
pip installs exactly them, ``--no-index --no-deps``: no PyPI, no resolver, the versions
of the lock. Once per environment and node (a cached folder), then on ``sys.path`` and
``PYTHONPATH`` (a step's child processes import them too).
"""

from __future__ import annotations

import io
import json
import mmap
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from ..store.blobs import BlobStore
from . import launcher
from .environments import MANIFEST, PIP, PackagesError, Target


def install_environment(store: BlobStore, blob: str, step: str, root: Path) -> Path:
    """Install the environment ``blob`` (once per node) and put it on the import path."""
    target = root / blob.replace(":", "-")
    if not (target / ".complete").is_file():
        tmp = launcher.scratch(target)
        try:
            wheels = _unpack(store.open_blob(blob), tmp / "wheels", step)
            done = subprocess.run(
                [sys.executable, *PIP, "install", "--quiet", "--no-index", "--no-deps",
                 "--target", str(tmp / "site"), *map(str, wheels)],
                capture_output=True,
                text=True,
                check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise PackagesError(
                    "pip could not install the step's resolved packages",
                    hint=(done.stderr or done.stdout).strip()[-2000:] or "see pip's output above",
                )
            shutil.rmtree(tmp / "wheels")
            launcher.settle(tmp, target)  # renamed into place; a task that got there first wins
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    site = str(target / "site")
    sys.path.insert(1, site)  # after the code package, before site-packages
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (site, os.environ.get("PYTHONPATH"))))
    return target


def _unpack(buffer: Any, dest: Path, step: str) -> list[Path]:
    """The wheels of the environment tar in ``buffer``, written to ``dest``, after checking
    that this container is the platform they were resolved for."""
    dest.mkdir(parents=True)
    wheels: list[Path] = []
    if isinstance(buffer, mmap.mmap):
        buffer.seek(0)  # read in place: an environment may be GBs (torch), never copied
    source = buffer if isinstance(buffer, mmap.mmap) else io.BytesIO(buffer)
    with tarfile.open(fileobj=source, mode="r:") as tar:
        for member in tar:
            data = tar.extractfile(member)
            if data is None:
                continue
            if member.name == MANIFEST:
                _check_target(json.loads(data.read()), step)
            elif member.name.startswith("wheels/") and "/" not in member.name[7:]:
                path = dest / member.name[7:]
                with open(path, "wb") as out:
                    shutil.copyfileobj(data, out, 1 << 20)
                wheels.append(path)
    return wheels


def _check_target(manifest: dict[str, Any], step: str) -> None:
    """Refuse wheels resolved for another Python or CPU before pip says it less clearly."""
    wanted, here = Target(**manifest["target"]), Target.here()
    if wanted != here:
        raise PackagesError(
            f"its packages were resolved for Python {wanted.python} on "
            f"{wanted.platform}, but its container runs Python {here.python} on {here.platform}",
            hint=f"use an image with Python {wanted.python}, or set python_version = "
            f"{here.python!r} and architecture = {here.platform[6:]!r} in the backend's "
            "settings if its image and nodes are those",
        )
