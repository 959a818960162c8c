"""Helpers for the client tests: providers, fast polling, and misbehaving servers on loopback.

Mostly plain functions and context managers. Two fixtures are shared (the module is listed in
conftest's ``pytest_plugins``):

* ``no_backoff``: stamina's test mode, so retries happen at once (the attempt counts and the
  planned waits still come from the guidance table). A module opts in with
  ``pytestmark = pytest.mark.usefixtures("no_backoff")``.
* ``ledger``: a fresh :class:`Ledger` in the test's own temporary folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import stamina
from pydantic import SecretStr

from playground.client.api import RetryNote, VideoClient
from playground.client.ledger import Ledger
from playground.client.providers import ProviderConfig
from playground.client.runner import RunEvent, RunOptions
from playground.core.polling import Schedule
from playground.core.wire import WireFormat
from tests.fixtures_servers import asyncio_server, free_port, socket_server

# Polls every 50-200 ms, hints included, so a sandbox task is followed without long sleeps.
FAST = Schedule(ladder_s=(0.05, 0.05, 0.1), cap_s=0.2, hint_cap_s=0.2, min_s=0.05)
# Timeouts short enough that "no answer" is noticed quickly over loopback. Connecting gets
# longer: a loopback connect is refused or made at once, unless a busy machine delays it.
SHORT = httpx.Timeout(connect=5.0, read=0.5, write=1.0, pool=5.0)

T2V = {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "a red kite over a beach", "duration": 2,
                                                                    "resolution": "720P"}}


def new_key() -> SecretStr:
    return SecretStr(f"sk-test-{secrets.token_hex(8)}")


def sandbox_provider(base: str, wire: WireFormat = "dashscope", *, scenario: str | None = None,
                     key: SecretStr | None = None) -> ProviderConfig:
    """The sandbox at ``base`` (its /sandbox mount) in one wire format, with a fresh key."""
    return ProviderConfig(kind="sandbox", wire=wire, base_url=base, api_key=key or new_key(), scenario=scenario)


def options(*, timeout: httpx.Timeout | None = None, schedule: Schedule = FAST) -> RunOptions:
    """Run options that poll fast; with ``timeout``, clients use it instead of the defaults."""
    if timeout is None:
        return RunOptions(schedule=schedule)

    def factory(provider: ProviderConfig, on_retry: Callable[[RetryNote], None]) -> VideoClient:
        return VideoClient(provider, timeout=timeout, on_retry=on_retry)

    return RunOptions(schedule=schedule, client_factory=factory)


async def collect(stream: AsyncIterator[RunEvent]) -> list[RunEvent]:
    """Every event of a run."""
    return [event async for event in stream]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


@contextlib.contextmanager
def silent_server() -> Iterator[tuple[str, list[bytes]]]:
    """A server that accepts connections, reads what is sent, and never answers.

    Yields its URL and the list of request heads it received (one per request).
    """
    received: list[bytes] = []

    def read_only(conn: socket.socket) -> None:
        conn.settimeout(1.0)
        received.append(conn.recv(65536))

    with socket_server(read_only, close_after=False) as url:
        yield url, received


@contextlib.contextmanager
def lossy_proxy(upstream: str, *, drop: Callable[[bytes], bool]) -> Iterator[str]:
    """A TCP proxy to ``upstream`` that forwards a request but hangs up instead of answering
    when ``drop(request_head)`` says so: the request arrives, its answer is lost."""
    host, port = upstream.removeprefix("http://").split(":")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return
        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        head = await reader.read(65536)
        up_writer.write(head)
        await up_writer.drain()
        if drop(head):
            # The rest of the request (its body may come in a later packet) still goes up; the
            # upstream's answer is read, so the work is done, and never passed on.
            upward = asyncio.ensure_future(pipe(reader, up_writer))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(up_reader.read(65536), 10)
            upward.cancel()
            writer.close()
            up_writer.close()
            return

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    with asyncio_server(handle, name="lossy-proxy") as url:
        yield url


# -- shared fixtures --------------------------------------------------------------------------


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """Retries happen at once; the attempt counts still come from the guidance table."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """A fresh ledger in the test's own folder."""
    return Ledger(tmp_path / "ledger.db")


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_backoff: None) -> None:
    """For CLI tests: settings come from flags only (no PLAYGROUND_/DASHSCOPE_ variable of the
    machine leaks in), data goes to a temporary folder, the sandbox is quick, retries do not sleep."""
    for name in list(os.environ):
        if name.startswith(("PLAYGROUND_", "DASHSCOPE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PLAYGROUND_SANDBOX_DELAY_SCALE", "0.02")


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    """A text-to-video request file (:data:`T2V`)."""
    path = tmp_path / "t2v.json"
    path.write_text(json.dumps(T2V))
    return path
