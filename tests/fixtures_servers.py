"""Small servers on loopback, each run in a thread for the length of a ``with`` block.

The tests' stand-ins (a provider that misbehaves, a proxy, a listener that records what
reaches it) differ only in how they answer; starting, addressing and stopping them is here,
once:

* :func:`http_server`: a ``ThreadingHTTPServer`` for a ``BaseHTTPRequestHandler`` class.
* :func:`asyncio_server`: ``asyncio.start_server`` on its own event loop, for a stream handler
  that works at the byte level (drops a connection half way, trickles a body).
* :func:`socket_server`: a raw accept loop; each accepted connection is given to a function.

Each yields the server's root URL, ``http://127.0.0.1:<port>``, on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler], port: int = 0) -> Iterator[str]:
    """Serve ``handler`` from a thread; its root URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, name=f"http-{handler.__name__}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def asyncio_server(handle: StreamHandler, name: str = "asyncio-server") -> Iterator[str]:
    """Serve a stream handler from its own event loop in a thread; its root URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=name, daemon=True)
    thread.start()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(handle, "127.0.0.1", 0)

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(5)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        async def stop() -> None:
            server.close()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


@contextlib.contextmanager
def socket_server(serve: Callable[[socket.socket], None], *, close_after: bool = True) -> Iterator[str]:
    """Accept connections in a thread and hand each to ``serve``; its root URL.

    With ``close_after`` (the default) a connection is closed once ``serve`` returns; without
    it, connections are held open until the server stops (a server that never answers).
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not close_after:
                held.append(conn)
            with contextlib.suppress(OSError, ValueError):
                serve(conn)
            if close_after:
                conn.close()

    thread = threading.Thread(target=loop, name="socket-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()
