"""Pinning the code a schedule runs: the one place that knows how code is identified.

A schedule runs the flow as it was when the schedule was created; changing the flow later
changes nothing until the schedule is re-created (an explicit update). The code is named by
its package key: ``runtime.package.build_package(...).key`` (a deterministic tar.gz of the
module, the project code it imports and jupyter_flow itself) or, where that module is not
installed, the SHA-256 of the module file (the package is then the module alone).

The package is put in the store (remote drivers fetch it from there). The local scheduler
unpacks it under ``<state>/schedule-code/<key>/`` and runs the module from there.
"""

from __future__ import annotations

import hashlib
import importlib
import shutil
from pathlib import Path
from types import ModuleType

CODE_DIR = "schedule-code"


def _package_module() -> ModuleType | None:
    try:
        return importlib.import_module("jupyter_flow.runtime.package")
    except ModuleNotFoundError as err:
        if err.name != "jupyter_flow.runtime.package":
            raise
        return None


def package_key(module_path: str | Path) -> str:
    """The content hash that names the pinned code of ``module_path``."""
    package = _package_module()
    if package is None:
        return hashlib.sha256(Path(module_path).read_bytes()).hexdigest()
    return str(package.build_package(str(module_path)).key)


def upload_package(root: str, module_path: str | Path) -> str:
    """Put the pinned code in the store (idempotent: content-addressed); return its key."""
    from ..store import open_store

    store = open_store(root)
    try:
        package = _package_module()
        if package is None:
            from ..store.blobs import blob_path

            key = package_key(module_path)  # SHA-256, as package_key names it
            store.put(blob_path(key), Path(module_path).read_bytes())
            return key
        return str(package.ensure_package(store, str(module_path)).package_key)
    finally:
        store.close()


def pin_local(root: str, state_dir: Path, module_path: str | Path, key: str) -> Path:
    """Make the pinned code runnable locally; return the module file to run."""
    source = Path(module_path)
    target = local_module(state_dir, key, source.name)
    if target.is_file():
        return target
    package = _package_module()
    if package is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{source.name}.tmp"
        shutil.copyfile(source, tmp)
        tmp.replace(target)
        return target
    from ..store import open_store

    stored = upload_package(root, source)
    store = open_store(root)
    try:
        folder = package.fetch_package(store, stored, state_dir / CODE_DIR)
    finally:
        store.close()
    return Path(folder) / source.name


def restore_local(root: str, state_dir: Path, key: str, file_name: str) -> Path:
    """The pinned module, unpacked again from the store if its folder was removed."""
    target = local_module(state_dir, key, file_name)
    package = _package_module()
    if target.is_file() or package is None:
        return target
    from ..store import open_store

    store = open_store(root)
    try:
        if not store.missing_blobs([key]):
            package.fetch_package(store, key, state_dir / CODE_DIR)
    finally:
        store.close()
    return target


def local_module(state_dir: Path, key: str, file_name: str) -> Path:
    return state_dir / CODE_DIR / key / file_name
