"""The base handler and the one decorator every endpoint wears.

``@endpoint(resource)`` = authenticated (tornado, 403 for API requests without a user) +
authorized the jupyter_server way (the server's ``Authorizer`` decides ``action`` on
``resource``) + :func:`~jupyter_flow.server.errors.json_errors`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from . import paths
from .errors import BadRequest, TooLarge, json_errors
from .launcher import Launcher

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

LAUNCHER_KEY = "jupyter_flow_launcher"
MB = 1 << 20
MAX_BODY_ENV = "JUPYTER_FLOW_MAX_BODY_MB"
MAX_BODY_MB = 64  # a notebook with plots is a few MB; more is a mistake or an attack


def max_body_bytes() -> int:
    """The largest request body read (``JUPYTER_FLOW_MAX_BODY_MB``, default 64)."""
    try:
        return int(float(os.environ.get(MAX_BODY_ENV, MAX_BODY_MB)) * MB)
    except ValueError:
        return MAX_BODY_MB * MB


def endpoint(resource: str, action: str | None = None) -> Callable[[F], F]:
    """Authenticate, authorize ``action`` (default: from the HTTP method) on ``resource``,
    and answer user errors as located 4xx JSON."""

    def wrap(method: F) -> F:
        inner = json_errors(method)
        guard: Any = authorized(action, resource) if action else authorized(resource=resource)
        return cast("F", web.authenticated(guard(inner)))

    return wrap


class FlowHandler(APIHandler):
    """JSON in, JSON out; paths confined to the server root."""

    @property
    def root(self) -> Path:
        root = self.settings.get("server_root_dir") or self.contents_manager.root_dir
        return Path(root).expanduser().resolve()

    @property
    def launcher(self) -> Launcher:
        launcher: Launcher = self.settings[LAUNCHER_KEY]
        return launcher

    def body(self) -> dict[str, Any]:
        raw = self.request.body or b""
        limit = max_body_bytes()
        if len(raw) > limit:
            raise TooLarge(
                f"the request body is {len(raw) / MB:.1f} MB, over this server's limit of "
                f"{limit / MB:.0f} MB",
                hint=f"raise {MAX_BODY_ENV} where the server starts, or send less",
            )
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as err:
            raise BadRequest(
                f"the request body is not valid JSON: {err}", hint="send a JSON object"
            ) from None
        except RecursionError:
            raise BadRequest(
                "the request body nests too deeply to be read", hint="send a flatter JSON object"
            ) from None
        if not isinstance(data, dict):
            raise BadRequest("the request body must be a JSON object")
        return data

    def notebook(self, api_path: object) -> Path:
        return paths.notebook(self.root, api_path)

    def relative(self, path: str | Path) -> str:
        return paths.relative(self.root, path)

    def int_argument(self, name: str, default: int | None) -> int | None:
        value = self.get_query_argument(name, None)
        if value in (None, ""):
            return default
        try:
            number = int(str(value))
        except ValueError:
            raise BadRequest(f"{name!r} must be an integer, not {value!r}") from None
        if number < 0:
            raise BadRequest(f"{name!r} must not be negative")
        return number

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data, default=str))


async def in_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run blocking work (file IO, SQLite, imports) off the event loop."""
    return await asyncio.to_thread(func, *args, **kwargs)
