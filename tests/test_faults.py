"""Faults: full runs against a deliberately broken provider on loopback, one table of outcomes.

The broken provider is a raw asyncio HTTP server (no framework, so it can misbehave at the
byte level) that speaks both wire formats and keeps a log of every request it received. Each
table row breaks the create, the status read or the result download in one way (one row also
takes the task list down), and the run is driven to its end through ``runner.run`` with a fake
clock, so polling and the deadline cost no real time. stamina's test mode removes the backoff sleeps; the attempt
counts and the planned waits still come from the client's hook, which reads the guidance table.

For every row the test checks: the final state, the guidance id, how many times the provider
saw each kind of request (a broken one exactly as often as the table's RetryPolicy allows),
that a create whose outcome was unknown reached the provider once, that nothing outlives the
deadline on the run's clock, what the ledger and the output folder were left holding, and that
a run left resumable does finish once the provider heals.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from pydantic import SecretStr

from playground.client import api, follow_steps
from playground.client.api import RetryNote, VideoClient
from playground.client.errors import ApiRefused, DeadlinePassed, DownloadFailed, TransportFailed
from playground.client.ledger import Ledger
from playground.client.providers import ProviderConfig
from playground.client.run_state import RESUMABLE_STATES
from playground.client.runner import FINAL_STATES, RunEvent, RunOptions, resume, run
from playground.core.guidance import load_guidance
from playground.core.wire import WireFormat
from playground.media.samples import make_video
from tests.fixtures_client import FAST, SHORT, T2V, collect
from tests.fixtures_servers import asyncio_server

Kind = Literal["create", "status", "list", "cancel", "result"]
Behaviour = Literal[
    "ok",  # what a healthy provider answers
    "drop",  # headers and half the body, then the connection is closed
    "hang",  # the request is read and never answered (until the client hangs up)
    "html502",  # a proxy's HTML error page
    "json503",  # the provider's own error JSON: it refused, so nothing was created
    "empty500",  # a 500 with no body at all
    "truncated",  # a 200 whose JSON is cut off half way
    "not_json",  # a 200 whose body is plain text
    "paused",  # a task status nobody documents
    "not_found",  # 404 (for the result: the link is gone)
]
KINDS: tuple[Kind, ...] = ("create", "status", "list", "cancel", "result")
WIRES: tuple[WireFormat, ...] = ("dashscope", "gateway")
DEADLINE_S = 2.0
_BEIJING = timezone(timedelta(hours=8))
HTML_502 = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"


# -- the broken provider ----------------------------------------------------------------------


@dataclass
class BrokenProvider:
    """A provider whose answers to each kind of request are scripted by ``faults``."""

    url: str
    video: bytes
    faults: dict[Kind, Behaviour] = field(default_factory=dict)
    seen: list[tuple[Kind, str]] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def count(self, kind: Kind) -> int:
        return sum(1 for k, _ in self.seen if k == kind)

    def counts(self) -> dict[Kind, int]:
        return {k: self.count(k) for k in KINDS if self.count(k)}

    def provider(self, wire: WireFormat) -> ProviderConfig:
        # The real provider kinds, not the sandbox: nothing here may lean on sandbox behaviour.
        if wire == "dashscope":
            return ProviderConfig(kind="dashscope", wire="dashscope", base_url=f"{self.url}/api/v1",
                                  api_key=SecretStr("sk-test-broken-provider"))
        return ProviderConfig(kind="gateway", wire="gateway", base_url=f"{self.url}/v1",
                              api_key=SecretStr("sk-test-broken-provider"))


def _route(method: str, path: str) -> tuple[Kind | None, WireFormat, str | None]:
    """Which kind of request this is, in which wire format, for which task id."""
    bare = path.split("?", 1)[0]
    if method == "POST" and bare == "/api/v1/services/aigc/video-generation/video-synthesis":
        return "create", "dashscope", None
    if method == "POST" and bare == "/v1/videos/generations":
        return "create", "gateway", None
    if method == "GET" and bare == "/api/v1/tasks":
        return "list", "dashscope", None
    if found := re.fullmatch(r"/api/v1/tasks/([\w-]+)(/cancel)?", bare):
        return ("cancel" if found.group(2) else "status"), "dashscope", found.group(1)
    if found := re.fullmatch(r"/v1/videos/generations/([\w-]+)(/cancel)?", bare):
        return ("cancel" if found.group(2) else "status"), "gateway", found.group(1)
    if method == "GET" and (found := re.fullmatch(r"/results/([\w-]+)\.mp4", bare)):
        return "result", "gateway", found.group(1)  # a plain file host: the format does not matter
    return None, "gateway", None


def _dashscope_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, _BEIJING).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class _Handler:
    """One connection: read one request, answer it the way the script says, hang up."""

    def __init__(self, box: BrokenProvider) -> None:
        self.box = box

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            await self.answer(method, path, body, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, path: str, body: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        kind, wire, task_id = _route(method, path)
        if kind is None:
            await _send(writer, 404, b'{"code": "NotFound", "message": "no such route"}')
            return
        self.box.seen.append((kind, path))
        behaviour = self.box.faults.get(kind, "ok")
        if kind == "create" and behaviour != "json503":
            # The request reached the provider, so the task exists whatever happens to the answer.
            task_id = self.create(wire, body)
        if behaviour == "hang":
            # Hold the connection until the client gives up (its read timeout) and hangs up.
            await reader.read()
            return
        status, content, ctype = self.healthy(kind, wire, task_id, paused=behaviour == "paused")
        if behaviour in ("ok", "paused"):
            await _send(writer, status, content, ctype)
        elif behaviour == "drop":
            await _send(writer, status, content, ctype, cut=len(content) // 2)
        elif behaviour == "html502":
            await _send(writer, 502, HTML_502, "text/html")
        elif behaviour == "json503":
            await _send(writer, 503, b'{"code": "ServiceUnavailable", "message": "busy", "request_id": "r-503"}')
        elif behaviour == "empty500":
            await _send(writer, 500, b"")
        elif behaviour == "truncated":
            await _send(writer, 200, content[: len(content) // 2])
        elif behaviour == "not_json":
            await _send(writer, 200, b"OK", "text/plain")
        elif behaviour == "not_found":
            await _send(writer, 404, b"<html><body>Not Found</body></html>", "text/html")

    def create(self, wire: WireFormat, body: bytes) -> str:
        task_id = str(uuid.uuid4())
        model = json.loads(body).get("model") if body else None
        self.box.tasks[task_id] = {"wire": wire, "model": model, "created": time.time(), "polls": 0}
        return task_id

    def healthy(self, kind: Kind, wire: WireFormat, task_id: str | None, *, paused: bool) -> tuple[int, bytes, str]:
        """What a working provider answers (the faults then mangle it)."""
        rid = f"req-{uuid.uuid4().hex[:8]}"
        answer: dict[str, Any]
        if kind == "result":
            return 200, self.box.video, "video/mp4"
        if kind == "list":
            listed = [{"task_id": t, "task_status": "PENDING", "model_name": v["model"],
                       "gmt_create": _dashscope_time(v["created"])} for t, v in self.box.tasks.items()]
            return 200, _json({"request_id": rid, "data": listed, "total": len(listed)}), "application/json"
        task = self.box.tasks.get(task_id or "")
        if task is None:
            return 404, _json({"code": "NotFound", "message": "task not found", "request_id": rid}), "application/json"
        if kind == "cancel":
            if wire == "gateway":  # the unified format has no cancel route
                return 404, _json({"error": {"code": "not_found", "message": "no cancel"}}), "application/json"
            return 200, _json({"request_id": rid}), "application/json"
        if kind == "create":
            if wire == "dashscope":
                answer = {"request_id": rid, "output": {"task_id": task_id, "task_status": "PENDING"}}
            else:
                answer = {"task_id": task_id, "status": "queued", "request_id": rid}
            return 200, _json(answer), "application/json"
        task["polls"] += 1
        done = task["polls"] >= 2 and not paused
        url = f"{self.box.url}/results/{task_id}.mp4"
        if wire == "dashscope":
            word = "PAUSED" if paused else ("SUCCEEDED" if done else "RUNNING")
            output: dict[str, Any] = {"task_id": task_id, "task_status": word}
            if done:
                output |= {"video_url": url, "end_time": _dashscope_time(time.time())}
            answer = {"request_id": rid, "output": output}
        else:
            answer = {"task_id": task_id, "status": "paused" if paused else ("completed" if done else "in_progress"),
                      "progress": 100 if done else 50}
            if done:
                answer["result"] = {"url": url}
        return 200, _json(answer), "application/json"


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


async def _send(writer: asyncio.StreamWriter, status: int, content: bytes, ctype: str = "application/json",
                *, cut: int | None = None) -> None:
    """An HTTP/1.1 answer; with ``cut``, only that many body bytes go out before the hang-up."""
    head = (f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(content)}\r\n"
            "Connection: close\r\n\r\n")
    writer.write(head.encode() + (content if cut is None else content[:cut]))
    await writer.drain()


@contextlib.contextmanager
def broken_provider(video: bytes) -> Iterator[BrokenProvider]:
    """Serve a :class:`BrokenProvider` from its own event loop in a thread."""
    box = BrokenProvider(url="", video=video)
    with asyncio_server(_Handler(box), name="broken-provider") as url:
        box.url = url
        yield box


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A small playable MP4 for the healthy result route."""
    return make_video(tmp_path_factory.mktemp("broken-video") / "v.mp4", 320, 240, 1.0).read_bytes()


