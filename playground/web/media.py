"""Signed, expiring links to one run's video: ``GET /media/<token>/<name>``.

The UI puts these links in HTML it builds itself (Compare's synced videos), where Gradio's own
file serving cannot help. A token names a run id, never a path, and only the server can make
one; the file is found through the ledger, so nothing outside the runs' own results can ever be
served, and the link stops working when it expires.
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


def media_url(secret: bytes, run_id: str, *, ttl_s: int = DEFAULT_TTL_S, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + ttl_s)
    return f"{PREFIX}/{sign(secret, PURPOSE, run_id, expires_at=expires)}/video.mp4"


def media_route(secret: bytes, resolve: Resolver) -> Route:
    async def serve(request: Request) -> Response:
        run_id = verify(secret, PURPOSE, request.path_params["token"], now=time.time())
        path = resolve(run_id) if run_id else None
        if path is None or not path.is_file():
            return PlainTextResponse("This link is not valid.", status_code=404)
        headers = {"x-content-type-options": "nosniff", "content-security-policy": "sandbox",
                   "cache-control": "private, max-age=600"}
        return FileResponse(path, media_type="video/mp4", headers=headers, content_disposition_type="inline")

    return Route(PREFIX + "/{token}/{name}", serve, methods=["GET", "HEAD"])
