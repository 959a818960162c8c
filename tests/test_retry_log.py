"""Retries are shown while they happen, also those of a request that finally fails.

A provider on loopback answers a run's status reads (or its result download) with errors. Its
last allowed attempt is held open until the test lets it go, so "live" is checked, not
assumed: both retries of the status read must have reached the run's events (and the UI's
retry log) while that request is still in flight, before it fails for good.

The unreadable answer (``unexpected_response``) names the request it answered, create or
status, in the message and in the guidance's "what the playground did" line.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from playground.client.api import VideoClient
from playground.client.board import RunBoard
from playground.client.errors import ApiRefused, OutcomeUnknown
from playground.client.ledger import Ledger
from playground.client.providers import ProviderConfig
from playground.client.runner import RunEvent, run
from playground.core.guidance import load_guidance
from playground.media.samples import make_video
from playground.ui import runs as ui_runs
from tests.fixtures_client import T2V, collect, options
from tests.fixtures_servers import asyncio_server

pytestmark = pytest.mark.usefixtures("no_backoff")

SERVER_ERROR = json.dumps({"code": "InternalError", "message": "Internal server error", "request_id": "r-500"})
HOLD_LIMIT_S = 20.0


@dataclass
class FlakyProvider:
    """A DashScope-shaped provider: creates work; status reads (or downloads) fail as told."""

    url: str = ""
    fail: str = "status"  # "status" or "result"
    hold_at: int = 0  # the failing request (1-based) that is held open until ``release`` is set
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    answered: dict[str, int] = field(default_factory=dict)
    video: bytes = b""

    def provider(self) -> ProviderConfig:
        return ProviderConfig(kind="dashscope", wire="dashscope", base_url=f"{self.url}/api/v1",
                              api_key=SecretStr("sk-test-flaky-provider"))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            method, path, _ = head.split("\r\n", 1)[0].split(" ", 2)
            length = next((int(v) for k, _, v in (ln.partition(":") for ln in head.split("\r\n")[1:])
                           if k.strip().lower() == "content-length"), 0)
            await reader.readexactly(length)
            status, body, kind = await self.answer(method, path)
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                         "Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, path: str) -> tuple[int, bytes, str]:
        if method == "POST":
            task_id = str(uuid.uuid4())
            return 200, json.dumps({"request_id": "r-create", "output": {"task_id": task_id,
                                                                          "task_status": "PENDING"}}).encode(), \
                "application/json"
        kind = "result" if path.startswith("/results/") else "status"
        count = self.answered[kind] = self.answered.get(kind, 0) + 1
        if kind == self.fail:
            if count == self.hold_at:
                self.holding.set()
                await asyncio.to_thread(self.release.wait, HOLD_LIMIT_S)
            return 500, SERVER_ERROR.encode(), "application/json"
        if kind == "result":
            return 200, self.video, "video/mp4"
        task_id = path.rsplit("/", 1)[-1]
        output = {"task_id": task_id, "task_status": "SUCCEEDED", "video_url": f"{self.url}/results/{task_id}.mp4"}
        return 200, json.dumps({"request_id": "r-status", "output": output}).encode(), "application/json"


@pytest.fixture
def flaky() -> Iterator[FlakyProvider]:
    box = FlakyProvider()
    with asyncio_server(box.handle, name="flaky-provider") as url:
        box.url = url
        try:
            yield box
        finally:
            box.release.set()


async def until(check: Any, what: str, timeout_s: float = 10.0) -> None:
    """Poll a condition from inside the event loop (the run goes on meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.01)


async def test_retries_of_a_status_read_that_fails_show_while_it_is_in_flight(
    flaky: FlakyProvider, ledger: Ledger, tmp_path: Path
) -> None:
    policy = load_guidance().entry("server_error").retry
    flaky.hold_at = policy.max_attempts  # the last attempt waits for the test
    events: list[RunEvent] = []
    async for event in run(T2V, flaky.provider(), ledger, tmp_path, deadline_s=60, options=options()):
        events.append(event)
        retries = [e for e in events if e.retry is not None]
        if len(retries) == policy.max_attempts - 1 and not flaky.release.is_set():
            # Every retry is shown, and the request they belong to has not answered yet.
            await until(flaky.holding.is_set, "the last attempt to reach the provider")
            assert not event.terminal
            flaky.release.set()
    assert flaky.release.is_set(), "the retries were not shown while the status read was in flight"
    last = events[-1]
    assert (last.state, last.guidance_id) == ("stalled", "server_error"), last.message
    notes = [e.retry for e in events if e.retry is not None]
    assert [(n.op, n.attempt, n.guidance_id) for n in notes] == [
        ("read", attempt, "server_error") for attempt in range(1, policy.max_attempts)]
    assert isinstance(last.error, ApiRefused) and last.error.attempts == policy.max_attempts
    # The ledger keeps them too, so History shows the same retries after the fact.
    logged = [e.detail or "" for e in ledger.events(last.run_id) if "retrying in" in (e.detail or "")]
    assert len(logged) == policy.max_attempts - 1


