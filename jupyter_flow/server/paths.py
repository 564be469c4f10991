"""Confine request paths to the server root.

Request paths are API paths (``/``-separated, relative to the root). Refused: absolute
paths, any ``..`` component, and anything whose real path (symlinks resolved) is outside
the root.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from .errors import BadRequest, NotFound, PathRefused


def confine(root: str | Path, api_path: object) -> Path:
    """The real filesystem path for ``api_path`` inside ``root``; refuses escapes."""
    if not isinstance(api_path, str) or not api_path.strip():
        raise BadRequest(
            "a notebook 'path' is required", hint="send the path relative to the server root"
        )
    if "\x00" in api_path:
        raise BadRequest(f"path {api_path!r} contains a NUL byte", hint="send a plain file path")
    text = api_path.replace("\\", "/")
    pure = PurePosixPath(text)
    if pure.is_absolute() or (len(text) > 1 and text[1] == ":"):
        raise PathRefused(
            f"absolute path {api_path!r} refused", hint="use a path relative to the server root"
        )
    if ".." in pure.parts:
        raise PathRefused(f"path {api_path!r} leaves the server root", hint="remove '..'")
    real_root = Path(root).resolve()
    candidate = (real_root / Path(*pure.parts)).resolve()
    if candidate != real_root and real_root not in candidate.parents:
        raise PathRefused(
            f"path {api_path!r} resolves outside the server root",
            hint="symlinks out of the server root are not followed",
        )
    return candidate


def notebook(root: str | Path, api_path: object) -> Path:
    """An existing ``.ipynb`` file inside ``root``."""
    path = confine(root, api_path)
    if path.suffix != ".ipynb":
        raise BadRequest(f"{api_path!r} is not a notebook", hint="pass a .ipynb path")
    if not path.is_file():
        raise NotFound(f"notebook {api_path!r} does not exist")
    return path


def relative(root: str | Path, path: str | Path) -> str:
    """``path`` as an API path relative to ``root`` (unchanged when outside it)."""
    real_root = Path(root).resolve()
    real = Path(path).resolve()
    try:
        return real.relative_to(real_root).as_posix()
    except ValueError:
        return str(path)


def require_inside(root: str | Path, path: str | Path, what: str) -> Path:
    """``path`` (symlinks resolved) if it is inside ``root``; else PathRefused."""
    real_root = Path(root).resolve()
    real = Path(path).resolve()
    if real != real_root and real_root not in real.parents:
        raise PathRefused(
            f"{what} {str(path)!r} is outside the server root",
            hint="choose a folder inside the server root, or an s3:// URL",
        )
    return real


ALLOWED_ROOTS = "JUPYTER_FLOW_ALLOWED_ROOTS"  # remote store URLs a request may choose


def store_location(root: str | Path, notebook_dir: Path, requested: str, configured: str) -> str:
    """The store a request may use for ``requested``: a folder (or ``file://`` URL) inside
    the server root, as an absolute path; a remote URL only if it is the store the settings
    already name for this notebook (``configured``) or is listed in the server's
    ``JUPYTER_FLOW_ALLOWED_ROOTS``: a request never picks a bucket of its own."""
    if "\x00" in requested:
        raise BadRequest("the store location contains a NUL byte")
    scheme, sep, rest = requested.partition("://")
    if not sep or scheme.lower() == "file":
        local = rest if sep else requested
        return str(require_inside(root, notebook_dir / Path(local).expanduser(), "store"))
    allowed = {u.strip().rstrip("/") for u in os.environ.get(ALLOWED_ROOTS, "").split(",")}
    wanted = requested.rstrip("/")
    if wanted == configured.rstrip("/") or wanted in allowed - {""}:
        return requested
    raise PathRefused(
        f"store {requested!r} is not one this server's settings name",
        hint=f"put it in jupyter_flow.toml beside the notebook, or list it in {ALLOWED_ROOTS} "
        "where the server starts",
    )
