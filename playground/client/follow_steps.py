"""The steps after the create: poll to the end, then download and probe the video."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playground.client.api import RetryNote, StatusRead
from playground.client.billing import record_bill
from playground.client.errors import (
    ApiRefused,
    DeadlinePassed,
    DownloadFailed,
    PlaygroundError,
    ResultExpired,
    TaskFailed,
)
from playground.client.providers import has_token_usage
from playground.client.run_state import CANCEL_TIMEOUT_S, Run, RunEvent, awaiting, retry_event, retry_line, with_notes
from playground.core.guidance import load_guidance
from playground.core.polling import Observation, PollDeadline, StatusUpdate, is_terminal, watch
from playground.core.run_states import RunState

if TYPE_CHECKING:
    from playground.media.probe import MediaInfo

# How long a status read may take once the deadline is (nearly) reached: the last look gets as
# long as the cancel that may follow it.
LAST_LOOK_S = CANCEL_TIMEOUT_S
# How often a wait between polls looks for a cancel request: a Cancel click is acted on within
# this long, not at the next poll (which a provider's hint may put 15 s away).
CANCEL_CHECK_S = 1.0
# The states in which the provider has shown that it knows the task.
_SEEN = frozenset({RunState.QUEUED, RunState.RUNNING, RunState.DOWNLOADING})


async def follow(r: Run, initial: Observation | None) -> AsyncIterator[RunEvent]:
    """Poll to a terminal state, then deliver the video or raise the task's failure."""
    assert r.task_id is not None
    task_id = r.task_id
    last: list[StatusRead] = []

    async def fetch() -> Observation:
        # A read that hangs (its retries included) must not carry the run past its deadline:
        # it gets the time left, or LAST_LOOK_S for the last look at the deadline itself.
        left = r.deadline_s - (r.now() - r.started_at)
        try:
            async with asyncio.timeout(max(left, LAST_LOOK_S)):
                read = await r.client.status(task_id)
        except TimeoutError:
            raise PollDeadline(r.now() - r.started_at, await cancel_remote(), None) from None
        last.append(read)
        return Observation(read.task.state, read.task.progress, read.task.eta_s, read.poll_after_s, read)

    async def cancel_remote() -> bool:
        r.cancel_sent = True
        try:
            return await asyncio.wait_for(r.client.cancel(task_id), CANCEL_TIMEOUT_S)
        except (PlaygroundError, TimeoutError):
            return False

    async def nap(seconds: float) -> None:
        left = seconds
        while left > 0:
            step = min(left, CANCEL_CHECK_S)
            await r.options.sleep(step)
            left -= step
            if left > 0 and _cancel_requested(r):
                return

    updates = watch(
        fetch, clock=r.now, sleep=nap, deadline_s=r.deadline_s, started_at=r.started_at,
        initial=initial, schedule=r.options.schedule, cancel=cancel_remote,
    )
    # A status read's retries are shown while it retries, not with the reading after it (a read
    # that fails for good has no reading after it).
    live = with_notes(r, updates)
    try:
        async for update in live:
            if isinstance(update, RetryNote):
                yield retry_event(r, update)
                continue
            event = _on_update(r, update, last[-1] if last else None)
            if event is not None:
                yield event
            if update.terminal:
                break
            if _cancel_requested(r):
                yield r.emit(r.state, "cancel requested; asking the provider to cancel the task", log=True)
                reads: list[StatusRead] = []
                async for event in awaiting(r, _cancel_and_read(r, task_id, cancel_remote), reads):
                    yield event
                read = reads[0]
                last.append(read)
                if is_terminal(read.task.state):
                    if read.task.state != "canceled":
                        yield r.emit(r.state, f"the task had already ended ({read.task.state}); nothing to cancel",
                                     log=True)
                    break
                # DashScope cancels only PENDING tasks, the gateway format none at all: this task
                # runs on and is billed, so its video is worth having. Say so, and follow it.
                yield _cancel_refused(r, read.task.state)
    except PollDeadline as exc:
        raise DeadlinePassed(waited_s=exc.waited_s, cancelled=exc.cancelled, task_id=task_id) from None
    except ApiRefused as exc:
        if exc.status == 404 and last:
            # The task was readable before and is gone now: it expired or was deleted.
            raise _expired(task_id, exc.code, exc.provider_message, exc.request_id) from exc
        raise
    finally:
        await live.aclose()
        await updates.aclose()
    if not last:
        return
    async for event in _finish(r, last[-1]):
        yield event


async def _cancel_and_read(r: Run, task_id: str, cancel_remote: Callable[[], Awaitable[bool]]) -> StatusRead:
    """Cancel on request: the task's state after asking (someone may have canceled it already)."""
    read = await r.client.status(task_id)
    if is_terminal(read.task.state):
        return read
    await cancel_remote()
    return await r.client.status(task_id)


def _cancel_refused(r: Run, state: str) -> RunEvent:
    """The provider would not cancel: said once, kept as the run's notice, followed to the end."""
    word = "running" if state == "running" else "queued"
    sentence = f"the provider could not cancel a {word} task; it will finish and be billed; following it to its end"
    r.notice = ("cancel_refused", sentence)
    entry = load_guidance().entry("cancel_refused")
    columns = {"guidance_id": entry.id, "guidance_text": "\n".join(entry.lines())}
    return r.emit(r.state, sentence, log=True, columns=columns)


def _expired(task_id: str, code: str | None, message: str | None, request_id: str | None) -> TaskFailed:
    said = f" ({code}: {message})" if code else f" ({message})" if message else ""
    return TaskFailed(
        state="expired", code=None, task_id=task_id, guidance=load_guidance().entry("task_expired"),
        message=f"the provider knew this task and no longer does{said}: it has expired", request_id=request_id,
    )


def _cancel_requested(r: Run) -> bool:
    record = r.ledger.get(r.run_id)
    return bool(record and record.cancel_requested and not r.cancel_sent)


def _on_update(r: Run, update: StatusUpdate, read: StatusRead | None) -> RunEvent | None:
    r.poll_count = update.poll_count
    r.progress = update.progress
    columns: dict[str, Any] = {"poll_count": r.poll_count, "heartbeat_at": r.now()}
    if read is not None and update.poll_count:
        r.raw = read.raw
        r.request_id = read.request_id or r.request_id
        columns |= {"last_response": json.dumps(read.raw), "last_request_id": r.request_id}
    notes = []
    while not r.notes.empty():
        notes.append(r.notes.get_nowait())
    if update.terminal or (update.poll_count == 0 and not notes):
        # The create answer was reported already; a terminal state is reported by what
        # follows it (the download, or the failure with its guidance).
        r.ledger.update(r.run_id, **columns)
        return None
    state = RunState(update.state)  # while its task is followed, the run is in the task's state
    progress = f" {update.progress:.0f}%" if update.progress is not None else ""
    after = f", next poll in {update.next_poll_s:.1f} s" if update.next_poll_s is not None else ""
    text = f"{update.state}{progress} (poll {update.poll_count}{after})"
    if notes:
        text += "; " + "; ".join(retry_line(n) for n in notes)
    return r.emit(state, text, next_poll_s=update.next_poll_s, columns=columns, retry=notes[-1] if notes else None)


async def _finish(r: Run, read: StatusRead) -> AsyncIterator[RunEvent]:
    task = read.task
    if task.state == "succeeded":
        record_bill(r, read)  # billed on success, before the download: the task is what is charged
        if not task.video_url:
            raise DownloadFailed("the task succeeded but its answer has no video URL")
        async for event in deliver(r, task.video_url, task.expires_at, f"task {task.task_id} succeeded; "):
            yield event
        return
    if task.state == "unknown" and any(state in _SEEN for state, _ in r.timeline):
        # DashScope reads a task it has deleted (about 24 h on) as UNKNOWN: one it knew before
        # has expired, whatever the key or region (those would have failed from the start).
        raise _expired(task.task_id, task.error_code, task.error_message or "it reads as UNKNOWN", read.request_id)
    guidance = load_guidance()
    charged = has_token_usage(read.raw)
    entry = guidance.entry("task_charged_chat") if charged else guidance.for_task(task.state, task.error_code)
    raise TaskFailed(state=task.state, code=task.error_code, message=task.error_message, task_id=task.task_id,
                     guidance=entry, request_id=read.request_id)


async def deliver(r: Run, url: str, expires_at: float | None, lead: str = "") -> AsyncIterator[RunEvent]:
    """Download the result into the run's folder and prove it is a playable video."""
    # PyAV loads slowly; only a run that reached its video needs it.
    from playground.media.probe import MediaError, probe

    path = r.out_dir / r.run_id / "video.mp4"
    columns = {"result_url": url, "expires_at": expires_at}
    yield r.emit(RunState.DOWNLOADING, f"{lead}downloading the video to {path}", columns=columns)
    probed: list[MediaInfo] = []

    async def playable(candidate: Path) -> str | None:
        # Probed before it takes the final name, so an error page saved as video.mp4 is never
        # left there, and a bad file counts as a failed download, retried as the table says.
        try:
            found = await asyncio.to_thread(probe, candidate)
        except MediaError as exc:
            return f"the downloaded file is not a playable video: {str(exc).replace(candidate.name, path.name)}"
        if found.kind != "video":
            return f"the downloaded file is {found.kind}, not a video"
        probed.append(found)
        return None

    sizes: list[int] = []
    try:
        async for event in awaiting(r, r.client.download(url, path, check=playable), sizes):
            yield event
    except DownloadFailed as exc:
        if not isinstance(exc, ResultExpired) and expires_at is not None and expires_at < r.now():
            raise ResultExpired(f"the result link expired at {_clock_text(expires_at)}: {exc.message}") from exc
        raise
    size, info = sizes[0], probed[-1]
    columns = {"result_path": str(path), "media_json": json.dumps(_media_dict(info)), "finished": 1}
    yield r.emit(RunState.SUCCEEDED, f"video saved: {path} ({info.summary()}, {size} bytes)", video_path=path,
                 media=info, columns=columns)


def _media_dict(info: MediaInfo) -> dict[str, Any]:
    names = ("kind", "format", "bytes", "width", "height", "duration_s", "fps", "codec", "frames")
    return {k: getattr(info, k) for k in names}


def _clock_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
