"""A remote store gets a task's log as it runs: at once when the task reads a secret (all
it printed before, masked), then only when the log changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TASK = r"""
import json, os, sys, time
from jupyter_flow.runtime.logs import capture_output
from jupyter_flow.runtime.taskspec import CodeRef, TaskSpec
from jupyter_flow.store.blobs import LocalBlobs

class Remote(LocalBlobs):  # a store whose logs are not files here: uploaded
    puts = []
    def local_path(self, path):
        return None
    def put(self, path, data):
        Remote.puts.append((path, data))
        super().put(path, data)

store = Remote(sys.argv[1])
spec = TaskSpec("F", "r", "s", 0, 1, sys.argv[1], CodeRef("", ""), (), ())
report = {}
def last_stdout():
    return [d.decode() for p, d in Remote.puts if p.endswith(".stdout")][-1]

with capture_output(store, spec, echo=True) as output:
    print("early: tok-s3cr3t-1234", flush=True)
    time.sleep(1.2)  # uploaded as it is (not yet known as a secret), then unchanged
    output.mask([b"tok-s3cr3t-1234"])
    report["unchanged_at_reveal"] = last_stdout()
    print("before the second secret: second-s3cr3t-99", flush=True)
    for _ in range(2000):  # many small writes: the tee is still copying as mask() starts
        os.write(1, b"a C-level write\n")
    output.mask([b"second-s3cr3t-99"])
    report["at_reveal"] = last_stdout()
    before = len(Remote.puts)
    time.sleep(1.6)  # nothing printed: nothing to send
    report["idle_puts"] = len(Remote.puts) - before
    print("then tok-s3cr3t-1234 again", flush=True)
    time.sleep(1.6)
    report["changed_puts"] = len(Remote.puts) - before
with open(sys.argv[2], "w") as fh:
    json.dump(report, fh)
"""


def test_the_log_is_uploaded_masked_when_a_secret_is_read_then_only_when_it_changed(
    tmp_path: Path,
) -> None:
    script, report = tmp_path / "task.py", tmp_path / "report.json"
    script.write_text(TASK)
    env = {**os.environ, "JUPYTER_FLOW_LOG_UPLOAD_EVERY": "0.5"}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "store"), str(report)],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    seen = json.loads(report.read_text())
    assert seen["unchanged_at_reveal"] == "early: ********\n"
    assert seen["at_reveal"] == (
        "early: ********\nbefore the second secret: ********\n" + "a C-level write\n" * 2000
    )
    assert seen["idle_puts"] == 0
    assert seen["changed_puts"] == 1
    # The container's own output (kubectl logs) has the value where it was printed before
    # the task knew it was a secret: the driver never copies that part into the store, as
    # the store's log already holds it (masked, uploaded at the reveal); what follows is
    # masked before the container prints it.
    before, after = done.stdout.split(b"then ")
    assert b"early: tok-s3cr3t-1234" in before and after == b"******** again\n"
