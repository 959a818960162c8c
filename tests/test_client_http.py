"""Byte-level oddities (HTML, empty, truncated and chat-shaped answers) and the pure readers.

httpx.MockTransport stands in for a server only here, where the point is the exact bytes a
misbehaving server or proxy sends; everything else runs against the real sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from playground.client.api import RetryNote, VideoClient
from playground.client.errors import (
    ApiRefused,
    DownloadFailed,
    OutcomeUnknown,
    RateLimited,
    ResultExpired,
    ServerFailed,
    WrongEndpoint,
    scrub,
)
from playground.client.files import local_path, swap_in, swap_out
from playground.client.providers import ProviderConfig, created_task, parse_time, read_task
from playground.core.contract import read_state

pytestmark = pytest.mark.usefixtures("no_backoff")

KEY = "sk-live-abcdef0123456789"
Handler = Callable[[httpx.Request], httpx.Response]


def provider(wire: str = "dashscope") -> ProviderConfig:
    return ProviderConfig.model_validate({"kind": "dashscope" if wire == "dashscope" else "gateway", "wire": wire,
                                          "base_url": "https://api.example.test/api/v1", "api_key": SecretStr(KEY)})


def client(handler: Handler, notes: list[RetryNote] | None = None, wire: str = "dashscope") -> VideoClient:
    sink = notes.append if notes is not None else None
    return VideoClient(provider(wire), transport=httpx.MockTransport(handler), on_retry=sink)


def counting(responses: list[httpx.Response]) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]

    return handle, seen


def files_in(folder: Path) -> list[Path]:
    return list(folder.iterdir())


HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


async def test_an_html_502_on_a_status_read_is_retried_as_a_proxy_answer() -> None:
    """A proxy's HTML page: three reads, then ServerFailed explaining the proxy."""
    handle, seen = counting([httpx.Response(502, content=HTML, headers={"content-type": "text/html"})])
    async with client(handle) as c:
        with pytest.raises(ServerFailed) as caught:
            await c.status("t-1")
    assert len(seen) == 3 and caught.value.attempts == 3
    assert caught.value.guidance.id == "proxy_no_answer"
    assert "HTML page (502 Bad Gateway)" in caught.value.message


async def test_an_html_504_on_a_create_is_an_unknown_outcome_not_a_resend() -> None:
    """The provider may have created the task behind the proxy: no second create."""
    handle, seen = counting([httpx.Response(504, content=HTML)])
    async with client(handle) as c:
        with pytest.raises(OutcomeUnknown):
            await c.submit({"model": "wan2.7-t2v", "input": {"prompt": "x"}})
    assert len(seen) == 1


async def test_an_empty_500_body_is_handled() -> None:
    """No body at all still gives a status, a message and guidance."""
    handle, _ = counting([httpx.Response(500, content=b"")])
    async with client(handle) as c:
        with pytest.raises(ServerFailed) as caught:
            await c.status("t-1")
    assert "empty body" in caught.value.message


async def test_a_json_500_with_a_code_is_resent_on_create() -> None:
    """The server answered and refused: no task was started, so the create is sent again."""
    ok = httpx.Response(200, json={"request_id": "r", "output": {"task_id": "t-9", "task_status": "PENDING"}})
    handle, seen = counting([httpx.Response(500, json={"code": "InternalError", "message": "x"}), ok])
    async with client(handle) as c:
        submitted = await c.submit({"model": "wan2.7-t2v", "input": {"prompt": "x"}})
    assert submitted.task_id == "t-9" and submitted.attempts == 2 and len(seen) == 2


async def test_truncated_json_on_a_status_read_is_an_unreadable_answer() -> None:
    """A cut-off 200 is refused with the 'unreadable answer' entry and a preview of the bytes."""
    handle, _ = counting([httpx.Response(200, content=b'{"output": {"task_status": "RUN')])
    async with client(handle) as c:
        with pytest.raises(ApiRefused) as caught:
            await c.status("t-1")
    assert caught.value.guidance.id == "unexpected_response" and "not readable JSON" in caught.value.message


async def test_truncated_json_on_a_create_is_an_unknown_outcome() -> None:
    """A create whose answer cannot be read may have started a task."""
    handle, seen = counting([httpx.Response(200, content=b'{"output": {"task_id": "t-')])
    async with client(handle) as c:
        with pytest.raises(OutcomeUnknown):
            await c.submit({"model": "wan2.7-t2v", "input": {"prompt": "x"}})
    assert len(seen) == 1


