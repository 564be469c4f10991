"""Secret parameters: a value a task reads from its environment, never from the store.

(Not named secrets.py: the code package leaves out files named like credentials.)

A parameter declared ``Secret("HF_TOKEN")`` is recorded as that reference only: the run
record, the index and the ``_parameters`` task hold the variable's name, not its value.
Each task reads the value from its own environment, which the executor fills through its
own secret mechanism (the driver's environment locally, a Kubernetes Secret, Batch
``secrets``). It cannot be given on a command line, where ``ps`` would show it to every
user of the machine. In a notebook, ``secret("HF_TOKEN")`` in the parameters cell gives
the value to the kernel and exports as ``Secret("HF_TOKEN")``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError, StepLocation

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REDACTED = "********"
# The names a notebook or module imports from jupyter_flow to declare parameters and flows.
API_NAMES = frozenset({"secret", "Secret", "Flow"})
# Values shorter than this are not masked in logs: masking "1" would garble every line.
MIN_MASKED = 4

WHERE_FROM = (
    "locally, export it in the shell (or kernel) that starts the run; on Kubernetes, put it "
    "in a Secret named in [kubernetes] secrets; on AWS Batch, map it in [batch] secrets to a "
    "Secrets Manager ARN"
)


@dataclass(frozen=True)
class Secret:
    """The default of a secret parameter: the environment variable that holds its value."""

    env: str

    def __post_init__(self) -> None:
        if not isinstance(self.env, str) or not _ENV_NAME.match(self.env):
            raise ParameterError(
                f"Secret({self.env!r}): an environment variable name is needed",
                hint='e.g. Secret("HF_TOKEN")',
            )

    def __repr__(self) -> str:
        return f"Secret({self.env!r})"

    def value(self, name: str, location: StepLocation | None = None) -> str:
        """The value in this process's environment; a located error when it is not set."""
        found = os.environ.get(self.env)
        if found is None:
            raise ParameterError(
                f"secret parameter {name!r} reads ${self.env}, which is not set here",
                location=location,
                hint=f"set {self.env} where the task runs: {WHERE_FROM}",
            )
        return found


def secret(env: str) -> str:
    """The value of ``$env`` for a notebook's parameters cell; exports as ``Secret(env)``.

    When the kernel lacks the variable and can ask (a notebook's front end), it asks with a
    hidden prompt and keeps the answer in the kernel's environment, so runs started from
    the kernel inherit it; nothing is written into the notebook.
    """
    ref = Secret(env)
    if env in os.environ:
        return _revealed(env, os.environ[env])
    answer = _ask(env)
    if answer is None:
        return ref.value(env)  # raises, naming the variable
    os.environ[env] = answer
    return _revealed(env, answer)


_REVEALED: dict[str, str] = {}  # env -> value handed out by secret() in this process


def _revealed(env: str, value: str) -> str:
    _REVEALED[env] = value
    return value


def revealed_secrets() -> dict[str, str]:
    """What ``secret()`` handed out in this kernel (env -> value), whichever cell called it
    (``%%params``, a cell tagged ``parameters``): a cell run elsewhere ships references."""
    return dict(_REVEALED)


def _ask(env: str) -> str | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None or not getattr(kernel, "_allow_stdin", False):
        return None
    import getpass

    try:
        return getpass.getpass(f"{env} (kept in this kernel's environment only): ")
    except Exception:  # the front end cannot answer input requests
        return None


def masked_values(values: Iterable[Any]) -> tuple[bytes, ...]:
    """The byte strings to mask in a task's logs, longest first (a value containing
    another is masked whole)."""
    found = {v.encode() for v in values if isinstance(v, str) and len(v) >= MIN_MASKED}
    return tuple(sorted(found, key=len, reverse=True))


def mask(data: bytes, values: tuple[bytes, ...]) -> bytes:
    for value in values:
        if value in data:
            data = data.replace(value, REDACTED.encode())
    return data


def mask_text(text: str, values: tuple[bytes, ...]) -> str:
    for value in values:
        text = text.replace(value.decode(), REDACTED)
    return text
