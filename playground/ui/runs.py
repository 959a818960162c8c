"""The bridge from the UI to the client's runner: connection settings in, RunViews out.

The runner does the work (validate, upload, submit, poll, download, ledger); this module only
chooses the provider for a browser session and turns runner events into what the panels show.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from playground.client import (
    QueueFull,
    RunEvent,
    RunOptions,
    RunState,
    attach_file,
    quote_record,
    waiting_words,
)
from playground.client import run as start_run
from playground.core.eta import estimate_percent, expected_s
from playground.core.guidance import REHEARSED, load_guidance, rehearsal_note
from playground.core.problems import Problem
from playground.core.profile import Mode
from playground.ui.connection import Connection, ConnectionError_, provider_config, run_options
from playground.ui.services import Services
from playground.ui.views import RunView


def clock(ts: float) -> str:
    """A timeline time as the status panel shows it (local, to the millisecond)."""
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3]


def _rehearsed(card: dict[str, Any], scenario: str | None) -> dict[str, Any]:
    """A card of a rehearsal says so, and names the sandbox scenario that staged it."""
    if scenario:
        card["title"] = REHEARSED + card["title"]
        card["did"] = f"{card.get('did') or ''} {rehearsal_note(scenario)}".strip()
    return card


def _guidance(event: RunEvent, recovered: tuple[str, int] | None = None) -> dict[str, Any] | None:
    """The card for a failure, for a retry in progress (so a presenter sees the backoff), for
    something the run said that stays true (a cancel the provider refused), or, once a run that
    retried has succeeded, a small one saying after how many retries (``recovered``: the
    guidance id of the last retry, and how many there were)."""
    error = event.error
    if error is not None:
        entry = error.guidance
        problems = list(getattr(error, "problems", ()) or ())
        return _rehearsed({
            "title": entry.title,
            "trigger": entry.trigger,
            "fix": entry.fix,
            "retry": entry.retry_text(),
            "did": error.did(),
            "details": problems or [error.message],
        }, event.rehearsal)
    note = event.retry
    if note is not None:
        entry = load_guidance().entry(note.guidance_id)
        return _rehearsed({
            "title": f"{entry.title}: retrying",
            "trigger": entry.trigger,
            "fix": entry.fix,
            "retry": entry.retry_text(),
            "did": f"Attempt {note.attempt} of {note.max_attempts} failed ({note.reason}); "
            f"trying again in {note.wait_s:.1f} s.",
            "transient": True,
        }, event.rehearsal)
    if event.notice is not None:
        entry = load_guidance().entry(event.notice[0])
        return {"title": entry.title, "trigger": entry.trigger, "fix": entry.fix, "retry": entry.retry_text(),
                "did": entry.did_text(), "kind": "notice"}
    if recovered is not None and event.state is RunState.SUCCEEDED:
        guidance_id, count = recovered
        entry = load_guidance().entry(guidance_id)
        times = f"{count} retr{'y' if count == 1 else 'ies'}"
        return _rehearsed({
            "title": f"Recovered after {times}: {entry.title}",
            "trigger": entry.trigger,
            "fix": entry.fix,
            "retry": entry.retry_text(),
            "did": f"Sent again after each failure, as the retry line says; after {times} it went through "
            "and the video was made.",
            "kind": "recovered",
        }, event.rehearsal)
    return None


def _measured(event: RunEvent) -> dict[str, Any]:
    info = event.media
    if info is None:
        return {}
    out: dict[str, Any] = {"bytes": f"{info.bytes:,}", "codec": info.codec or "?"}
    if info.width and info.height:
        out["size"] = f"{info.width}×{info.height}"
    if info.duration_s is not None:
        out["duration"] = f"{info.duration_s:.2f} s"
    if info.fps:
        out["fps"] = f"{info.fps:g} fps"
    return out


def _retry_line(event: RunEvent) -> str | None:
    note = event.retry
    if note is None:
        return None
    return f"attempt {note.attempt}/{note.max_attempts} of {note.op}: {note.reason}; waited {note.wait_s:.1f} s"


# A path under the data directory runs to the next space, quote, bracket or separator.
_PATH_TAIL = r"(?:/[^\s'\"()\[\],;]*)?"


def scrub_paths(text: str, services: Services) -> str:
    """Server paths are for the CLI: a browser sees file names only (``video.mp4``), never
    where the server keeps them, not even relative to the data directory."""
    roots = sorted({str(services.data_dir.resolve()), str(services.data_dir)}, key=len, reverse=True)
    for root in roots:
        pattern = re.compile(r"(?<![\w./-])" + re.escape(root) + "(" + _PATH_TAIL + r")(?![\w.-])")
        text = pattern.sub(lambda found: PurePosixPath(found.group(1)).name, text)
    return text


# What the status says once the video is in: the panel below plays it, names its measured
# output, and the video's own download button saves it (the server's path is the CLI's).
VIDEO_READY = "Video ready: it plays below, with its measured output; the video's download button saves it."


def view_of(
    event: RunEvent, services: Services, retries: Sequence[str] = (), *, recovered: tuple[str, int] | None = None
) -> RunView:
    note = event.message
    if event.video_path is not None:
        ready = event.state is RunState.SUCCEEDED
        note = VIDEO_READY if ready else note.replace(str(event.video_path), event.video_path.name)
    guidance = _guidance(event, recovered)
    if guidance is not None:  # a provider's or a file system's message may name a server path too
        guidance = {k: _scrubbed(v, services) for k, v in guidance.items()}
    return RunView(
        state=event.state,
        task_id=event.task_id,
        request_id=event.request_id,
        timeline=[(state, clock(ts)) for state, ts in event.timeline],
        elapsed_s=event.elapsed_s,
        poll_count=event.poll_count,
        next_poll_s=event.next_poll_s,
        progress=event.progress,
        note=scrub_paths(note, services),
        notice=event.notice[1] if event.notice else None,
        guidance=guidance,
        video_path=services.handout(event.video_path),
        measured=_measured(event),
        response=event.raw,
        retries=tuple(retries),
    )


def _scrubbed(value: Any, services: Services) -> Any:
    if isinstance(value, str):
        return scrub_paths(value, services)
    if isinstance(value, list):
        return [_scrubbed(item, services) for item in value]
    return value


def not_sent_view(entry_id: str, note: str, *, trigger: str | None = None, details: Sequence[str] = ()) -> RunView:
    """The panel of a Send refused before anything left: the guidance table's card (``entry_id``),
    with this refusal's own reason as what happened (``trigger``; the table's words otherwise)."""
    entry = load_guidance().entry(entry_id)
    card: dict[str, Any] = {"title": entry.title, "trigger": trigger or entry.trigger, "fix": entry.fix,
                            "retry": entry.retry.summary(), "did": entry.did}
    if details:
        card["details"] = list(details)
    return RunView(state=RunState.INVALID, note=note, guidance=card)


async def enqueue(
    services: Services, connection: Connection, request: Mapping[str, Any], *,
    options: RunOptions | None = None, slot: tuple[str, str] | None = None, mode: str | None = None,
) -> str:
    """Start a run in this browser's queue on the server's board; its run id.

    The run waits (``waiting``, nothing sent) while the browser has
    ``settings.max_runs_per_browser`` runs at the provider, behind the browser's gate, then
    any gates in ``options`` (a batch's provider pressure). This is the one way the UI starts
    a run for a browser: a tab's Send and a variations batch alike.

    Raises :class:`ConnectionError_` (the connection panel is incomplete) or
    :class:`~playground.client.QueueFull` (the browser has :attr:`Services.queue_limit` runs
    unfinished); nothing is sent then.
    """
    provider = provider_config(services, connection)
    base = options or run_options(services)
    mine = services.owner_gate(connection.owner)  # first: a run holds its browser's slot, then waits for its key's
    opts = dataclasses.replace(base, gates=(mine, *(gate for gate in base.gates if gate is not mine)))
    ledger = services.ledger()
    stream = start_run(
        dict(request), provider, ledger, services.runs_dir,
        deadline_s=services.settings.run_deadline_s, session_id=connection.owner, options=opts,
    )
    quoted = quote_record(opts.quote, sandbox=provider.kind == "sandbox") if opts.quote is not None else None
    chosen = mode or request.get("mode")
    return await services.board.start(
        stream, slot=slot, provider=provider, ledger=ledger, owner=connection.owner,
        mode=chosen if isinstance(chosen, str) else None, limit=services.queue_limit, quote=quoted,
    )


def queue_room(services: Services, owner: str) -> int:
    """How many more runs this browser may send now before its queue is full."""
    return max(0, services.queue_limit - services.board.in_queue(owner))


async def follow(
    services: Services, slot: tuple[str, str], connection: Connection, request: Mapping[str, Any],
    *, options: RunOptions | None = None,
) -> AsyncIterator[RunView]:
    """Start a run in the browser's queue and watch it while it is the newest of ``slot``
    (the tab and mode it was sent from, where Cancel finds it): a newer Send takes the slot,
    and this watcher stops before its next view (the run goes on, in the Queue panel).

    ``options`` default to :func:`run_options` (the quote panel adds the run's quote and prices).
    """
    try:
        run_id = await enqueue(services, connection, request, options=options, slot=slot, mode=slot[1])
    except ConnectionError_ as exc:
        yield not_sent_view("connection_incomplete", str(exc), trigger=str(exc))
        return
    except QueueFull as exc:
        yield not_sent_view("queue_full", str(exc), trigger=str(exc))
        return
    async for view in watch(services, run_id, slot=slot):
        yield view


# While a run waits on its provider, the view is drawn again this often, so elapsed time and
# the next-poll countdown move between polls (a poll may be 15 s away) and nothing looks frozen.
TICK_S = 1.0
# Longest a newer run's first view waits for the older watchers of its tab to leave (they leave
# as soon as the UI took their last view; a watcher whose page is gone may never be asked again).
HANDOVER_S = 2.5


def _expected_s(services: Services, run_id: str) -> float | None:
    """How long the run's task is expected to take (for the progress estimate), from its row."""
    record = services.ledger().get(run_id)
    if record is None:
        return None
    try:
        request = json.loads(record.request_json) if record.request_json else {}
    except ValueError:
        request = {}
    if not isinstance(request, dict):
        request = {}
    duration = request.get("duration")
    scale = services.settings.sandbox_delay_scale if record.provider == "sandbox" else None
    return expected_s(str(request.get("resolution") or ""), duration if isinstance(duration, int | float) else None,
                      sandbox_scale=scale, scenario=record.scenario)


def _estimate(event: RunEvent, elapsed_s: float, expected: float | None) -> float | None:
    if expected is None or event.progress is not None or event.state not in (RunState.QUEUED, RunState.RUNNING):
        return None
    return estimate_percent(elapsed_s, expected)


def _ticked(event: RunEvent, view: RunView, expected: float | None) -> RunView:
    """The last view, with elapsed time, the next-poll countdown and the estimate brought up to now."""
    since = max(0.0, time.time() - event.at) if event.at else 0.0
    elapsed = event.elapsed_s + since
    countdown = None if event.next_poll_s is None else max(0.0, event.next_poll_s - since)
    return dataclasses.replace(view, elapsed_s=elapsed, next_poll_s=countdown,
                               estimate=_estimate(event, elapsed, expected))


def _queue_note(services: Services, run_id: str, event: RunEvent, view: RunView) -> RunView:
    """A run waiting for a slot says its place in the browser's queue (it changes while it waits)."""
    if event.state is not RunState.WAITING:
        return view
    ahead = services.board.queue_place(run_id)
    if ahead is None:
        return view
    note = f"{waiting_words(ahead)}. Nothing has been sent yet; it starts when a slot frees."
    said = scrub_paths(event.message, services)
    return dataclasses.replace(view, note=f"{note} ({said})" if said else note)


async def watch(services: Services, run_id: str, *, slot: tuple[str, str] | None = None) -> AsyncIterator[RunView]:
    """Views of a run on the board, from its first event (a refresh can watch it again); while
    it waits, the last view again every :data:`TICK_S` with its clocks moved on.

    With ``slot``, only while the run is that slot's newest: a newer run taking the slot stops
    this watcher at once (the run goes on), and this run's first view waits until the slot's
    older watchers have left, so a tab never gets an older run's view after a newer one's."""

    def newest() -> bool:
        return slot is None or services.board.latest(slot) == run_id

    retries: list[str] = []
    request_id: str | None = None
    recovered: tuple[str, int] | None = None
    expected: float | None = None
    events = services.board.watch(run_id)
    pending: asyncio.Future[RunEvent] | None = None
    latest: tuple[RunEvent, RunView] | None = None
    seats = contextlib.ExitStack()
    moved: asyncio.Future[Any] | None = None
    if slot is not None:
        seat = seats.enter_context(services.board.watchers.watching(slot, run_id, services.board.latest(slot)))
        moved = asyncio.ensure_future(seat.moved.wait())
    handed_over = slot is None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            if moved is not None and moved.done() and newest():
                moved = None  # the slot came back to this run (a reload showed it again)
            ticking = latest is not None and latest[0].state.active
            waits = {pending} if moved is None else {pending, moved}
            await asyncio.wait(waits, timeout=TICK_S if ticking else None, return_when=asyncio.FIRST_COMPLETED)
            if not newest():
                return
            if not pending.done():
                if latest is not None:  # a tick (not the slot coming back before any event)
                    yield _queue_note(services, run_id, latest[0], _ticked(*latest, expected))
                continue
            arrived, pending = pending, None
            try:
                event = arrived.result()
            except StopAsyncIteration:
                return
            line = _retry_line(event)
            if line is not None and line not in retries:
                retries.append(line)
            if event.retry is not None:
                recovered = (event.retry.guidance_id, len(retries))
            if expected is None and event.state in (RunState.QUEUED, RunState.RUNNING):
                expected = _expected_s(services, run_id)
            view = view_of(event, services, retries, recovered=recovered)
            # One request id per request: the create's (the first the run learnt), not each poll's.
            request_id = request_id or view.request_id
            view.request_id = request_id
            view.estimate = _estimate(event, event.elapsed_s, expected)
            latest = (event, view)
            if not handed_over and slot is not None:
                await services.board.watchers.handed_over(slot, run_id, HANDOVER_S)
                handed_over = True
            if not newest():
                return
            yield _queue_note(services, run_id, event, view)
    finally:
        for waiting in (pending, moved):
            if waiting is not None and not waiting.done():
                waiting.cancel()
                await asyncio.wait({waiting})
        seats.close()
        close = getattr(events, "aclose", None)  # an async generator: leaving it early closes it
        if close is not None:
            await close()


async def attach(
    services: Services, connection: Connection, path: Path, limit_name: str, loc: tuple[str | int, ...], mode: Mode,
) -> tuple[str | None, list[Problem]]:
    """Probe a local file against its limit, then upload it; the URL to use, or the problems.

    The client's attach path does the work; this only picks the provider and the model. The
    upload is bound to the model of the mode it is for (DashScope refuses a temporary file for
    any other model), and recorded in the server's UploadBook, so a Send for another model (or
    with another key, or after 48 h) uploads it again rather than sending a URL that would fail.
    """
    try:
        provider = provider_config(services, connection)
    except ConnectionError_ as exc:
        return None, [Problem(loc, str(exc), "complete the connection panel")]
    done = await attach_file(
        provider, path, limit=limit_name, model=services.profile.mode(mode).dashscope_model,
        profile=services.profile, loc=loc, owner=connection.owner, book=services.uploads,
    )
    return done.url, list(done.problems)
