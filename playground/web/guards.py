"""Guards in front of the whole server: security headers, body limits, slow bodies, login throttle.

They sit outside Gradio because Gradio itself has no request body limit for its API routes
(one 100 MB preview call grew the server by ~400 MB) and no throttle on its login form.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Gradio's page needs inline scripts and styles, so the policy restricts what does not break it:
# no framing (clickjacking), no plugins, no <base> rewriting, forms only to this origin.
UI_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": UI_CSP,
}


class SecurityHeaders:
    """Adds the headers above to every answer that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(send: Send, status: int, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class _BodyTooSlow(Exception):
    pass


@dataclass(frozen=True)
class BodyLimits:
    """How much a request body may carry, and how long each piece of it may take to arrive."""

    api_bytes: int  # Gradio's API calls: form values, pasted JSON
    upload_bytes: int  # Gradio's upload route: media files
    read_timeout_s: float


class BodyGuard:
    """Refuses oversized bodies (413) and bodies that trickle in too slowly (408).

    The sandbox, mounted at ``skip``, enforces its own documented limits and shapes.
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits, *, skip_prefixes: tuple[str, ...] = ("/sandbox",)) -> None:
        self.app = app
        self.limits = limits
        self.skip = skip_prefixes

    def _limit(self, path: str) -> int:
        if path.rstrip("/").endswith("/upload"):
            return self.limits.upload_bytes
        return self.limits.api_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self.skip):
            await self.app(scope, receive, send)
            return
        limit = self._limit(path)
        declared = dict(scope.get("headers", ())).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, f"request body: larger than {limit:,} bytes; send less")
            return
        received = 0
        started = False
        body_done = False

        async def guarded_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                # The body is in: all that can come now is the client going away, whenever it
                # does. A streamed answer (a run's live status over server-sent events) listens
                # for that for as long as the run lasts, so this wait has no time limit.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.limits.read_timeout_s)
            except TimeoutError:
                raise _BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _refuse(send, 413, f"request body: larger than {limit:,} bytes; send less")
        except _BodyTooSlow:
            if not started:
                await _refuse(send, 408, "request body: it arrived too slowly; send it again")


class LoginThrottle:
    """Slows and then refuses repeated failed logins from one client address.

    After ``free`` failures in ``window_s`` each further attempt from that address is refused
    with 429 and a Retry-After until the window has passed; failures before that are answered
    after a short delay that grows with each one. A success clears the address's count.
    """

    def __init__(self, app: ASGIApp, *, free: int = 5, window_s: float = 300.0, max_clients: int = 10_000) -> None:
        self.app = app
        self.free = free
        self.window_s = window_s
        self.max_clients = max_clients
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(client, []) if now - t < self.window_s]
        if kept:
            self._failures[client] = kept
            self._failures.move_to_end(client)
        else:
            self._failures.pop(client, None)
        return kept

    def _record(self, client: str, now: float) -> None:
        self._failures.setdefault(client, []).append(now)
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:  # bounded memory under a spray of addresses
            self._failures.popitem(last=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path", "").rstrip("/") != "/login":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        now = time.monotonic()
        recent = self._recent(client, now)
        if len(recent) >= self.free:
            wait = max(1, int(self.window_s - (now - recent[0])))
            await _refuse(send, 429, f"login: too many failed attempts; try again in {wait} s",
                          {"retry-after": str(wait)})
            return
        status = 0

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if status == 400:  # Gradio answers wrong credentials with 400
                    self._record(client, now)
                    await asyncio.sleep(min(2.0, 0.25 * len(self._recent(client, now))))
                elif status < 300:
                    self._failures.pop(client, None)
            await send(message)

        await self.app(scope, receive, watching_send)