@pytest.fixture
def provider_box(video: bytes) -> Iterator[BrokenProvider]:
    with broken_provider(video) as box:
        yield box


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch, no_backoff: None) -> None:
    """No backoff sleeps (the hook still decides how many attempts), and a short download timeout,
    so a hanging result host is given up on in half a second rather than two minutes."""
    monkeypatch.setattr(api, "DOWNLOAD_TIMEOUT", SHORT)


class FakeClock:
    """The run's clock: moves only when the runner sleeps between polls."""

    def __init__(self) -> None:
        # Near the real time, because the DashScope task-list lookup compares it with the
        # provider's creation times.
        self.now_s = float(int(time.time()))
        self.slept: list[float] = []

    def now(self) -> float:
        return self.now_s

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now_s += seconds
        await asyncio.sleep(0)


def run_options(clock: FakeClock, notes: list[RetryNote]) -> RunOptions:
    """Fast polls on the fake clock, short timeouts, and every retry the client makes noted.

    The notes are tapped at the client, so the test can check that the run reported each of them
    as an event, also those of a request that failed for good.
    """

    def factory(provider: ProviderConfig, on_retry: Callable[[RetryNote], None]) -> VideoClient:
        def tap(note: RetryNote) -> None:
            notes.append(note)
            on_retry(note)

        return VideoClient(provider, timeout=SHORT, on_retry=tap)

    return RunOptions(schedule=FAST, clock=clock.now, sleep=clock.sleep, client_factory=factory)


