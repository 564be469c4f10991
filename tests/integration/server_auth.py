"""What the server tests share to check who may call an endpoint."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from jupyter_server.auth.authorizer import Authorizer


async def login_cookie(jp_fetch: Any) -> str:
    """A browser-like session: the cookie set by a token-authenticated request."""
    response = await jp_fetch("jupyter-flow", "backends")
    cookies = SimpleCookie()
    for header in response.headers.get_list("Set-Cookie"):
        cookies.load(header)
    return "; ".join(f"{k}={v.value}" for k, v in cookies.items())


class ReadOnlyAuthorizer(Authorizer):
    """A deployment where users may read but not write or execute anything."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action == "read"
