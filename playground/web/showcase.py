"""The presenting pages: ``/showcase`` (this browser's starred runs), ``/share/<token>`` (exactly
the runs a share link names, read only) and ``/showcase/deck`` (the offline deck of this browser's runs).

Who sees what:

* ``/showcase`` and ``/showcase/deck`` show the runs of the browser whose signed cookie comes
  with the request (playground/web/identity.py) and nobody else's; with a login set
  (``PLAYGROUND_AUTH``) they need the same login as the UI.
* ``/share/<token>`` needs no login: the signed link is the permission, and only for the runs its
  share names, while the share exists, is not revoked and has not expired. Any link that fails
  any of these (tampered, expired, revoked, unknown, sharing off) gets the same bytes and status.

The pages are built by the one renderer (playground/core/showcase_page.py) and sent with their
own Content-Security-Policy: inline style and script only with this answer's nonce, media only
from this origin, nothing else. Everything the routes need from the ledger, the store and the
login comes in as :class:`ShowcaseHooks` (this package imports only the core).
"""

from __future__ import annotations

import asyncio
import html
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from playground.core.showcase_page import render
from playground.core.signing import BROWSER_COOKIE, browser_id

Slides = list[dict[str, Any]]
NOT_VALID = "This link is not valid."
_REFUSAL = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link not valid</title></head>'
    f"<body><p>{NOT_VALID}</p></body></html>"
)
_PAGE_HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer", "x-robots-tag": "noindex"}


@dataclass(frozen=True)
class ShowcaseHooks:
    """What the pages need from the rest of the server (built in playground/showcase_sources.py)."""

    secret: bytes
    sharing: Callable[[], bool]  # PLAYGROUND_SHARING
    logged_in: Callable[[Request], bool]  # True when no login is set or the request carries the UI's
    starred_slides: Callable[[str], Slides]  # owner -> its starred runs as slides (owner media links)
    shared_slides: Callable[[str], Slides | None]  # token -> the live share's slides, or None
    deck: Callable[[str, Sequence[str]], Path]  # owner, run ids (empty = the starred) -> zip


def page_csp(nonce: str) -> str:
    """The presenting pages' policy: their own inline code only, media from this origin only."""
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


def refusal() -> Response:
    """The one answer for every link that does not work: no detail, always the same."""
    return HTMLResponse(_REFUSAL, status_code=404, headers={**_PAGE_HEADERS, "content-security-policy":
                                                            "default-src 'none'; frame-ancestors 'none'"})


def _login_needed() -> Response:
    body = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in</title></head>'
            '<body><p>Log in to the playground first: <a href="/">open the playground</a>, '
            "then come back to this page.</p></body></html>")
    return HTMLResponse(body, status_code=401, headers=_PAGE_HEADERS)


def _page(slides: Slides, title: str, deck_url: str | None = None) -> Response:
    nonce = secrets.token_urlsafe(16)
    text = render(slides, title=title, nonce=nonce, deck_url=deck_url)
    return HTMLResponse(text, headers={**_PAGE_HEADERS, "content-security-policy": page_csp(nonce)})


def _owner(request: Request, secret: bytes) -> str | None:
    return browser_id(secret, request.cookies.get(BROWSER_COOKIE), now=time.time())


def showcase_routes(hooks: ShowcaseHooks) -> list[Route]:
    """The three routes; add them before the UI's catch-all mount."""

    async def showcase(request: Request) -> Response:
        if not hooks.logged_in(request):
            return _login_needed()
        owner = _owner(request, hooks.secret)
        slides = await asyncio.to_thread(hooks.starred_slides, owner) if owner else []
        return _page(slides, "Showcase", "/showcase/deck" if slides else None)

    async def shared(request: Request) -> Response:
        if not hooks.sharing():
            return refusal()
        slides = await asyncio.to_thread(hooks.shared_slides, request.path_params["token"])
        return _page(slides, "Shared runs") if slides else refusal()

    async def deck(request: Request) -> Response:
        if not hooks.logged_in(request):
            return _login_needed()
        owner = _owner(request, hooks.secret)
        if owner is None:
            return HTMLResponse("<p>No runs to put in a deck: star a run first.</p>", status_code=404,
                                headers=_PAGE_HEADERS)
        try:
            path = await asyncio.to_thread(hooks.deck, owner, request.query_params.getlist("run")[:200])
        except ValueError as exc:
            return HTMLResponse(f"<p>{html.escape(str(exc))}</p>", status_code=404, headers=_PAGE_HEADERS)
        return FileResponse(path, media_type="application/zip", filename="showcase-deck.zip",
                            headers={"cache-control": "no-store"}, background=BackgroundTask(path.unlink, True))

    return [
        Route("/showcase", showcase, methods=["GET", "HEAD"]),
        Route("/showcase/deck", deck, methods=["GET"]),
        Route("/share/{token}", shared, methods=["GET", "HEAD"]),
    ]