# -- the table ------------------------------------------------------------------------------------


def attempts(entry_id: str, *, create: bool = False) -> int:
    """How many times the table lets a request be sent after this failure, first try included."""
    policy = load_guidance().entry(entry_id).retry
    return policy.max_attempts if policy.allows(1, is_create=create) else 1


# The request kind each kind of HTTP request counts as in the client's retry notes.
OPS: dict[Kind, str] = {"create": "create", "status": "read", "list": "read", "cancel": "read", "result": "download"}


@dataclass(frozen=True)
class Outcome:
    state: str
    guidance_id: str | None
    # For each broken kind of request, the entry whose RetryPolicy governs how often it is sent.
    policies: dict[Kind, str]
    # How often the provider sees each kind of request (the broken kinds' counts from policies).
    counts: dict[Kind, int]


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: dict[Kind, Behaviour]
    dashscope: Outcome
    gateway: Outcome

    def outcome(self, wire: WireFormat) -> Outcome:
        return self.dashscope if wire == "dashscope" else self.gateway


def both(outcome: Outcome) -> tuple[Outcome, Outcome]:
    return outcome, outcome


# A create whose answer is lost: DashScope's task list finds the task and the run carries on to
# its video; the unified format has no list, so the run ends saying the outcome is unknown.
def lost_create(policy: str) -> tuple[Outcome, Outcome]:
    return (
        Outcome("succeeded", None, {"create": policy}, {"create": 1, "list": 1, "status": 2, "result": 1}),
        Outcome("outcome_unknown", "outcome_unknown", {"create": policy}, {"create": 1}),
    )


def broken_status(state: str, policy: str) -> tuple[Outcome, Outcome]:
    return both(Outcome(state, policy, {"status": policy}, {"create": 1, "status": attempts(policy)}))


def broken_result(state: str, guidance: str, policy: str) -> tuple[Outcome, Outcome]:
    return both(Outcome(state, guidance, {"result": policy}, {"create": 1, "status": 2, "result": attempts(policy)}))


