"""What a "start a run" request may ask for, checked before anything starts.

Pure functions over the request body, the flow's declared parameters and the chosen
backend's description, so a run the server would start is one that can start: a value of
the wrong type, a secret given as a parameter, or a backend that cannot run here is a 400
naming what is wrong and what to do, never a run that fails in its first second.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_flow.errors import ParameterError
from jupyter_flow.flow.secret_params import Secret
from jupyter_flow.flow.spec import Parameter
from jupyter_flow.runtime.executors.base import BackendInfo

from .errors import BadRequest

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
EXAMPLES = {
    "int": "42",
    "float": "0.5",
    "bool": "true or false",
    "list": "[1, 2]",
    "dict": '{"a": 1}',
}


@dataclass(frozen=True)
class RunRequest:
    """A checked request: parameter values as the CLI takes them (text), and the secret
    values for the child's environment (variable -> value), never for its argv."""

    params: dict[str, str]
    secret_env: dict[str, str]


def parameters_shape(value: Any) -> dict[str, str]:
    """``parameters``: name -> a JSON scalar, as text (the CLI's ``--param`` form)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("'parameters' must be a JSON object of name -> value")
    params: dict[str, str] = {}
    for name, item in value.items():
        if not re.fullmatch(NAME, str(name)):
            raise BadRequest(f"{name!r} is not a parameter name")
        if isinstance(item, dict | list):
            raise BadRequest(
                f"parameter {name!r} must be a string, number or boolean",
                hint='send a list or dict parameter as its JSON text, e.g. "[1, 2]"',
            )
        if isinstance(item, bool):
            params[str(name)] = "true" if item else "false"
        else:
            params[str(name)] = "" if item is None else str(item)
    return params


def secrets_shape(value: Any) -> dict[str, str]:
    """``secrets``: name -> the value as a string; an empty value means "use the server's
    environment" and is dropped."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest("'secrets' must be a JSON object of secret parameter name -> string")
    return {str(k): v for k, v in value.items() if v != ""}


def check_backend(info: BackendInfo) -> None:
    if not info.usable:
        raise BadRequest(
            f"backend {info.name!r} cannot run here: {info.reason}",
            hint=f"{info.hint}, then restart the Jupyter server; or choose another backend"
            if info.hint
            else "choose another backend",
        )


def check(
    declared: tuple[tuple[str, Any], ...],
    params: Mapping[str, str],
    secrets: Mapping[str, str],
    backend: BackendInfo,
    environ: Mapping[str, str],
) -> RunRequest:
    """Every value against the flow's declared parameters (their defaults fix the type)."""
    defaults = dict(declared)
    known = ", ".join(defaults) or "none"
    for name, text in params.items():
        if name not in defaults:
            raise BadRequest(f"unknown parameter {name!r}", hint=f"this flow's parameters: {known}")
        default = defaults[name]
        if isinstance(default, Secret):
            raise BadRequest(
                f"parameter {name!r} is a secret (it reads ${default.env}): its value is never "
                "sent as a parameter, where it would be stored and shown by ps",
                hint=f"send it in 'secrets' ({{\"{name}\": ...}}), or set {default.env} where "
                "the Jupyter server starts",
            )
        try:
            Parameter(name, default).convert(text)
        except ParameterError:
            kind = Parameter(name, default).type_name
            raise BadRequest(
                f"parameter {name!r} expects a {kind} (its default is {default!r}), got {text!r}",
                hint=f"enter e.g. {EXAMPLES.get(kind, repr(default))}, or leave the default",
            ) from None
    secret_env: dict[str, str] = {}
    for name, value in secrets.items():
        ref = defaults.get(name)
        if not isinstance(ref, Secret):
            what = "not a parameter of this flow" if name not in defaults else "not a secret"
            raise BadRequest(
                f"{name!r} in 'secrets' is {what}",
                hint=f"this flow's parameters: {known}; send plain values in 'parameters'",
            )
        if "secret-env" not in backend.capabilities:
            raise BadRequest(
                f"secret parameter {name!r}: a value given here does not reach tasks on "
                f"{backend.name!r} (they do not inherit this server's environment)",
                hint=f"leave it empty and give the tasks ${ref.env} through the backend's "
                f"secrets setting ([{backend.name}] secrets)",
            )
        secret_env[ref.env] = value
    for name, default in declared:
        if (
            isinstance(default, Secret)
            and "secret-env" in backend.capabilities
            and default.env not in secret_env
            and default.env not in environ
        ):
            raise BadRequest(
                f"secret parameter {name!r} reads ${default.env}, which is not set in the "
                "Jupyter server's environment",
                hint=f"enter its value in the Run dialog, or set {default.env} where the "
                "server starts",
            )
    return RunRequest(dict(params), secret_env)
