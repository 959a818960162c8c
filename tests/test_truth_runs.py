"""The playground tells the truth about runs (issue 12): cancel, recover, rehearsals.

Through the runner (the API the CLI and the server drive) and through the Gradio endpoints, the
way a script calls them (gradio_client). What a person sees in the page is in
``test_truth_browser.py``.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from pydantic import SecretStr

from playground.client import runner
from playground.client.api import VideoClient
from playground.client.ledger import Ledger
from playground.client.runner import RunEvent, recover, resume, run
from playground.core.guidance import load_guidance
from tests.fixtures_app import RunningApp
from tests.fixtures_client import T2V, collect, new_key, options, sandbox_provider
from tests.waiting import wait_until

CONNECTION = ["sandbox", "dashscope", "", "none"]


def t2v_form(prompt: str, duration: int = 2) -> list[Any]:
    """The text-to-video form: prompt, negative prompt, duration, resolution, ratio, seed,
    random seed, prompt extend, watermark, audio URL."""
    return [prompt, None, duration, "720P", "16:9", 42, True, True, False, ""]


def history_rows(client: Client) -> list[dict[str, str]]:
    """This session's History, one dict per row, keyed by column header."""
    table, _ = client.predict("all", "all", api_name="/history")
    return [dict(zip(table["headers"], row, strict=False)) for row in table["data"]]


def text_of(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup or "")))


# -- 1. cancel truth -----------------------------------------------------------------------------


async def test_a_refused_cancel_is_followed_to_the_video(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """Cancel a running task: DashScope refuses (it cancels only PENDING tasks), so the run says
    so, keeps following, downloads the video it will be billed for and ends ``succeeded``."""
    provider = sandbox_provider(sandbox_base, "dashscope", scenario="slow")
    events: list[RunEvent] = []
    refused: list[bool] = []
    async for event in run(T2V, provider, ledger, tmp_path, options=options()):
        events.append(event)
        if event.state == "running" and not refused:
            refused.append(not await runner.cancel(event.run_id, ledger, provider))
    assert refused == [True]
    last = events[-1]
    assert last.state == "succeeded", last.message
    assert last.video_path is not None and last.video_path.is_file()
    said = [e.message for e in events]
    assert any("could not cancel a running task" in m and "billed" in m for m in said), said
    record = ledger.get(last.run_id)
    assert record is not None and record.state == "succeeded" and record.finished
    assert any("could not cancel" in (e.detail or "") for e in ledger.events(last.run_id))


async def test_a_stopped_follower_does_not_record_a_cancel_the_provider_refused(
    sandbox_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    """Stop following (Ctrl-C) while the task runs: the provider cannot cancel it, so the ledger
    does not say "canceled"; the run stays unfinished, and resume() downloads its video."""
    provider = sandbox_provider(sandbox_base, "dashscope", scenario="slow")
    running = asyncio.Event()
    seen: list[RunEvent] = []

    async def consume() -> None:
        async for event in run(T2V, provider, ledger, tmp_path, options=options()):
            seen.append(event)
            if event.state == "running":
                running.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(running.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = ledger.get(seen[-1].run_id)
    assert record is not None and record.state != "canceled" and not record.finished
    assert "could not cancel" in (ledger.events(record.run_id)[-1].detail or "")
    events = await collect(resume(record.run_id, ledger, provider, options=options()))
    assert events[-1].state == "succeeded" and events[-1].video_path is not None


def test_cancel_of_a_running_send_reports_the_truth(ui_client: Client) -> None:
    """/cancel_text_to_video a few seconds into RUNNING: the send ends Succeeded with its video,
    says plainly that the provider could not cancel it, and History lists it as succeeded."""
    job = ui_client.submit(*CONNECTION, *t2v_form("Cancel me while I run", 15), api_name="/send_text_to_video")
    wait_until(lambda: any('data-state="running"' in str(out[0]) for out in job.outputs()), "the task to run", 90)
    ui_client.predict(api_name="/cancel_text_to_video")
    status, guidance, video, _, _ = job.result(timeout=180)
    shown = text_of(status)
    assert 'data-state="succeeded"' in status, shown
    assert "could not cancel a running task" in shown and "billed" in shown, shown
    assert "Cancelled" not in shown
    assert video, "the video that will be billed is downloaded"
    assert "Cancel refused" in text_of(guidance), guidance
    task_id = re.search(r"Task id.*?<code>([^<]+)</code>", status)
    assert task_id is not None
    (row,) = [r for r in history_rows(ui_client) if r["task id"] == task_id.group(1)]
    assert row["status"] == "Succeeded", row


# -- 5. recover by id ----------------------------------------------------------------------------


async def test_recovering_a_task_twice_records_it_once(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """A second recover of a task already followed to its end adds no second run."""
    provider = sandbox_provider(sandbox_base, "dashscope")
    async with VideoClient(provider) as client:
        created = await client.submit({"model": "wan2.7-t2v", "input": {"prompt": "made elsewhere"},
                                       "parameters": {"duration": 2, "resolution": "720P"}})
    first = await collect(recover(created.task_id, provider, ledger, tmp_path, options=options()))
    assert first[-1].state == "succeeded"
    second = await collect(recover(created.task_id, provider, ledger, tmp_path, options=options()))
    assert second[-1].state == "succeeded" and second[-1].run_id == first[-1].run_id
    assert [r.task_id for r in ledger.runs()] == [created.task_id]


async def test_a_recover_the_provider_does_not_confirm_records_nothing(
    sandbox_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    """A task id the provider does not know (made with another key): no run is recorded, and the
    guidance asks for the key the task was created with."""
    maker = sandbox_provider(sandbox_base, "dashscope")
    async with VideoClient(maker) as client:
        created = await client.submit({"model": "wan2.7-t2v", "input": {"prompt": "someone else's"},
                                       "parameters": {"duration": 2, "resolution": "720P"}})
    other = sandbox_provider(sandbox_base, "dashscope", key=new_key())
    for wire in ("dashscope", "gateway"):
        other = sandbox_provider(sandbox_base, wire, key=other.api_key)
        events = await collect(recover(created.task_id, other, ledger, tmp_path, options=options()))
        assert events[-1].state == "unknown", (wire, events[-1].message)
        assert "created with another key" in events[-1].message
        assert events[-1].guidance_id == "recover_unknown"
    assert ledger.runs() == []


def test_recover_endpoint_records_only_confirmed_tasks_once(ui_client: Client, playground_app: RunningApp) -> None:
    """/recover_task: an unknown task asks for its key and adds no History row; a task of a
    typed key recovered twice at once, then again, is one row."""
    unknown = f"{secrets.token_hex(4)}-0000-4000-8000-{secrets.token_hex(6)}"
    status, guidance, video = ui_client.predict(*CONNECTION, unknown, api_name="/recover_task")
    shown = text_of(status + guidance)
    assert "created with another key?" in shown and "type that key in the Connection panel" in shown, shown
    assert video is None
    assert not [r for r in history_rows(ui_client) if r["task id"] == unknown]

    key = f"sk-truth-{secrets.token_hex(8)}"
    ui_client.predict(key, "sandbox", api_name="/set_api_key")
    try:
        typed = sandbox_provider(f"{playground_app.url}/sandbox", "dashscope", key=SecretStr(key))

        async def make() -> str:
            async with VideoClient(typed) as client:
                created = await client.submit({"model": "wan2.7-t2v", "input": {"prompt": "recover me twice"},
                                               "parameters": {"duration": 2, "resolution": "720P"}})
            return created.task_id

        task_id = asyncio.run(make())
        jobs = [ui_client.submit(*CONNECTION, task_id, api_name="/recover_task") for _ in range(2)]
        finals = [job.result(timeout=120) for job in jobs]
        assert all('data-state="succeeded"' in f[0] for f in finals), [text_of(f[0]) for f in finals]
        again, _, _ = ui_client.predict(*CONNECTION, task_id, api_name="/recover_task")
        assert "already ended" in text_of(again)
        assert len([r for r in history_rows(ui_client) if r["task id"] == task_id]) == 1
    finally:
        ui_client.predict("", "sandbox", api_name="/set_api_key")


# -- 8. never look frozen ------------------------------------------------------------------------


async def test_a_streamed_answer_outlives_the_body_read_timeout() -> None:
    """The body guard times the request body only: once it is in, a live status stream may wait
    for the client to go away for as long as the run lasts (it was cut after 30 s, which froze
    every run longer than that)."""
    from playground.web.guards import BodyGuard, BodyLimits

    heard: list[str] = []

    async def stream(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # the (empty) body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        heard.append((await receive())["type"])  # the disconnect, whenever it comes

    async def client_messages() -> dict[str, Any]:
        if not heard and not sent:
            sent.append(1)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(0.5)  # longer than the read timeout below
        return {"type": "http.disconnect"}

    sent: list[int] = []

    async def ignore(message: Any) -> None:
        return None

    guard = BodyGuard(stream, BodyLimits(api_bytes=1000, upload_bytes=1000, read_timeout_s=0.2))
    await guard({"type": "http", "path": "/gradio_api/queue/data", "headers": []}, client_messages, ignore)
    assert heard == ["http.disconnect"]


def test_the_progress_estimate_mirrors_the_sandbox_timing() -> None:
    """The estimate for a sandbox run uses the sandbox's own timing (core cannot import it)."""
    from playground.core import eta
    from playground.sandbox import timing
    from playground.sandbox.scenarios import SCENARIOS

    assert (eta.SANDBOX_QUEUE_S, eta.SANDBOX_RUN_BASE_S, eta.SANDBOX_RUN_PER_OUTPUT_SECOND_S) == (
        timing.QUEUE_S, timing.RUN_BASE_S, timing.RUN_PER_OUTPUT_SECOND_S)
    paced = {name: (s.queue_factor, s.run_factor) for name, s in SCENARIOS.items() if (s.queue_factor, s.run_factor)
             != (1.0, 1.0)}
    assert paced == eta.SANDBOX_PACE
    delays = timing.delays("1080P", 5, SCENARIOS["slow"], 0.3)
    expected = eta.expected_s("1080P", 5, sandbox_scale=0.3, scenario="slow")
    assert expected == pytest.approx(delays.queue_s + delays.run_s)


# -- 9. rehearsals -------------------------------------------------------------------------------


def test_no_guidance_card_shows_a_placeholder() -> None:
    """Only the "what the playground did" line is a template; nothing else holds a {placeholder}."""
    for entry in load_guidance().entries:
        for part in (entry.title, entry.trigger, entry.fix, entry.retry.summary()):
            assert not re.search(r"[{}]", part), (entry.id, part)


REHEARSED_FAILURES = [
    ("dashscope", "task_failed", "failed"),
    ("dashscope", "invalid_key", "refused"),
    ("dashscope", "wrong_endpoint", "refused"),
    ("dashscope", "expired", "expired"),
    ("gateway", "task_failed", "failed"),
    ("gateway", "wrong_endpoint", "refused"),
    ("gateway", "expired", "expired"),
]


@pytest.mark.parametrize(("wire", "scenario", "state"), REHEARSED_FAILURES)
def test_a_rehearsed_failure_says_it_was_rehearsed(ui_client: Client, wire: str, scenario: str, state: str) -> None:
    """Each rehearsed failure's card says "Rehearsed" and names the scenario, holds no
    placeholder, and an expired result reads as expired in both formats, with no Retry line."""
    status, guidance, _, _, _ = ui_client.predict(
        "sandbox", wire, "", scenario, *t2v_form(f"Rehearse {scenario}"), api_name="/send_text_to_video"
    )
    card = text_of(guidance)
    assert f'data-state="{state}"' in status, (text_of(status), card)
    assert "Rehearsed" in card and scenario.replace("_", " ") in card, card
    assert not re.search(r"[{}]", card) and "None" not in card, card
    if scenario == "expired":
        # Expired, in both formats: not "Task unknown", not a key or region problem to check.
        assert re.search(r"Rehearsed: (Task|Result) expired", card), card
        assert "Task unknown" not in card and "key and region match" not in card, card
        assert "Retrying" not in card and "Retry:" not in card, card


@pytest.mark.parametrize("scenario", ["rate_limit", "server_error"])
def test_a_rehearsal_that_retried_to_success_says_so(ui_client: Client, scenario: str) -> None:
    """A rate limit or server error that retried to success leaves a small card saying how many
    retries it took, with its guidance, instead of a bare "Succeeded"."""
    status, guidance, video, _, _ = ui_client.predict(
        "sandbox", "dashscope", "", scenario, *t2v_form(f"Rehearse {scenario} to success"),
        api_name="/send_text_to_video",
    )
    card = text_of(guidance)
    assert 'data-state="succeeded"' in status and video, text_of(status)
    assert "Recovered after 2 retries" in card and "Rehearsed" in card, card
    entry = load_guidance().entry("rate_limited" if scenario == "rate_limit" else "server_error")
    assert entry.fix in card


def test_cancelled_cards_have_no_retry_line() -> None:
    """Nothing to change after a cancel or an expired result: their cards have no Retry line."""
    guidance = load_guidance()
    for entry_id in ("task_canceled", "result_expired", "task_expired"):
        entry = guidance.entry(entry_id)
        assert entry.retry_text() is None
        assert not any(line.startswith("Retry:") for line in entry.lines())
    assert guidance.entry("task_canceled").title == "Task cancelled"
