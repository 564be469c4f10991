"""``python -m jupyter_flow.task SPEC``: run one task attempt in a container.

SPEC is ``TaskSpec.to_json()``, ``@file`` holding it, ``-`` for stdin, or omitted to read
``$JUPYTER_FLOW_TASK_SPEC``. Exit code 0: the step succeeded; 1: the step failed; 2: the
task could not start. The logic is in ``runtime/bootstrap.py``.
"""

from __future__ import annotations

import sys


def main() -> None:
    from .runtime.bootstrap import main as bootstrap

    sys.exit(bootstrap(sys.argv[1:]))


if __name__ == "__main__":
    main()
