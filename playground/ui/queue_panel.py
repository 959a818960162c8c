"""The Queue panel: this browser's runs in flight (mode, state, elapsed, quote), with Cancel.

Send never blocks: each Send starts a run in the browser's queue (``runs.enqueue``); the tab
follows the newest, and older runs go on here. The list is the board's
(:meth:`~playground.client.RunBoard.runs_of`), refreshed each second by a timer that runs only
while something is in flight (and a few ticks after a Send, until its run shows up). Cancel
tells the truth: a run that has sent nothing yet is dropped with nothing sent; any other is
the provider's to cancel, and its answer is shown as it is.

Two API endpoints, answering JSON (``/queue``, ``/cancel_run``): the owner is always the
browser's signed cookie (``handlers.owner_of``), so no caller can see or cancel another's runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.events import api as gradio_api  # gr.api, which gradio does not list in __all__

from playground.client import QueuedRun
from playground.core.problems import shown
from playground.ui.forms import TAB_LABELS
from playground.ui.handlers import owner_of
from playground.ui.services import Services
from playground.ui.views import esc

# Ticks with nothing in flight before the timer stops: a Send's run may take a moment to show.
IDLE_TICKS = 4
TICK_S = 1.0


@dataclass
class QueuePanel:
    box: gr.Accordion
    table: gr.HTML
    pick: gr.Radio
    cancel: gr.Button
    answer: gr.HTML
    data: gr.JSON  # what ``/queue`` answers; the table and the choices are drawn from it
    timer: gr.Timer
    idle: gr.State


def _title(count: int) -> str:
    return f"Queue ({count} in flight)" if count else "Queue (no runs in flight)"


def build() -> QueuePanel:
    """The panel (an accordion under the connection panel; laid out where it is called)."""
    with gr.Accordion(_title(0), open=False, elem_id="queue-panel") as box:
        table = gr.HTML(table_html([]), padding=False, elem_id="queue-table")
        with gr.Row(equal_height=False):
            pick = gr.Radio([], value=None, label="Run to cancel", elem_id="queue-pick", scale=4,
                            info="Choose a run of this browser, then Cancel selected run")
            cancel = gr.Button("Cancel selected run", scale=1, elem_id="queue-cancel")
        answer = gr.HTML("", padding=False, elem_id="queue-answer")
    data = gr.JSON(value=[], visible=False)
    timer = gr.Timer(TICK_S, active=False)
    idle = gr.State(0)
    return QueuePanel(box, table, pick, cancel, answer, data, timer, idle)


# -- what is shown ----------------------------------------------------------------------------------


def _mode_label(mode: object) -> str:
    return TAB_LABELS.get(mode, str(mode or "—")) if isinstance(mode, str) else "—"  # type: ignore[call-overload]


def table_html(entries: Sequence[dict[str, Any]]) -> str:
    """The queue as a table (mode, state, elapsed, quote, run id), or one line when it is empty."""
    if not entries:
        return ('<section aria-label="Run queue" class="queue measured" data-count="0">'
                "No runs in flight. Each Send starts a new run; the tab shows the newest, the others go on "
                "here.</section>")
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Mode", "State", "Elapsed", "Cost quote", "Run id"))
    rows = "".join(
        f'<tr data-run-id="{esc(e.get("run_id"))}" data-state="{esc(e.get("state"))}" '
        f'data-task-id="{esc(e.get("task_id") or "")}">'
        f"<td>{esc(_mode_label(e.get('mode')))}</td><td>{esc(e.get('label'))}</td>"
        f"<td>{esc(_seconds(e.get('elapsed_s')))}</td><td>{esc(e.get('quote') or '—')}</td>"
        f"<td><code>{esc(e.get('run_id'))}</code></td></tr>"
        for e in entries
    )
    return (f'<section aria-label="Run queue" class="queue" data-count="{len(entries)}"><table>'
            f"<caption>This browser's runs in flight, oldest first</caption><tr>{head}</tr>{rows}</table></section>")


def _seconds(value: object) -> str:
    return f"{value:.0f} s" if isinstance(value, int | float) else "—"


def choices(entries: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """The runs Cancel can name: "Text-to-Video · Running · 12 s · run-…-3fa2b1c0"."""
    return [(f"{_mode_label(e.get('mode'))} · {e.get('label')} · {_seconds(e.get('elapsed_s'))} · {e.get('run_id')}",
             str(e.get("run_id"))) for e in entries]


def answer_html(message: str, outcome: str) -> str:
    return (f'<div role="status" aria-live="polite" class="queue-answer measured" data-outcome="{esc(outcome)}">'
            f"{esc(message)}</div>")


# -- handlers ---------------------------------------------------------------------------------------


def listing(services: Services, owner: str) -> list[dict[str, Any]]:
    """One owner's runs in flight, as ``/queue`` answers them."""
    found: list[QueuedRun] = services.board.runs_of(owner)
    return [entry.to_json() for entry in found]