async def test_the_ui_retry_log_fills_while_the_failing_read_retries(
    flaky: FlakyProvider, ledger: Ledger, tmp_path: Path
) -> None:
    """Through the run board and the UI's view of it: the retry log shows each retry live."""
    policy = load_guidance().entry("server_error").retry
    flaky.hold_at = policy.max_attempts
    board = RunBoard()
    # What of the server's services the run view reads (a stand-in, not the Gradio app).
    services = SimpleNamespace(board=board, data_dir=tmp_path, handout=lambda path: None, ledger=lambda: ledger,
                               settings=SimpleNamespace(sandbox_delay_scale=1.0))
    stream = run(T2V, flaky.provider(), ledger, tmp_path, deadline_s=60, options=options())
    run_id = await board.start(stream, ledger=ledger)
    views = []
    async for view in ui_runs.watch(services, run_id):  # type: ignore[arg-type]
        views.append(view)
        if len(view.retries) == policy.max_attempts - 1 and not flaky.release.is_set():
            await until(flaky.holding.is_set, "the last attempt to reach the provider")
            assert view.state not in ("stalled", "refused")
            assert view.guidance is not None and view.guidance.get("transient"), "a retry card while it retries"
            flaky.release.set()
    assert flaky.release.is_set(), "the UI's retry log stayed empty while the read was retried"
    last = views[-1]
    assert last.state == "stalled"
    assert len(last.retries) == policy.max_attempts - 1
    assert all(" of read: " in line for line in last.retries), last.retries


async def test_retries_of_a_download_that_fails_are_shown(
    flaky: FlakyProvider, ledger: Ledger, tmp_path: Path
) -> None:
    """A result download that fails for good: each of its retries is an event before the end."""
    flaky.fail = "result"
    flaky.video = make_video(tmp_path / "v.mp4", 320, 240, 1.0).read_bytes()
    events = await collect(run(T2V, flaky.provider(), ledger, tmp_path / "out", deadline_s=60, options=options()))
    last = events[-1]
    assert last.state == "download_failed", last.message
    downloads = [e.retry for e in events[:-1] if e.retry is not None and e.retry.op == "download"]
    policy = load_guidance().entry("download_failed").retry
    assert [n.attempt for n in downloads] == list(range(1, policy.max_attempts))
    assert flaky.answered["result"] == policy.max_attempts


# -- an unreadable answer names the request it answered --------------------------------------


def _client(answer: httpx.Response) -> VideoClient:
    provider = ProviderConfig(kind="dashscope", wire="dashscope", base_url="https://api.example.test/api/v1",
                              api_key=SecretStr("sk-test-unreadable-0001"))
    return VideoClient(provider, transport=httpx.MockTransport(lambda request: answer))


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(200, text="OK"), httpx.Response(200, json={"request_id": "r", "output": {"nothing": 1}})],
    ids=["not JSON", "not a task status"],
)
async def test_an_unreadable_status_answer_says_it_was_the_status_read(answer: httpx.Response) -> None:
    async with _client(answer) as client:
        with pytest.raises(ApiRefused) as caught:
            await client.status("task-1")
    error = caught.value
    assert error.guidance.id == "unexpected_response"
    assert "the status answer" in error.message, error.message
    assert "Stopped at the status request" in error.did()
    assert any("Stopped at the status request" in line for line in error.guidance_lines())


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(200, text="<html>gateway</html>"), httpx.Response(200, json={"request_id": "r", "output": {}})],
    ids=["not JSON", "no task id"],
)
async def test_an_unreadable_create_answer_says_it_was_the_create(answer: httpx.Response) -> None:
    async with _client(answer) as client:
        with pytest.raises(OutcomeUnknown) as caught:
            await client.submit({"model": "wan2.7-t2v", "input": {"prompt": "p"}})
    error = caught.value
    assert "create" in error.message, error.message
    if error.guidance.id == "unexpected_response":
        assert "Stopped at the create request" in error.did()


def test_the_guidance_entry_says_which_read_it_can_be() -> None:
    entry = load_guidance().entry("unexpected_response")
    assert "create" in entry.trigger and "status" in entry.trigger
    assert entry.did_text(request="status").startswith("Stopped at the status request")
    assert entry.did_text(request="create").startswith("Stopped at the create request")
