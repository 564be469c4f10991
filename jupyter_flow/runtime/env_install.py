"""In a task's container: install the step's packages, as the driver resolved them.

The wheels come from the store (checked against their blob's key, like every read), and
pip installs exactly them, ``--no-index --no-deps``: no PyPI, no resolver, the versions
of the lock. Once per environment and node (a cached folder), then on ``sys.path`` and
``PYTHONPATH`` (a step's child processes import them too).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import mmap
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store.blobs import BlobStore
from . import launcher
from .environments import (
    MANIFEST,
    PIP,
    Environment,
    PackagesError,
    Target,
    doc_path,
    environment_key,
)

if TYPE_CHECKING:
    from .taskspec import TaskSpec


def install_step_packages(store: BlobStore, spec: TaskSpec, cache: Callable[[str], Path]) -> None:
    """The step's packages: the environment the driver resolved (offline, from the store),
    else, for engines whose driver resolves nothing (Argo), one an earlier run resolved
    for this container's platform, else pip from the index as a last resort. ``cache``
    gives the node's cache folder of a kind."""
    if not spec.packages:
        return
    blob = spec.environment
    if blob is None:
        found = store.get(doc_path(environment_key(spec.packages, Target.here())))
        with contextlib.suppress(ValueError, KeyError, TypeError):
            blob = Environment.from_json(found).blob if found else None
    if blob is not None:
        install_environment(store, blob, cache("environments"))
    else:
        install_packages(spec.packages, cache("packages"))


def pip_command(packages: Sequence[str], target: Path) -> list[str]:
    """The pip invocation that installs a step's declared packages into ``target`` (the
    launcher's own, ``launcher.PIP``)."""
    return [sys.executable, *launcher.PIP, "--target", str(target), *sorted(packages)]


def packages_dir(packages: Sequence[str], root: Path) -> Path:
    digest = hashlib.sha256("\n".join(sorted(set(packages))).encode()).hexdigest()[:16]
    return root / digest


def install_packages(packages: Sequence[str], root: Path) -> Path | None:
    """pip-install from the index once per package set into a cached folder, put it on
    ``sys.path`` (where no resolved environment is stored)."""
    if not packages:
        return None
    target = packages_dir(packages, root)
    if not (target / ".complete").is_file():
        tmp = launcher.scratch(target)  # unique: tasks on one node may share the cache
        try:
            done = subprocess.run(
                pip_command(packages, tmp), capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise PackagesError(
                    f"pip could not install {', '.join(sorted(packages))}",
                    hint=(done.stderr or done.stdout).strip()[-2000:] or "see the pip output above",
                )
            launcher.settle(tmp, target)  # renamed into place; a task that got there first wins
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.path.insert(1, str(target))  # after the code package, before site-packages
    return target


def install_environment(store: BlobStore, blob: str, root: Path) -> Path:
    """Install the environment ``blob`` (once per node) and put it on the import path."""
    target = root / blob.replace(":", "-")
    if not (target / ".complete").is_file():
        tmp = launcher.scratch(target)
        try:
            wheels = _unpack(store.open_blob(blob), tmp / "wheels")
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


def _unpack(buffer: Any, dest: Path) -> list[Path]:
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
                _check_target(json.loads(data.read()))
            elif member.name.startswith("wheels/") and "/" not in member.name[7:]:
                path = dest / member.name[7:]
                with open(path, "wb") as out:
                    shutil.copyfileobj(data, out, 1 << 20)
                wheels.append(path)
    return wheels


def _check_target(manifest: dict[str, Any]) -> None:
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