async def test_a_chat_completion_answer_is_the_faqs_wrong_endpoint() -> None:
    """Token usage and choices instead of a task: the chat-endpoint entry, no resend."""
    chat = {"id": "c", "choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": 9, "total_tokens": 12}}
    handle, seen = counting([httpx.Response(200, json=chat)])
    async with client(handle, wire="gateway") as c:
        with pytest.raises(WrongEndpoint) as caught:
            await c.submit({"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "x"}})
    assert caught.value.guidance.id == "chat_endpoint" and len(seen) == 1


async def test_retry_after_in_seconds_and_milliseconds_is_obeyed() -> None:
    """The planned wait is the server's, not the exponential one."""
    ok = httpx.Response(200, json={"output": {"task_id": "t", "task_status": "RUNNING"}})
    limited = [
        httpx.Response(429, json={"code": "Throttling", "message": "slow"}, headers={"Retry-After": "3"}),
        httpx.Response(429, json={"code": "Throttling", "message": "slow"}, headers={"retry-after-ms": "250"}),
        ok,
    ]
    handle, _ = counting(limited)
    notes: list[RetryNote] = []
    async with client(handle, notes) as c:
        await c.status("t")
    assert [n.wait_s for n in notes] == [3.0, 0.25]


async def test_a_retry_after_beyond_the_cap_stops_retrying() -> None:
    """'Come back in an hour' is not waited for."""
    handle, seen = counting([httpx.Response(429, json={"code": "Throttling", "message": "x"},
                                            headers={"Retry-After": "3600"})])
    async with client(handle) as c:
        with pytest.raises(RateLimited) as caught:
            await c.status("t")
    assert len(seen) == 1 and caught.value.retry_after_s == 3600


async def test_the_key_goes_to_the_api_and_nowhere_else(tmp_path: Path) -> None:
    """Authorization on API calls; none on the result download."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "cdn.example.test":
            return httpx.Response(200, content=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
        return httpx.Response(200, json={"output": {"task_id": "t", "task_status": "RUNNING"}})

    async with client(handle) as c:
        await c.status("t")
        await c.download("https://cdn.example.test/v.mp4", tmp_path / "v.mp4")
    api, cdn = seen
    assert f"Bearer {KEY}" == api.headers["authorization"]
    assert "authorization" not in cdn.headers


async def test_an_echoed_key_never_reaches_the_error_text() -> None:
    """A provider that repeats the key in its message gets it masked."""
    body = {"code": "InvalidApiKey", "message": f"Invalid API-key provided: {KEY} (Bearer {KEY})"}
    handle, _ = counting([httpx.Response(401, json=body)])
    async with client(handle) as c:
        with pytest.raises(ApiRefused) as caught:
            await c.status("t")
    text = f"{caught.value} {caught.value.did()} {' '.join(caught.value.guidance_lines())}"
    assert KEY not in text and "redacted" in text


def test_the_key_is_a_secret_in_the_provider() -> None:
    """repr and model_dump never show the key."""
    shown = f"{provider()!r} {provider().model_dump()} {provider().describe()}"
    assert KEY not in shown


async def test_download_of_an_expired_link_is_result_expired(tmp_path: Path) -> None:
    """404 / 403 / 410 from the result host mean the link is gone; no partial file remains."""
    for status in (403, 404, 410):
        handle, seen = counting([httpx.Response(status, text="gone")])
        async with client(handle) as c:
            with pytest.raises(ResultExpired):
                await c.download("https://cdn.example.test/v.mp4", tmp_path / "v.mp4")
        assert len(seen) == 1
    assert files_in(tmp_path) == []


async def test_download_is_retried_on_server_errors(tmp_path: Path) -> None:
    """A 503 from the result host is tried again, up to the table's count."""
    handle, seen = counting([httpx.Response(503, text="busy")])
    async with client(handle) as c:
        with pytest.raises(DownloadFailed):
            await c.download("https://cdn.example.test/v.mp4", tmp_path / "v.mp4")
    assert len(seen) == 3


def test_scrub_masks_the_key_and_bearer_tokens() -> None:
    """Both the literal key and anything after 'Bearer' go."""
    text = scrub(f"key {KEY} header Bearer abc.def token sk-other123456", [KEY])
    assert KEY not in text and "abc.def" not in text and "sk-other123456" not in text


@pytest.mark.parametrize(
    ("wire", "status", "state"),
    [("dashscope", "PENDING", "queued"), ("dashscope", "RUNNING", "running"),
     ("dashscope", "SUSPENDED", "queued"), ("dashscope", "SUCCEEDED", "succeeded"),
     ("dashscope", "UNKNOWN", "unknown"), ("dashscope", "CANCELED", "canceled"),
     ("gateway", "queued", "queued"), ("gateway", "submitted", "queued"), ("gateway", "in_progress", "running"),
     ("gateway", "completed", "succeeded"), ("gateway", "failed", "failed"), ("gateway", "whatever", "running")],
)
def test_states_map_to_ours(wire: str, status: str, state: str) -> None:
    """Provider words in our terms; an unknown word keeps polling, as the SDK does."""
    assert state == read_state(wire, status)  # type: ignore[arg-type]


def test_read_task_in_both_formats() -> None:
    """Result URL, expiry, progress and error fields land in one shape."""
    ds = read_task("dashscope", {"request_id": "r", "output": {
        "task_id": "t", "task_status": "FAILED", "code": "DataInspectionFailed", "message": "m"}}, "t")
    assert ds is not None and (ds.state, ds.error_code, ds.request_id) == ("failed", "DataInspectionFailed", "r")
    gw = read_task("gateway", {"task_id": "t", "status": "completed", "progress": 100,
                               "expires_at": "2026-04-15T00:00:00.000Z", "result": {"url": "http://x/v.mp4"}}, "t")
    assert gw is not None and gw.video_url == "http://x/v.mp4" and gw.progress == 100.0
    assert gw.expires_at == parse_time("2026-04-15T00:00:00Z")
    assert read_task("gateway", {"nothing": 1}, "t") is None


def test_created_task_reads_the_documented_shapes() -> None:
    """DashScope output, the guide's flat answer, and the older data-list envelope."""
    assert created_task("dashscope", {"output": {"task_id": "a", "task_status": "PENDING"}}) == ("a", "PENDING")
    assert created_task("gateway", {"task_id": "b", "status": "queued"}) == ("b", "queued")
    envelope = {"code": 200, "data": [{"task_id": "c", "status": "submitted"}]}
    assert created_task("gateway", envelope) == ("c", "submitted")
    assert created_task("dashscope", {"output": {}}) is None


def test_parse_time_reads_every_clock_format() -> None:
    """Unix seconds, milliseconds, ISO with Z, and DashScope's UTC+8 text."""
    assert 1_700_000_000.0 == parse_time(1_700_000_000) == parse_time(1_700_000_000_000)
    assert parse_time("2025-09-29 14:18:52.331") == pytest.approx(parse_time("2025-09-29T06:18:52.331Z"))
    assert parse_time("not a time") is None


def test_providers_refuse_impossible_combinations() -> None:
    """DashScope speaks only its format; scenarios exist only in the sandbox; URLs are http(s)."""
    with pytest.raises(ValidationError):
        ProviderConfig(kind="dashscope", wire="gateway", base_url="https://x")
    with pytest.raises(ValidationError):
        ProviderConfig(kind="gateway", wire="gateway", base_url="https://x", scenario="slow")
    with pytest.raises(ValidationError):
        ProviderConfig(kind="gateway", wire="gateway", base_url="ftp://x")
    sandbox = ProviderConfig(kind="sandbox", wire="gateway", base_url="http://h:1/sandbox/")
    assert sandbox.task_url("t") == "http://h:1/sandbox/v1/videos/generations/t"


def test_local_paths_and_placeholders(tmp_path: Path) -> None:
    """Paths and file:// URLs are local; http, data: and plain words are not; swapping round-trips."""
    image = tmp_path / "a b.png"
    image.write_bytes(b"x")
    assert image == local_path(str(image)) == local_path(image.as_uri().replace("%20", " "))
    assert local_path("https://x/y.png") is None and local_path("data:image/png;base64,AA") is None
    assert local_path("not a path") is None
    body: dict[str, Any] = {"input": {"media": [{"type": "first_frame", "url": str(image)}], "audio_url": "https://a/b"}}
    swapped, files = swap_out(body)
    assert len(files) == 1 and files[0].kind == "first_frame"
    assert swapped["input"]["media"][0]["url"].startswith("https://local-file.invalid/")
    assert body == swap_in(swapped, {files[0].placeholder: str(image)})