FAULTS = [
    Fault("create: connection dropped mid-answer", {"create": "drop"}, *lost_create("read_timeout")),
    Fault("create: no answer", {"create": "hang"}, *lost_create("read_timeout")),
    Fault("create: proxy's HTML 502", {"create": "html502"}, *lost_create("proxy_no_answer")),
    Fault("create: empty 500", {"create": "empty500"}, *lost_create("proxy_no_answer")),
    Fault("create: truncated JSON", {"create": "truncated"}, *lost_create("unexpected_response")),
    Fault("create: 200 that is not JSON", {"create": "not_json"}, *lost_create("unexpected_response")),
    # The task list cannot help either: the run ends saying so, still without a second create.
    Fault("create: no answer, task list down", {"create": "hang", "list": "html502"},
          Outcome("outcome_unknown", "outcome_unknown", {"create": "read_timeout", "list": "proxy_no_answer"},
                  {"create": 1, "list": attempts("proxy_no_answer")}),
          Outcome("outcome_unknown", "outcome_unknown", {"create": "read_timeout"}, {"create": 1})),
    # The provider's own error JSON proves nothing was created: the create is sent again.
    Fault("create: 503 with the provider's error", {"create": "json503"},
          *both(Outcome("refused", "service_unavailable", {"create": "service_unavailable"},
                        {"create": attempts("service_unavailable", create=True)}))),
    Fault("status: connection dropped mid-answer", {"status": "drop"}, *broken_status("stalled", "read_timeout")),
    Fault("status: no answer", {"status": "hang"}, *broken_status("stalled", "read_timeout")),
    Fault("status: proxy's HTML 502", {"status": "html502"}, *broken_status("stalled", "proxy_no_answer")),
    Fault("status: empty 500", {"status": "empty500"}, *broken_status("stalled", "proxy_no_answer")),
    Fault("status: 503 with the provider's error", {"status": "json503"},
          *broken_status("stalled", "service_unavailable")),
    Fault("status: truncated JSON", {"status": "truncated"}, *broken_status("stalled", "unexpected_response")),
    Fault("status: 200 that is not JSON", {"status": "not_json"}, *broken_status("stalled", "unexpected_response")),
    # An undocumented status word counts as still running: polled (never retried) to the
    # deadline, then the task is canceled where the format allows it.
    Fault("status: undocumented PAUSED", {"status": "paused"},
          *both(Outcome("deadline", "deadline_passed", {}, {"create": 1, "cancel": 1}))),
    Fault("result: 404", {"result": "not_found"}, *broken_result("expired", "result_expired", "result_expired")),
    Fault("result: 200 that is not a video", {"result": "not_json"},
          *broken_result("download_failed", "download_failed", "download_failed")),
    Fault("result: connection dropped mid-video", {"result": "drop"},
          *broken_result("download_failed", "download_failed", "download_failed")),
    Fault("result: no answer", {"result": "hang"},
          *broken_result("download_failed", "download_failed", "download_failed")),
]


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_every_fault_ends_in_a_defined_state_with_guidance(
    provider_box: BrokenProvider, tmp_path: Path, fault: Fault, wire: WireFormat, ledger: Ledger
) -> None:
    """One fault, one wire format, one full run: the state, guidance, attempts and leftovers."""
    expected = fault.outcome(wire)
    provider_box.faults = dict(fault.breaks)
    clock = FakeClock()
    notes: list[RetryNote] = []
    out = tmp_path / "out"
    events = await collect(run(T2V, provider_box.provider(wire), ledger, out, deadline_s=DEADLINE_S,
                               options=run_options(clock, notes)))
    last = events[-1]
    shown = f"{fault.name} / {wire}: {last.state}: {last.message}"
    paused = "paused" in fault.breaks.values()

    # A defined end, the expected one, explained by the expected guidance entry.
    assert last.terminal and last.state in FINAL_STATES and all(not e.terminal for e in events[:-1]), shown
    assert (last.state, last.guidance_id) == (expected.state, expected.guidance_id), shown
    if expected.guidance_id is not None:
        entry = load_guidance().entry(expected.guidance_id)
        assert last.error is not None and last.guidance[0].endswith(f"[{entry.id}]")
        # (An entry with nothing to change before trying again, such as an expired result, leaves it out.)
        assert entry.retry_text() is None or entry.retry_text() in last.guidance, "the guidance states the policy"

    # Each kind of request reached the provider exactly as often as the table allows.
    counts: dict[Kind, int] = {**expected.counts}
    if paused:
        # Polled to the deadline: every reading once (no retries), plus the last look at the deadline.
        counts["status"] = last.poll_count + 1
    assert provider_box.counts() == counts, shown
    # And the client's own account agrees: one retry note per resend, numbered, with the
    # table's attempt limit and a wait within the table's backoff (plus its jitter).
    for kind, entry_id in expected.policies.items():
        policy = load_guidance().entry(entry_id).retry
        mine = [n for n in notes if n.op == OPS[kind] and n.guidance_id == entry_id]
        assert [n.attempt for n in mine] == list(range(1, counts[kind])), (kind, mine)
        assert all(n.max_attempts == policy.max_attempts for n in mine)
        for note, planned in zip(mine, policy.planned_waits(), strict=False):
            assert planned <= note.wait_s <= planned + policy.jitter, "the wait the table plans"
    assert len(notes) == sum(counts[kind] - 1 for kind in expected.policies), "no retries beyond the table's"
    # Every one of them was shown as an event of the run, before its end (the retry log).
    assert [e.retry for e in events[:-1] if e.retry is not None] == notes, shown
    if isinstance(last.error, ApiRefused | TransportFailed | DownloadFailed):
        (kind,) = expected.policies
        assert last.error.attempts == counts[kind]

    # No duplicate task: a create whose outcome was unknown reached the provider once, and the
    # run follows the task that one create made.
    create_policy = expected.policies.get("create")
    if create_policy is not None and attempts(create_policy, create=True) == 1:
        assert provider_box.count("create") == 1 and len(provider_box.tasks) == 1
        assert any("looking for the task instead of resubmitting" in e.message for e in events)
        if last.state == "succeeded":
            assert last.task_id in provider_box.tasks
    if fault.breaks.get("create") == "json503":
        assert provider_box.tasks == {}, "a refused create made no task"

    # Within its deadline, on the run's own clock; only the PAUSED task lasts until it.
    assert last.elapsed_s <= DEADLINE_S + 1e-6, shown
    if paused:
        assert last.elapsed_s == pytest.approx(DEADLINE_S) and sum(clock.slept) == pytest.approx(DEADLINE_S)

    # The ledger agrees, and says whether resume() can still finish the run.
    record = ledger.get(last.run_id)
    assert record is not None and record.state == last.state and record.guidance_id == last.guidance_id
    assert bool(record.finished) == (last.state not in RESUMABLE_STATES)
    if provider_box.tasks and last.state != "outcome_unknown":
        assert record.task_id in provider_box.tasks
    # Nothing half-written is left, and the final name holds only a complete, probed video.
    assert list(out.glob("**/.*.part")) == []
    videos = list(out.glob("**/video.mp4"))
    assert videos == ([last.video_path] if last.state == "succeeded" else [])
    if last.state == "succeeded":
        assert last.media is not None and last.media.kind == "video"

    # A resumable end really is one: once the provider heals, resume() finishes the same task.
    if last.state in RESUMABLE_STATES:
        provider_box.faults = {}
        again = await collect(resume(last.run_id, ledger, provider_box.provider(wire), deadline_s=DEADLINE_S,
                                     options=run_options(FakeClock(), notes)))
        assert again[-1].state == "succeeded" and again[-1].task_id == record.task_id, again[-1].message
        assert provider_box.count("create") == 1 and len(provider_box.tasks) == 1


