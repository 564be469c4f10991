"""A systemd unit that runs ``jupyter flow scheduler`` as a service (user or system).

``KillMode=process`` matters: on stop or restart systemd signals only the scheduler, so
runs it started keep going and are picked up again by the next scheduler.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def systemd_unit(root: str, workdir: str | None = None, extra_args: tuple[str, ...] = ()) -> str:
    command = [sys.executable, "-m", "jupyter_flow", "scheduler", "--root", root, *extra_args]
    return "\n".join(
        [
            "# jupyter_flow scheduler: save as "
            "~/.config/systemd/user/jupyter-flow-scheduler.service",
            "# then: systemctl --user daemon-reload && systemctl --user enable --now "
            "jupyter-flow-scheduler",
            "# (and `loginctl enable-linger $USER` so it runs while you are logged out)",
            "[Unit]",
            "Description=jupyter_flow scheduler (local scheduled flows)",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=simple",
            f"WorkingDirectory={workdir or Path.cwd()}",
            f"Environment=JUPYTER_FLOW_ROOT={root}",
            f"ExecStart={shlex.join(command)}",
            "KillSignal=SIGTERM",
            "KillMode=process",
            "Restart=on-failure",
            "RestartSec=5",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )
