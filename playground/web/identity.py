"""Give every browser a lasting, server-signed id in an HttpOnly cookie.

The UI scopes History, sandbox keys and media links to this id. Because the cookie is signed
with the server's secret and is invisible to scripts, a page (or an API caller) cannot claim
another browser's id: a forged or tampered cookie is replaced by a fresh one.
"""

from __future__ import annotations

import time
import uuid
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from playground.core.signing import BROWSER_COOKIE, BROWSER_COOKIE_MAX_AGE_S, browser_id, browser_token


def cookie_value(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is the caller's problem, not a 500
                return None
            if name in jar:
                return jar[name].value
    return None


class BrowserIdentity:
    """Sets the signed browser cookie on responses to requests that do not carry a valid one."""

    def __init__(self, app: ASGIApp, secret: bytes, *, skip_prefixes: tuple[str, ...] = ("/sandbox",)) -> None:
        self.app = app
        self.secret = secret
        self.skip = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self.skip):
            await self.app(scope, receive, send)
            return
        if browser_id(self.secret, cookie_value(scope, BROWSER_COOKIE), now=time.time()) is not None:
            await self.app(scope, receive, send)
            return
        token = browser_token(self.secret, uuid.uuid4().hex)
        secure = scope.get("scheme") == "https"
        cookie = (f"{BROWSER_COOKIE}={token}; Path=/; Max-Age={BROWSER_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax"
                  + ("; Secure" if secure else ""))

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)