@pytest.mark.parametrize("wire", WIRES)
async def test_a_read_that_hangs_near_the_deadline_does_not_outlive_it(
    provider_box: BrokenProvider, tmp_path: Path, wire: WireFormat, monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    """The task runs, then the provider stops answering: the run ends at its deadline ("deadline",
    cancel attempted), not after every retry of a hung read ("stalled", well past it).

    This one runs on the real clock, because the hang happens in real time. One read timeout
    (2 s, of three attempts) is longer than the whole deadline (1.5 s), and the last-look
    allowance is shortened so the deadline, not the allowance, is what cuts the read short.
    """
    monkeypatch.setattr(follow_steps, "LAST_LOOK_S", 0.1)

    def factory(provider: ProviderConfig, on_retry: Callable[[RetryNote], None]) -> VideoClient:
        return VideoClient(provider, timeout=httpx.Timeout(2.0), on_retry=on_retry)

    events: list[RunEvent] = []
    async for event in run(T2V, provider_box.provider(wire), ledger, tmp_path, deadline_s=1.5,
                           options=RunOptions(schedule=FAST, client_factory=factory)):
        events.append(event)
        if event.state == "running":
            provider_box.faults = {"status": "hang"}
    last = events[-1]
    assert (last.state, last.guidance_id) == ("deadline", "deadline_passed"), last.message
    # One healthy read, one hung read that was cut off rather than retried, one cancel.
    assert provider_box.counts() == {"create": 1, "status": 2, "cancel": 1}
    assert isinstance(last.error, DeadlinePassed) and last.error.cancelled == (wire == "dashscope")
    record = ledger.get(last.run_id)
    assert record is not None and record.finished and record.state == "deadline"
