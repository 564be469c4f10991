"""What is wrong with a notebook file that is not JSON, in terms a user can act on.

A notebook that does not parse is nearly always cut off (a full disk, a crash during a
save, a bad merge or copy) or was re-saved in another encoding. The error says where
(line and column; for bytes that are not UTF-8, the byte offset), shows the text there,
and names the checkpoint JupyterLab keeps beside it, when there is one, to restore from.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import NotebookError

SHOWN = 60  # characters of the broken line shown


def unreadable(path: str, data: bytes) -> NotebookError | None:
    """The error for a file that is not a UTF-8 JSON document; None when it is one."""
    name = Path(path).name
    if not data.strip():
        return NotebookError(
            f"{name} is empty ({len(data)} bytes): the save that wrote it did not finish",
            hint=restore_hint(path),
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line, column = _line_column(data, err.start)
        byte = data[err.start : err.start + 1].hex()
        return NotebookError(
            f"{name} is not UTF-8: byte 0x{byte} at offset {err.start} (line {line}, "
            f"column {column}) is not valid UTF-8; notebooks are always saved as UTF-8"
            + _near(data[: err.start].split(b"\n")[-1].decode("utf-8", "replace") + "\ufffd"),
            hint="another editor saved it in another encoding: convert it (e.g. "
            f"`iconv -f latin1 -t utf-8 {name}`), or " + restore_hint(path),
        )
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        if err.pos >= len(text.rstrip()) or err.msg.startswith("Unterminated string"):
            lines = text.rstrip().split("\n")
            return NotebookError(
                f"{name} is cut off: it ends at line {len(lines)}, column "
                f"{len(lines[-1]) + 1}, in the middle of the notebook's JSON "
                f"({len(data)} bytes)" + _near(lines[-1]),
                hint=restore_hint(path),
            )
        line_text = text.split("\n")[err.lineno - 1]
        return NotebookError(
            f"{name} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"
            + _near(line_text),
            hint="fix that line (a merge conflict, a hand edit?), or " + restore_hint(path),
        )
    return None


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def _near(line: str) -> str:
    line = line.strip()
    if not line:
        return ""
    shown = line if len(line) <= SHOWN else "..." + line[-SHOWN:]
    return f"\n  there: {shown}"


def checkpoint_of(path: str) -> Path:
    """Where JupyterLab keeps the notebook's last checkpoint (its file checkpoints)."""
    nb = Path(path)
    return nb.parent / ".ipynb_checkpoints" / f"{nb.stem}-checkpoint{nb.suffix}"


def restore_hint(path: str) -> str:
    """Restore from the checkpoint, naming it when it exists and reads as JSON."""
    checkpoint = checkpoint_of(path)
    shown = f"{checkpoint.parent.name}/{checkpoint.name}"
    state = _checkpoint_state(checkpoint)
    if state == "ok":
        saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(checkpoint.stat().st_mtime))
        return (
            f"restore it from its checkpoint {shown} (saved {saved}): in JupyterLab "
            f"File > Revert Notebook to Checkpoint, or `cp {shown} {Path(path).name}`"
        )
    if state == "damaged":
        return f"its checkpoint {shown} is damaged too: restore it from version control or a backup"
    return f"restore it from version control or a backup (there is no checkpoint {shown})"


def _checkpoint_state(checkpoint: Path) -> str:
    try:
        json.loads(checkpoint.read_bytes())
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError):
        return "damaged"
    return "ok"
