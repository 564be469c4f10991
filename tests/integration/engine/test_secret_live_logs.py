"""A secret a step prints is masked before anyone can see it: in the log file while the
task still runs (what the terminal and the kernel's live views read), and in the live
output itself, whether Python, a C-level write or a subprocess printed it, in pieces; and
in what it displays (the notebook's view shows the recorded bundles as they come)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

FLOW = """
import os
import subprocess
import sys
import time
from jupyter_flow import Flow, Secret

flow = Flow("LiveSecret", parameters={"token": Secret("JF_LIVE_TOKEN")})


@flow.step(outputs="size")
def login(token):
    for i in range(0, len(token), 3):  # a few characters at a time, each one flushed
        print(token[i : i + 3], end="", flush=True)
        time.sleep(0.3)
    print(" <- printed slowly", flush=True)
    time.sleep(1)
    os.write(2, b"fd 2: " + token.encode() + b"\\n")
    subprocess.run(["sh", "-c", 'printf "child: %s\\\\n" "$JF_LIVE_TOKEN"'], check=True)
    from IPython.display import HTML, display

    display(HTML("<b>key</b> " + token))  # recorded for the notebook's view of the step
    time.sleep(1.5)  # the task still runs while the views read its log
    print("tail", token[:5], end="", flush=True)  # a start of it, left at the very end
    return len(token)


if __name__ == "__main__":
    flow.main()
"""
VALUE = "s3cr3t-live-value-77"


def test_the_live_view_and_the_log_never_hold_the_value(tmp_path: Path) -> None:
    module = tmp_path / "live_flow.py"
    module.write_text(FLOW)
    root = tmp_path / "store"
    env = {**os.environ, "JF_LIVE_TOKEN": VALUE}
    seen: list[bytes] = []  # every state of every log file while the run went on
    with subprocess.Popen(
        [sys.executable, str(module), "run", "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    ) as proc:
        while proc.poll() is None:
            for path in root.rglob("attempt-*"):
                try:
                    seen.append(path.read_bytes())
                except OSError:
                    continue
            time.sleep(0.05)
        live = proc.stdout.read() if proc.stdout else b""
    assert proc.returncode == 0, live.decode()
    assert len(seen) > 20  # the logs were looked at while the step ran
    secret = VALUE.encode()
    assert not [s for s in seen if secret in s], "the log held the value while running"
    assert any(b"******** <- printed slowly" in s for s in seen)  # while it ran: live
    assert secret not in live
    assert b"******** <- printed slowly" in live
    assert b"fd 2: ********" in live and b"child: ********" in live
    logs = b"".join(p.read_bytes() for p in root.rglob("*std*"))
    assert secret not in logs and b"child: ********" in logs
    (shown,) = [p.read_bytes() for p in root.rglob("*.displays.jsonl")]
    assert b"<b>key</b> ********" in shown and secret not in shown
    assert b"tail " + secret[:5] in logs  # held back while it could be the secret, then kept


def test_a_container_task_echoes_its_output_masked(tmp_path: Path) -> None:
    """``python -m jupyter_flow.task`` (a Kubernetes/Batch container): its stdout is what
    ``kubectl logs`` and CloudWatch show, live."""
    from jupyter_flow import Secret
    from jupyter_flow.runtime.package import ensure_package
    from jupyter_flow.runtime.taskspec import Input, TaskSpec
    from jupyter_flow.store import artifacts, open_store
    from tests.conftest import REPO

    module = tmp_path / "live_flow.py"
    module.write_text(FLOW)
    store = open_store(str(tmp_path / "store"))
    ref = artifacts.save(store, "token", Secret("JF_LIVE_TOKEN"))
    spec = TaskSpec(
        flow="LiveSecret",
        run_id="r1",
        step="login",
        index=0,
        attempt=0,
        store_url=store.url,
        code=ensure_package(store, module),
        inputs=(Input("token", (ref,)),),
        outputs=("size",),
    )
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.to_json())
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {
        **os.environ,
        "PYTHONPATH": path,
        "JUPYTER_FLOW_CACHE": str(tmp_path / "cache"),
        "JF_LIVE_TOKEN": VALUE,
    }
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_flow.task", f"@{spec_file}"],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    secret = VALUE.encode()
    assert secret not in done.stdout + done.stderr
    assert b"******** <- printed slowly" in done.stdout
    assert b"child: ********" in done.stdout and b"fd 2: ********" in done.stderr
    assert done.stdout.endswith(b"tail " + secret[:5])  # the held tail, given out at the end