def make_queue(services: Services) -> Callable[[gr.Request], list[dict[str, Any]]]:
    def queue(request: gr.Request) -> list[dict[str, Any]]:
        """This browser's runs in flight, oldest Send first: run_id, mode, state, label, elapsed_s,
        task_id, ahead (runs waiting before it), quote (the headline), quote_total_max, currency."""
        return listing(services, owner_of(services, request))

    return queue


def make_cancel_run(services: Services) -> Callable[[Any, gr.Request], Awaitable[dict[str, Any]]]:
    async def cancel_run(run_id: str, request: gr.Request) -> dict[str, Any]:
        """Cancel one of this browser's runs by its run id. Answers outcome ("dropped": nothing
        had been sent; "accepted"/"refused": the provider's answer; "requested": its create is in
        flight; "ended"; "absent": no such run of this browser) and a message saying what happened."""
        if not isinstance(run_id, str) or not run_id.strip():
            raise gr.Error(f"run_id: {shown(run_id)} is not a run id; send one that /queue lists")
        answer = await services.board.cancel_run(owner_of(services, request), run_id.strip(), services.ledger())
        return answer.to_json()

    return cancel_run


def _render(entries: Any, picked: str | None) -> tuple[Any, ...]:
    listed = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    ids = {str(e.get("run_id")) for e in listed}
    value = picked if picked in ids else None
    timer = gr.Timer(active=True) if listed else gr.skip()
    return (table_html(listed), gr.update(choices=choices(listed), value=value),
            gr.update(label=_title(len(listed))), timer)


def _make_tick(services: Services) -> Callable[[int, gr.Request], tuple[Any, ...]]:
    def tick(idle: int, request: gr.Request) -> tuple[Any, ...]:
        found = listing(services, owner_of(services, request))
        idle = 0 if found else int(idle or 0) + 1
        return found, idle, gr.Timer(active=idle < IDLE_TICKS)

    return tick


def _wake() -> tuple[Any, int]:
    return gr.Timer(active=True), 0


def wire(demo: gr.Blocks, services: Services, panel: QueuePanel, sends: Iterable[Any]) -> None:
    """``/queue`` and ``/cancel_run``, the timer, and a refresh on every Send (``sends``: their click events)."""
    gradio_api(make_queue(services), api_name="queue", queue=False)
    cancel_fn = make_cancel_run(services)
    gradio_api(cancel_fn, api_name="cancel_run")
    list_fn = make_queue(services)
    demo.load(list_fn, None, [panel.data], api_visibility="private", queue=False, show_progress="hidden")
    panel.data.change(_render, [panel.data, panel.pick], [panel.table, panel.pick, panel.box, panel.timer],
                      api_visibility="private", queue=False, show_progress="hidden")
    panel.timer.tick(_make_tick(services), [panel.idle], [panel.data, panel.idle, panel.timer],
                     api_visibility="private", queue=False, show_progress="hidden")
    for send in sends:
        send(_wake, None, [panel.timer, panel.idle], api_visibility="private", queue=False, show_progress="hidden")

    async def cancel_picked(run_id: str | None, request: gr.Request) -> tuple[str, Any]:
        if not run_id:
            return answer_html("Choose a run in the list first, then Cancel selected run.", "none"), gr.skip()
        answer = await cancel_fn(run_id, request)
        return answer_html(answer["message"], answer["outcome"]), list_fn(request)

    panel.cancel.click(cancel_picked, [panel.pick], [panel.answer, panel.data], api_visibility="private",
                       show_progress="hidden")
