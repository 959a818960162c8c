"""Running the sandbox: alone (a small parent app that mounts it at ``/sandbox``), or in a thread.

The parent app gives the same URLs everywhere: ``http://H:P/sandbox/api/v1``,
``http://H:P/sandbox/v1``, ``http://H:P/sandbox/files/...``, plus ``/healthz``.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from playground.sandbox.app import activate_sandbox, close_sandbox, create_sandbox
from playground.sandbox.config import SandboxConfig

MOUNT = "/sandbox"


def standalone_app(config: SandboxConfig) -> FastAPI:
    """A parent app with the sandbox at ``/sandbox`` and a ``/healthz`` probe."""
    sandbox = create_sandbox(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        activate_sandbox(sandbox)  # tasks left unfinished by a previous run carry on unasked
        yield
        await close_sandbox(sandbox)

    parent = FastAPI(title="Wan 2.7 video sandbox", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @parent.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    mount(parent, sandbox)
    return parent


def mount(parent: Starlette, sandbox: ASGIApp) -> None:
    """Mount the sandbox at ``/sandbox`` so that every path under it reaches it.

    Starlette's mount pattern (``.*``) stops at a line break, so ``/sandbox/files/a/b/%0A``
    would miss the sandbox and get the parent's 404 (or the UI's page) instead of the
    sandbox's documented error body.
    """
    route = Mount(MOUNT, app=sandbox)
    route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    parent.router.routes.append(route)


@contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *,
                    startup_timeout_s: float = 15.0) -> Iterator[str]:
    """Serve an app with uvicorn in a background thread; yields its root URL.

    Port 0 picks a free port: the socket is bound here and handed to uvicorn, so the URL is
    known before the server starts and no other process can take the port in between.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio turns Nagle off only on sockets that do, and without that
    # every response waits ~40 ms for the peer's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the server on {host}:{bound_port} did not start")
        time.sleep(0.02)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    try:
        yield f"http://{shown}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
