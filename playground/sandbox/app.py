"""The sandbox as one ASGI app, meant to be mounted at ``/sandbox``.

Routes (relative to the mount): ``/api/v1/...`` (DashScope native), ``/v1/...`` (gateway),
``/v1/files`` and ``/files/...`` (the file store), ``/oss`` (the SDK's temporary-upload
bucket), and, unless the config's ``docs`` is off (as when the playground's server mounts
it), ``/openapi.json`` and ``/docs``.

Around the routes sits one gatekeeper that gives every request an id (``X-Request-Id``, and
the DashScope bodies' ``request_id``), enforces body limits while bytes stream in (the JSON
limit, or ``max_upload_bytes`` on the upload routes; 413 either way), times out a body that
stops arriving (nothing for ``body_read_timeout_s``: 408 ``RequestTimeOut`` /
``request_timeout``, and the connection is closed), and starts the periodic clean-up (and the
resumption of restored tasks) on the serving loop, since mounted apps get no lifespan events
of their own.

Every refusal is rendered in the shape of the surface it was made on (errors.py); unknown
routes and methods get the same documented bodies, never the framework's defaults.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from playground.sandbox import dashscope_routes, errors, file_routes, gateway_routes
from playground.sandbox.config import SandboxConfig
from playground.sandbox.errors import ApiError, Surface
from playground.sandbox.runtime import Runtime, request_id

# Multipart framing around an uploaded file: boundaries, part headers and the policy fields.
_FORM_OVERHEAD = 64 * 1024
_DESCRIPTION = """\
An offline stand-in for the Wan 2.7 video APIs: DashScope's native contract under `api/v1`
and the guide page's gateway contract under `v1`, with real H.264 output. Send the header
`X-Sandbox-Scenario` (rate_limit, server_error, invalid_key, task_failed, slow,
wrong_endpoint, expired) to rehearse failures.
"""


def route_path(scope: Scope) -> str:
    """The path inside the sandbox, whatever it is mounted under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root):len(root) + 1] in ("", "/"):
        return path[len(root):] or "/"
    return path


def surface_of(path: str) -> Surface:
    if path.startswith(dashscope_routes.PREFIX + "/") or path == dashscope_routes.PREFIX:
        return "dashscope"
    if path == file_routes.OSS_PATH or path.startswith(file_routes.OSS_PATH + "/"):
        return "oss"
    return "gateway"


class _Gatekeeper:
    """Request ids, streaming body limits and timeouts, the clean-up loop (see the module docstring)."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = rid
        self.runtime.board.start()
        path = route_path(scope)
        config = self.runtime.config
        if path in (file_routes.UPLOAD_PATH, file_routes.OSS_PATH):
            limit, what = config.max_upload_bytes + _FORM_OVERHEAD, "upload"
        else:
            limit, what = config.json_limit(), "request body"

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("X-Request-Id", rid)
            await send(message)

        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = errors.render(errors.too_large(limit, what), surface_of(path), rid)
            await response(scope, receive, send_with_id)
            return
        timeout = config.body_read_timeout_s
        received = 0
        body_done = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                # Past the body only a disconnect can come, and a response may wait for it freely.
                return await receive()
            try:
                async with asyncio.timeout(timeout):  # per message: a steady upload may take long
                    message = await receive()
            except TimeoutError:
                raise errors.body_timeout(timeout, surface_of(path)) from None
            if message["type"] != "http.request":
                body_done = True
                return message
            received += len(message.get("body", b""))
            if received > limit:
                raise errors.too_large(limit, what)
            body_done = not message.get("more_body", False)
            return message

        await self.app(scope, limited_receive, send_with_id)


def create_sandbox(config: SandboxConfig) -> FastAPI:
    """The sandbox app; mount it at ``/sandbox`` (``app.mount("/sandbox", create_sandbox(c))``).

    ``app.state.runtime`` holds its state. Tasks stored by an earlier sandbox on the same data
    dir are read back now; call :func:`activate_sandbox` at start-up to resume the unfinished
    ones at once rather than on the first request, and await :func:`close_sandbox` at shutdown
    to stop its tasks and render processes (both done for you when it runs as the root app).
    """
    runtime = Runtime(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.board.start()
        yield
        await runtime.close()

    app = FastAPI(title="Wan 2.7 video sandbox", version="1", description=_DESCRIPTION,
                  openapi_url="/openapi.json" if config.docs else None, docs_url="/docs" if config.docs else None,
                  redoc_url=None, lifespan=lifespan)
    app.state.runtime = runtime
    app.include_router(dashscope_routes.router(runtime))
    app.include_router(gateway_routes.router(runtime))
    app.include_router(file_routes.router(runtime))
    app.add_middleware(_Gatekeeper, runtime=runtime)

    def answer(request: Request, error: ApiError) -> Response:
        return errors.render(error, surface_of(route_path(request.scope)), request_id(request))

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return answer(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        path = route_path(request.scope)
        if exc.status_code == 404:
            return answer(request, errors.no_route(request.method, path))
        if exc.status_code == 405:
            return answer(request, errors.wrong_method(request.method, path))
        code = "InvalidParameter" if exc.status_code < 500 else "InternalError"
        return answer(request, ApiError(exc.status_code, code, str(exc.detail), gateway_code="invalid_request"))

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or None
        return answer(request, errors.bad_parameter(f"{where}: {first.get('msg', 'invalid')}", where))

    async def on_crash(request: Request, exc: Exception) -> Response:
        # Only a bug gets here; say so in the documented shape rather than as plain text.
        return answer(request, ApiError(500, "InternalError", f"the sandbox failed: {exc.__class__.__name__}",
                                        gateway_code="internal_error"))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_crash)
    return app


def runtime_of(app: FastAPI) -> Runtime:
    runtime = app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


def activate_sandbox(app: FastAPI) -> None:
    """Resume the tasks a previous run left unfinished, and start the clean-up, right now.

    Call it from the parent app's start-up, on the serving loop; without it the sandbox's
    first request does the same (a mounted app gets no start-up event of its own).
    """
    runtime_of(app).board.start()


async def close_sandbox(app: FastAPI) -> None:
    """Stop a sandbox's tasks and render workers (for apps that mount it)."""
    await runtime_of(app).close()
