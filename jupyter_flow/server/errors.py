"""HTTP mapping of our error family, in one place.

``json_errors`` wraps a handler method: a :class:`~jupyter_flow.errors.FlowError` becomes a
4xx JSON answer carrying the located message (never a 500 with a traceback). Anything else
escaping is our bug and keeps jupyter_server's default handling.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from jupyter_flow.errors import (
    ConfigError,
    ExportRefused,
    FlowDefinitionError,
    FlowError,
    NotebookError,
    ParameterError,
    RunNotFound,
)


class BadRequest(FlowError):
    """The request body or query is not what the endpoint expects."""


class TooLarge(BadRequest):
    """A request body over the server's limit (``JUPYTER_FLOW_MAX_BODY_MB``)."""


class PathRefused(FlowError):
    """A path points outside the server root (``..``, absolute, or a symlink out)."""


class NotFound(FlowError):
    """A notebook or file the request names does not exist."""


class Conflict(FlowError):
    """What the request would change is not in a state it can change (a run that ended)."""


# Most specific first: the first class in the error's MRO found here wins.
STATUS: dict[type[FlowError], int] = {
    PathRefused: 403,
    NotFound: 404,
    RunNotFound: 404,
    Conflict: 409,
    ExportRefused: 409,
    NotebookError: 422,
    FlowDefinitionError: 422,
    ParameterError: 400,
    ConfigError: 400,
    TooLarge: 413,
    BadRequest: 400,
    FlowError: 400,
}


def status_for(err: FlowError) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(err: FlowError) -> dict[str, Any]:
    body = dict(err.to_json())
    problems = getattr(err, "problems", None)
    if isinstance(problems, list) and problems:
        body["problems"] = [p.to_json() if isinstance(p, FlowError) else p for p in problems]
    else:
        body["problems"] = [err.to_json()]
    return body


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def json_errors(method: F) -> F:
    """Answer a FlowError raised by ``method`` with its status and located JSON body."""

    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except FlowError as err:
            self.set_status(status_for(err))
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(error_body(err)))
            return None

    return wrapper  # type: ignore[return-value]
