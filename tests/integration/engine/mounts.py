"""Run a shell command in a private mount namespace, so a test can mount a real tmpfs or a
read-only bind over a store without touching the machine (the mounts go with the process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any


def in_mount_namespace(shell: str, env: dict[str, str], timeout: float = 180) -> Any:
    """Run ``shell`` (sh -c) in its own mount namespace (as root directly; else as root of
    a new user namespace); returns the JSON its last stdout line prints."""
    unshare = shutil.which("unshare")
    assert unshare, "util-linux unshare is needed for the mount-namespace tests"
    prefix = [unshare, "--mount"] if os.geteuid() == 0 else [unshare, "-rm"]
    done = subprocess.run(
        [*prefix, "sh", "-c", shell],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
