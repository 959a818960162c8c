"""After a reload, or in a second tab of the same browser, each mode tab shows its latest run.

The browser is known by its server-signed cookie (``handlers.owner_of``); the ledger names that
browser's newest run in each mode. The run's request fills the tab's form again, and its status,
guidance, video and final response show as they are: followed live while the server's board
still drives the run (the tab's Cancel button then stops it), else as the ledger recorded it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import gradio as gr

from playground.client import RunRecord, RunState
from playground.core.profile import Mode
from playground.ui import history_views, runs
from playground.ui.forms import field_names, form_from_request
from playground.ui.handlers import owner_of, sid
from playground.ui.services import Services
from playground.ui.views import RunView, measured_html, status_html

# A run that ended longer ago than this is History's, not the tab's: a tab opened the next day
# starts empty. Unfinished runs are shown whatever their age.
RESTORE_WINDOW_S = 24 * 3600.0
# status, guidance, video, measured output, final response: what a tab's run panel shows.
PANEL_SIZE = 5


def latest_run(services: Services, owner: str, mode: Mode, *, now: float | None = None) -> RunRecord | None:
    """The owner's newest run in a mode, if it is still under way or ended recently."""
    record = services.ledger().latest(owner, mode)
    if record is None:
        return None
    now = time.time() if now is None else now
    if record.finished and now - record.updated_at > RESTORE_WINDOW_S:
        return None
    return record


def _measured(record: RunRecord) -> dict[str, Any]:
    try:
        media = json.loads(record.media_json) if record.media_json else None
    except ValueError:
        media = None
    if not isinstance(media, dict) or not history_views.video_of(record):
        return {}
    out: dict[str, Any] = {"bytes": f"{media.get('bytes') or 0:,}", "codec": media.get("codec") or "?"}
    if media.get("width") and media.get("height"):
        out["size"] = f"{media['width']}×{media['height']}"
    if media.get("duration_s") is not None:
        out["duration"] = f"{media['duration_s']:.2f} s"
    if media.get("fps"):
        out["fps"] = f"{media['fps']:g} fps"
    return out


def recorded_panel(services: Services, record: RunRecord, *, now: float | None = None) -> list[Any]:
    """The run panel for a run the board is not driving: what the ledger recorded of it."""
    events = services.ledger().events(record.run_id)
    note = runs.scrub_paths(events[-1].detail or "", services) if events else ""
    if record.state == RunState.SUCCEEDED and history_views.video_of(record):
        note = runs.VIDEO_READY  # as the live view says it: the file is the video below, not a path
    if not record.finished:
        follow = f"recover task {record.task_id} by id in History to follow it" if record.task_id else (
            "it never reached the provider")
        note = f"{note} (this run is not being followed right now: {follow})" if note else follow
    end = record.updated_at if record.finished else (time.time() if now is None else now)
    try:
        response = json.loads(record.last_response) if record.last_response else None
    except ValueError:
        response = None
    view = RunView(
        state=record.state,
        task_id=record.task_id,
        request_id=record.submit_request_id or record.last_request_id,
        timeline=[(e.state, runs.clock(e.at)) for e in events],
        elapsed_s=max(0.0, end - record.created_at),
        poll_count=record.poll_count,
        note=note,
        video_path=services.handout(history_views.video_of(record)),
        measured=_measured(record),
        response=response,
    )
    return [
        status_html(view),
        history_views.guidance_html(record),
        view.video_path,
        measured_html(view.measured),
        json.dumps(response, indent=2, ensure_ascii=False) if response is not None else "",
    ]


def make_restore(services: Services, mode: Mode) -> Callable[[gr.Request], AsyncIterator[list[Any]]]:
    """On page load: the tab's form and run panel as this browser's latest run in the mode left them."""
    names = field_names(mode)

    async def restore(request: gr.Request) -> AsyncIterator[list[Any]]:
        keep_form = [gr.skip() for _ in names]
        record = latest_run(services, owner_of(services, request), mode)
        if record is None:
            yield [*keep_form, *(gr.skip() for _ in range(PANEL_SIZE))]
            return
        sent = history_views.request_of(record)
        values = form_from_request(sent) if sent.get("mode") == mode else {}
        form = [values.get(name) for name in names] if values else keep_form
        if not services.board.show_in((sid(request), mode), record.run_id):
            yield [*form, *recorded_panel(services, record)]
            return
        # Live: skip the events already seen (the view of the newest one carries them all), then
        # follow the run to its end. The form is set once: later updates leave what is typed.
        already = services.board.seen(record.run_id) - 1
        index = 0
        async for view in runs.watch(services, record.run_id):
            if index >= already:
                yield [*(form if index <= max(already, 0) else keep_form), *view.as_outputs()]
            index += 1

    restore.__name__ = f"restore_{mode.replace('-', '_')}"
    return restore
