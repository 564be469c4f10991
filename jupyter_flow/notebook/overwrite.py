"""Export never destroys work: it overwrites only a module it wrote and nobody edited since.

What export writes is remembered beside the module (``.jupyter_flow/exports/<name>.sha256``,
the SHA-256 of the text written). A later export overwrites the file only if it still has
that hash (or already has the new text); a file export did not write, or one edited since,
is refused naming it, unless ``force``. The module keeps an existing file's mode, and a new
one gets the user's umask (a temp file alone would leave it 0600).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from ..errors import ExportRefused

RECORDS = Path(".jupyter_flow") / "exports"


def check_target(module_path: str, source: str, *, force: bool = False) -> None:
    """Raise ``ExportRefused`` if writing ``source`` to ``module_path`` would lose work."""
    target = Path(module_path)
    folder = target.parent if str(target.parent) else Path()
    if not folder.is_dir():
        raise ExportRefused(
            f"cannot write {target}: the folder {folder} does not exist",
            hint=f"create it first (mkdir -p {folder}) or choose another output path",
        )
    if target.is_dir():
        raise ExportRefused(f"cannot write {target}: it is a folder", hint="name a .py file")
    if force or not target.exists():
        return
    current = target.read_bytes()
    if current == source.encode("utf-8"):
        return
    written = _recorded(target)
    if written == _digest(current):
        return
    why = "export did not write it" if written is None else "it was edited since export wrote it"
    raise ExportRefused(
        f"{target} exists and {why}: exporting would overwrite it",
        hint="keep your edits elsewhere (or rename the file), or export with --force "
        "(`jupyter flow export --force`, `%flow export --force`) to overwrite it",
    )


def write(module_path: str, source: str) -> None:
    """Write ``source`` atomically, with the mode the file had (else the umask's), and
    remember what was written."""
    target = Path(module_path)
    folder = target.parent if str(target.parent) else Path()
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    data = source.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _remember(target, _digest(data))


def _record_path(target: Path) -> Path:
    return target.parent / RECORDS / f"{target.name}.sha256"


def _recorded(target: Path) -> str | None:
    try:
        return _record_path(target).read_text().strip() or None
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None


def _remember(target: Path, digest: str) -> None:
    record = _record_path(target)
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(digest + "\n")
    except OSError:  # the module is written; the next export will ask for --force
        pass


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _umask() -> int:
    """This process's umask, read without changing it (``os.umask`` would, for every
    thread of the server)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022
