"""Private folders in the temp directory, for caches and logs that have no better home.

``/tmp/jupyter_flow`` was shared by every local user: anyone could read another's launch
logs, or plant a folder that the code cache would trust. Each user now gets
``$TMPDIR/jupyter_flow-<uid>``, made 0700, and it is used only if it is a real directory
owned by this user that nobody else can enter.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import ConfigError


def private_tmp(*parts: str) -> Path:
    """``$TMPDIR/jupyter_flow-<uid>/<parts>``, created if needed; refuses a folder that
    another user owns or can write to."""
    base = Path(tempfile.gettempdir()) / f"jupyter_flow-{os.getuid()}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(base)
    except OSError as err:
        raise ConfigError(
            f"cannot create the private folder {base}: {err.strerror}",
            hint="set TMPDIR to a writable folder of your own",
        ) from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise ConfigError(
            f"{base} is not a private folder of this user (owner {st.st_uid}, mode "
            f"{stat.filemode(st.st_mode)}): it is not used",
            hint="remove it, or set TMPDIR to a folder of your own",
        )
    folder = base.joinpath(*parts)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder
