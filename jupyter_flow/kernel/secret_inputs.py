"""A cell run elsewhere (``%%step ... --on X``) ships references to secrets, never values.

The cell's inputs are the kernel's live values, stored as the one-step flow's parameters:
a token from ``secret("HF_TOKEN")`` would be written to the store in plain text and sent
to the cluster. An input that is a secret's value is replaced by its ``Secret`` reference
(the task reads the variable from its own environment, as an exported flow's task does);
an input built from one (``"Bearer " + token``) is refused, naming it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import ParameterError
from ..flow.secret_params import MIN_MASKED, Secret, revealed_secrets
from ..runtime.secret_values import holds_any


def _known(declared: Mapping[str, Any]) -> dict[str, set[str]]:
    """env -> the values this kernel knows it held: handed out by ``secret()`` in any cell,
    and now in the environment for those declared in ``%%params``."""
    known: dict[str, set[str]] = {}
    for env, value in revealed_secrets().items():
        known.setdefault(env, set()).add(value)
    for ref in declared.values():
        if isinstance(ref, Secret) and ref.env in os.environ:
            known.setdefault(ref.env, set()).add(os.environ[ref.env])
    return known


def _changed(step: str, name: str, env: str, how: str) -> ParameterError:
    return ParameterError(
        f"step {step!r} reads {name!r}, {how}, but its value in this kernel is no longer "
        f"${env}'s; nothing was submitted",
        hint=f"re-run the cell that reads it, or set {env} to the value the step should use: "
        "a cell run elsewhere reads the secret from its environment",
    )


def with_secret_refs(
    step: str, values: Mapping[str, Any], declared: Mapping[str, Any]
) -> dict[str, Any]:
    """The cell's inputs as they may be shipped: secrets as references; raises a located
    ``ParameterError`` for an input that holds a secret any other way, or that would not
    be the value the task reads (the variable changed since)."""
    known = _known(declared)
    env_of = {value: env for env, values in known.items() for value in values}
    texts = [v for v in env_of if len(v) >= MIN_MASKED]
    shipped = dict(values)
    for name, value in values.items():
        ref = declared.get(name)
        if isinstance(ref, Secret):
            if value != os.environ.get(ref.env):
                raise _changed(step, name, ref.env, f"declared secret({ref.env!r}) in %%params")
            shipped[name] = ref
        elif isinstance(value, str) and value in env_of:
            env = env_of[value]
            if value != os.environ.get(env):
                raise _changed(step, name, env, f"read with secret({env!r})")
            shipped[name] = Secret(env)
        elif texts and holds_any(value, texts):
            raise ParameterError(
                f"step {step!r} reads {name!r}, which holds the value of a secret: running "
                "the cell elsewhere would store it in plain text; nothing was submitted",
                hint="read the secret itself in the cell and build what needs it there "
                '(e.g. headers = {"Authorization": "Bearer " + token} inside the %%step cell)',
            )
    return shipped
