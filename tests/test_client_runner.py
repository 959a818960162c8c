"""The runner beyond the scenarios: local files, validation, cancelling, recovering, resuming."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from playground.client import runner
from playground.client.api import VideoClient
from playground.client.errors import InvalidRequest, LocalFileNeedsUrl, TaskFailed
from playground.client.ledger import Ledger, RunRecord
from playground.client.providers import ProviderConfig
from playground.client.runner import RunEvent, recover, resume, run
from playground.media.samples import make_image
from tests.fixtures_client import T2V, collect, lossy_proxy, new_key, options, sandbox_provider

pytestmark = pytest.mark.usefixtures("no_backoff")


def i2v(url: str) -> dict[str, object]:
    return {"model": "wan-2-7-video", "mode": "image-to-video",
            "input": {"prompt": "the kite rises", "duration": 2, "resolution": "720P",
                      "media": [{"type": "first_frame", "url": url}]}}


async def test_a_local_file_goes_through_the_sandbox_file_store(sandbox_base: str, ledger: Ledger,
                                                                tmp_path: Path) -> None:
    """A plain path in a media URL is probed, uploaded, and replaced by the store's URL."""
    picture = make_image(tmp_path / "frame.png", 640, 360, seed=3)
    events = await collect(run(i2v(str(picture)), sandbox_provider(sandbox_base, "gateway"), ledger, tmp_path / "out",
                               options=options()))
    assert events[-1].state == "succeeded"
    assert any(e.state == "uploading" for e in events)
    sent = events[-1].wire_body
    assert sent is not None and "/sandbox/files/uploads/" in json.dumps(sent)


async def test_a_file_url_goes_through_dashscopes_temporary_upload(sandbox_base: str, ledger: Ledger,
                                                                   tmp_path: Path) -> None:
    """For DashScope: getPolicy, a form post to the bucket, then oss:// with the resolve header."""
    picture = make_image(tmp_path / "frame.png", 640, 360, seed=4)
    provider = ProviderConfig(kind="dashscope", wire="dashscope", base_url=f"{sandbox_base}/api/v1",
                              api_key=new_key())
    events = await collect(run(i2v(picture.as_uri()), provider, ledger, tmp_path / "out", options=options()))
    assert events[-1].state == "succeeded", events[-1].message
    sent = events[-1].wire_body
    assert sent is not None and sent["input"]["media"][0]["url"].startswith("oss://")


async def test_a_url_only_gateway_asks_for_a_public_url(ledger: Ledger, tmp_path: Path) -> None:
    """Nothing is sent; the guidance says to give an https:// URL."""
    picture = make_image(tmp_path / "frame.png", 640, 360)
    provider = ProviderConfig(kind="gateway", wire="gateway", base_url="https://gw.invalid/v1", api_key=new_key())
    events = await collect(run(i2v(str(picture)), provider, ledger, tmp_path, options=options()))
    last = events[-1]
    assert last.state == "invalid" and isinstance(last.error, LocalFileNeedsUrl)
    assert last.guidance_id == "local_file_needs_url" and any("https://" in line for line in last.guidance)
    assert ledger.runs() == []


