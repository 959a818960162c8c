"""Signed, expiring links to one run's video: ``GET /media/<token>/<name>``.

The UI puts these links in HTML it builds itself (Compare's synced videos), where Gradio's own
file serving cannot help. A token names a run id, never a path, and only the server can make
one; the file is found through the ledger, so nothing outside the runs' own results can ever be
served, and the link stops working when it expires.

A token may also name one of the run's "before" inputs (``role`` ``in<n>``: the n-th input of
:func:`playground.core.showcase_slides.inputs_of`), served only when the server itself holds it
(the resolver decides, from the run's own request), and a share id: such a link works only
while that share is live and names the run, so revoking a share stops its media at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from playground.core.signing import sign, verify

PURPOSE = "run-media"
PREFIX = "/media"
DEFAULT_TTL_S = 3600

Resolver = Callable[[str], Path | None]  # run id -> its video file, if it has one
Held = tuple[Path | bytes, str]  # an input's file (or decoded data: URI) and its checked media type
InputResolver = Callable[[str, int], Held | None]  # run id, input number -> what the server holds
ShareCheck = Callable[[str, str], bool]  # share id, run id -> the share is live and names the run
VIDEO = "video"
_SEP = "|"  # never in a run id, a share id or a role


def media_url(secret: bytes, run_id: str, *, ttl_s: int = DEFAULT_TTL_S, now: float | None = None,
              role: str = VIDEO, share_id: str | None = None, not_after: float | None = None) -> str:
    """A link to a run's video (or, with ``role`` ``in<n>``, one of its inputs) until ``ttl_s``
    from now and never past ``not_after`` (a share's expiry); ``share_id`` ties it to a share."""
    expires = int((now if now is not None else time.time()) + ttl_s)
    if not_after is not None:
        expires = min(expires, int(not_after))
    plain = role == VIDEO and share_id is None
    payload = run_id if plain else _SEP.join((run_id, role, share_id or ""))
    name = "video.mp4" if role == VIDEO else role
    return f"{PREFIX}/{sign(secret, PURPOSE, payload, expires_at=expires)}/{name}"


def input_role(number: int) -> str:
    return f"in{number}"


def _parse(payload: str) -> tuple[str, str, str | None] | None:
    if _SEP not in payload:
        return payload, VIDEO, None
    parts = payload.split(_SEP)
    if len(parts) != 3 or not parts[0]:
        return None
    return parts[0], parts[1], parts[2] or None


def _refused() -> Response:
    return PlainTextResponse("This link is not valid.", status_code=404)


def media_route(secret: bytes, resolve: Resolver, *, inputs: InputResolver | None = None,
                share_alive: ShareCheck | None = None) -> Route:
    async def serve(request: Request) -> Response:
        payload = verify(secret, PURPOSE, request.path_params["token"], now=time.time())
        parsed = _parse(payload) if payload else None
        if parsed is None:
            return _refused()
        run_id, role, share_id = parsed
        # A share's link is checked against the share on every request: revoked means gone.
        if share_id is not None and (share_alive is None or not share_alive(share_id, run_id)):
            return _refused()
        headers = {"x-content-type-options": "nosniff", "content-security-policy": "sandbox",
                   "cache-control": "private, max-age=600"}
        if role == VIDEO:
            path = resolve(run_id)
            if path is None or not path.is_file():
                return _refused()
            return FileResponse(path, media_type="video/mp4", headers=headers, content_disposition_type="inline")
        number = role.removeprefix("in")
        wanted = inputs is not None and role.startswith("in") and number.isdigit()
        held = inputs(run_id, int(number)) if inputs is not None and wanted else None
        if held is None:
            return _refused()
        content, media_type = held
        if isinstance(content, bytes):
            return Response(content, media_type=media_type, headers=headers)
        if not content.is_file():
            return _refused()
        return FileResponse(content, media_type=media_type, headers=headers, content_disposition_type="inline")

    return Route(PREFIX + "/{token}/{name}", serve, methods=["GET", "HEAD"])
