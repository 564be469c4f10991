"""A forked local worker hashes big blobs even when its driver had started blake3's thread
pool before the fork (the pool's threads do not exist in the child: using it hung)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD_HASHES_AFTER_PARENT = """
import os
from jupyter_flow.store.hashing import key_of, matches

data = os.urandom(16 << 20)
key = key_of(data)  # the parent starts the thread pool
pid = os.fork()
if pid == 0:
    os._exit(0 if key_of(data) == key and matches(key, data) else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_hashes_after_its_parent_used_the_thread_pool():
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD_HASHES_AFTER_PARENT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