async def test_an_invalid_request_is_not_sent(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """The playground's own check lists the problems by JSON path; no run is recorded."""
    body = {**T2V, "input": {"prompt": "x", "duration": 99}}
    events = await collect(run(body, sandbox_provider(sandbox_base), ledger, tmp_path, options=options()))
    last = events[-1]
    assert last.state == "invalid" and isinstance(last.error, InvalidRequest)
    assert any(p.startswith("input.duration") for p in last.error.problems)
    assert ledger.runs() == []


async def test_a_broken_local_file_is_caught_before_upload(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """A text file named .png is refused with what it really is."""
    fake = tmp_path / "frame.png"
    fake.write_text("<html>not a picture</html>")
    events = await collect(run(i2v(str(fake)), sandbox_provider(sandbox_base), ledger, tmp_path, options=options()))
    error = events[-1].error
    assert isinstance(error, InvalidRequest) and any("HTML" in p for p in error.problems)


async def test_the_ledger_has_the_task_before_the_first_poll(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """When 'queued' is announced, the row already holds the task id and no poll has run."""
    seen: list[RunRecord | None] = []
    async for event in run(T2V, sandbox_provider(sandbox_base), ledger, tmp_path, options=options()):
        if event.state == "submitting" and not seen:
            seen.append(ledger.get(event.run_id))
        if event.state == "queued" and len(seen) == 1:
            seen.append(ledger.get(event.run_id))
    before, after = seen
    assert before is not None and before.task_id is None and before.wire_body and before.body_hash
    assert after is not None and after.task_id and after.poll_count == 0


async def test_cancelling_the_consumer_cancels_the_remote_task(sandbox_base: str, ledger: Ledger,
                                                               tmp_path: Path) -> None:
    """Gradio's Stop cancels the task driving the stream: the provider is told, the ledger says so."""
    provider = sandbox_provider(sandbox_base, "dashscope", scenario="slow")
    queued = asyncio.Event()
    seen: list[RunEvent] = []

    async def consume() -> None:
        async for event in run(T2V, provider, ledger, tmp_path, options=options()):
            seen.append(event)
            if event.state == "queued":
                queued.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(queued.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = ledger.get(seen[-1].run_id)
    assert record is not None and record.state == "canceled" and record.finished
    assert "remote task was cancelled" in (ledger.events(record.run_id)[-1].detail or "")
    async with VideoClient(provider) as client:
        assert (await client.status(record.task_id or "")).task.state == "canceled"


async def test_cancel_by_run_id_ends_the_run_with_its_guidance(sandbox_base: str, ledger: Ledger,
                                                               tmp_path: Path) -> None:
    """runner.cancel from elsewhere (another UI click): the poller sees it and ends 'canceled'."""
    provider = sandbox_provider(sandbox_base, "dashscope", scenario="slow")
    events: list[RunEvent] = []
    async for event in run(T2V, provider, ledger, tmp_path, options=options()):
        events.append(event)
        if event.state == "queued" and len([e for e in events if e.state == "queued"]) == 1:
            assert await runner.cancel(event.run_id, ledger, provider)
    last = events[-1]
    assert last.state == "canceled" and isinstance(last.error, TaskFailed) and last.guidance_id == "task_canceled"


async def test_recover_follows_a_task_by_id(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """A task created elsewhere is followed to its video and gets its own ledger row."""
    provider = sandbox_provider(sandbox_base, "gateway")
    async with VideoClient(provider) as client:
        created = await client.submit({"model": "wan-2-7-video", "mode": "text-to-video",
                                       "input": {"prompt": "made elsewhere", "duration": 2, "resolution": "720P"}})
    events = await collect(recover(created.task_id, provider, ledger, tmp_path, options=options()))
    assert events[-1].state == "succeeded" and created.task_id == events[-1].task_id
    record = ledger.get(events[-1].run_id)
    assert record is not None and record.task_id == created.task_id and record.request_json is None


async def test_an_explicit_deadline_on_resume_counts_from_now(sandbox_base: str, ledger: Ledger,
                                                              tmp_path: Path) -> None:
    """A run whose original deadline ran out while nobody watched can still be finished."""
    provider = sandbox_provider(sandbox_base, "gateway")
    stream = run(T2V, provider, ledger, tmp_path, deadline_s=60, options=options())
    async for event in stream:
        if event.state == "queued":
            break
    await stream.aclose()
    (record,) = ledger.unfinished()
    ledger.update(record.run_id, deadline_s=0.001)
    events = await collect(resume(record.run_id, ledger, provider, deadline_s=60, options=options()))
    assert events[-1].state == "succeeded"


async def test_an_abandoned_stream_resumes_from_the_ledger(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """A browser refresh drops the stream; resume() finishes the same task, not a new one."""
    provider = sandbox_provider(sandbox_base, "gateway")
    stream = run(T2V, provider, ledger, tmp_path, options=options())
    async for event in stream:
        if event.state == "queued":
            break
    await stream.aclose()
    (record,) = ledger.unfinished()
    events = await collect(resume(record.run_id, ledger, provider, options=options()))
    assert events[-1].state == "succeeded" and record.task_id == events[-1].task_id
    states = [s for s, _ in events[-1].timeline]
    assert states[:3] == ["submitting", "queued", "running"] or states[:2] == ["submitting", "queued"]
    assert ledger.unfinished() == []


async def test_a_lost_create_answer_finds_the_task_instead_of_resubmitting(sandbox_server: str, ledger: Ledger,
                                                                           tmp_path: Path) -> None:
    """The create reaches the sandbox but its answer is dropped: the task list finds it; one task in all."""
    key = new_key()

    def is_create(head: bytes) -> bool:
        return head.startswith(b"POST") and b"video-synthesis" in head

    with lossy_proxy(sandbox_server, drop=is_create) as proxy:
        provider = sandbox_provider(f"{proxy}/sandbox", "dashscope", key=key)
        events = await collect(run(T2V, provider, ledger, tmp_path, options=options()))
    assert events[-1].state == "succeeded", events[-1].message
    assert any("found task" in e.message and "not resubmitted" in e.message for e in events)
    direct = sandbox_provider(f"{sandbox_server}/sandbox", "dashscope", key=key)
    async with VideoClient(direct) as client:
        from datetime import UTC, datetime

        listed = await client.list_tasks(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime.now(UTC), model=None)
    assert len(listed) == 1


async def test_a_crash_during_the_create_is_resolved_from_the_task_list(sandbox_base: str, ledger: Ledger,
                                                                        tmp_path: Path) -> None:
    """A row left in 'submitting' without a task id: resume looks the task up rather than resend."""
    provider = sandbox_provider(sandbox_base, "dashscope")
    stream = run(T2V, provider, ledger, tmp_path, options=options())
    async for event in stream:
        if event.state == "queued":
            break
    await stream.aclose()
    (record,) = ledger.unfinished()
    # Make the row look as if the process died between sending the create and reading its answer.
    ledger.update(record.run_id, task_id=None, state="submitting")
    events = await collect(resume(record.run_id, ledger, provider, options=options()))
    assert events[-1].state == "succeeded" and record.task_id == events[-1].task_id
