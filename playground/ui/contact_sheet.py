"""The contact sheet: a batch's videos in a grid labelled by their axis values, from the ledger.

The sheet is drawn from this browser's runs of the batch (``batch_runs.batch_of``), so a reload
or a restart shows it again as it is. Videos are linked with signed, expiring media links
(:func:`playground.web.media.media_url`), never by a server path. Each cell says its run's state
while it runs, and has: Open run (its History details), Load into form (History's own path,
so the form reproduces the variation's request), Star (the showcase store) and Export (the run
bundle). "Play all in sync" starts every video at 0 together and keeps them aligned.

The cells' buttons reach the server through one private ``select`` event of the sheet (the
button's action and run id as the event data); the handler checks both, and acts only on a run
of this browser's batch.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.client import RunRecord, RunState, label_of
from playground.core.profile import Mode
from playground.ui import batch_runs, history, history_views
from playground.ui.handlers import owner_of
from playground.ui.services import Services
from playground.ui.showcase_actions import store_of
from playground.ui.views import esc
from playground.web.media import media_url

ACTIONS = ("open", "load", "star", "export")
# Media links are signed for two hours from the start of the hour: the sheet's HTML stays the
# same within the hour (so it is not redrawn, restarting its videos, on every status tick) and
# a link always has an hour or more left.
_LINK_PERIOD_S = 3600
_LINK_TTL_S = 2 * 3600


@dataclass
class ContactSheet:
    mode: Mode
    batch: gr.Textbox  # the batch shown: set by Send all, or on load (this browser's latest batch)
    html: gr.HTML
    data: gr.JSON  # /batch_status's answer the HTML was drawn from
    timer: gr.Timer  # ticks while a run of the batch is under way
    note: gr.HTML  # what a cell's button did
    bundle: gr.File  # a cell's exported run bundle


def build_sheet(mode: Mode) -> ContactSheet:
    batch = gr.Textbox(label="Batch", interactive=False, elem_id=f"{mode}-batch",
                       info="The batch the contact sheet shows (Send all starts one; History lists them all)")
    shown = gr.HTML(padding=False, elem_id=f"{mode}-sheet", js_on_load=SHEET_JS)
    data = gr.JSON(value=None, visible=False)
    note = gr.HTML(padding=False, elem_id=f"{mode}-sheet-note")
    bundle = gr.File(label="Exported run bundle", interactive=False, elem_id=f"{mode}-sheet-bundle")
    return ContactSheet(mode, batch, shown, data, gr.Timer(2.0, active=False), note, bundle)


def video_link(services: Services, run_id: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    start = int(now) - int(now) % _LINK_PERIOD_S
    return media_url(services.secret, run_id, ttl_s=_LINK_TTL_S, now=start)


def _starred(services: Services, owner: str) -> set[str]:
    try:
        return set(store_of(services).starred(owner))
    except Exception:  # the showcase is extra: a sheet shows without it
        return set()


def status(services: Services, owner: str, batch_id: str, records: Sequence[RunRecord]) -> dict[str, Any]:
    """What ``/batch_status`` answers: each run's state, axis values and video link."""
    if not records:
        return {"batch_id": batch_id, "found": False, "runs": [],
                "message": f"batch_id: no batch {batch_id} in this browser's history"}
    starred = _starred(services, owner)
    cells = []
    for record in records:
        state = RunState.parse(record.state)
        video = history_views.video_of(record) is not None
        cells.append({
            "run_id": record.run_id, "state": record.state, "label": label_of(record.state),
            "values": record.variation() or {}, "task_id": record.task_id,
            "finished": bool(record.finished), "video_url": video_link(services, record.run_id) if video else None,
            "starred": record.run_id in starred,
            "active": bool(state is not None and (state.active or (state.resumable and not record.finished))),
        })
    sent = history_views.request_of(records[0])
    counts: dict[str, int] = {}
    for record in records:
        counts[record.state] = counts.get(record.state, 0) + 1
    return {"batch_id": batch_id, "found": True, "mode": sent.get("mode"), "total": len(cells),
            "running": sum(1 for c in cells if c["active"]), "videos": sum(1 for c in cells if c["video_url"]),
            "states": counts, "runs": cells}


def _positions(runs: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]] | None:
    """(row, column) of each cell when the batch has two axes: first axis rows, second columns."""
    keys = list((runs[0].get("values") or {}).keys()) if runs else []
    if len(keys) != 2:
        return None
    rows: list[str] = []
    cols: list[str] = []
    for run in runs:
        values = run.get("values") or {}
        for key, seen in zip(keys, (rows, cols), strict=True):
            shown = json.dumps(values.get(key), sort_keys=True)
            if shown not in seen:
                seen.append(shown)
    return [(rows.index(json.dumps((r.get("values") or {}).get(keys[0]), sort_keys=True)) + 1,
             cols.index(json.dumps((r.get("values") or {}).get(keys[1]), sort_keys=True)) + 1) for r in runs]


def _cell(run: Mapping[str, Any], place: tuple[int, int] | None) -> str:
    run_id = esc(run["run_id"])
    name = batch_runs.label(run.get("values"))
    style = f' style="grid-row:{place[0]};grid-column:{place[1]}"' if place else ""
    if run.get("video_url"):
        media = (f'<video class="sync" src="{esc(run["video_url"])}" muted playsinline loop controls '
                 f'preload="auto" aria-label="Video: {esc(name)}"></video>')
    else:
        media = f'<div class="novideo">{esc(run["label"])}</div>'
    star = "★ Starred" if run.get("starred") else "☆ Star"
    pressed = "true" if run.get("starred") else "false"

    def button(act: str, text: str, extra: str = "") -> str:
        return (f'<button type="button" data-act="{act}" data-run="{run_id}"{extra} '
                f'aria-label="{esc(text)}: {esc(name)}">{esc(text)}</button>')

    actions = (button("open", "Open run") + button("load", "Load into form")
               + button("star", star, f' aria-pressed="{pressed}"') + button("export", "Export"))
    return (
        f'<figure class="sheet-cell" data-run="{run_id}" data-state="{esc(run["state"])}"{style}>'
        f'<figcaption><strong>{esc(name)}</strong> <span class="sheet-state">{esc(run["label"])}</span>'
        f"</figcaption>{media}<div class=\"sheet-actions\">{actions}</div></figure>"
    )


def sheet_html(data: Mapping[str, Any] | None) -> str:
    """The sheet drawn from :func:`status`'s answer (empty before any batch)."""
    if not data:
        return ""
    if not data.get("found"):
        return (f'<section aria-label="Contact sheet" class="sheet none"><p>{esc(data.get("message", ""))}</p>'
                "</section>")
    runs: list[Mapping[str, Any]] = list(data.get("runs") or [])
    places = _positions(runs)
    cells = "".join(_cell(run, places[i] if places else None) for i, run in enumerate(runs))
    # Two axes: one row per value of the first, one column per value of the second.
    columns = (f' style="grid-template-columns:repeat({max(c for _, c in places)}, minmax(180px, 320px))"'
               if places else "")
    states = ", ".join(f"{n} {label_of(s).lower()}" for s, n in (data.get("states") or {}).items())
    summary = f"Batch {data['batch_id']}: {data['total']} run{'s' * (data['total'] != 1)} ({states})"
    return (
        f'<section aria-label="Contact sheet" class="sheet" data-batch="{esc(data["batch_id"])}" '
        f'data-total="{data["total"]}" data-running="{data["running"]}" data-videos="{data["videos"]}">'
        f'<div class="sheet-head"><span>{esc(summary)}</span>'
        '<button type="button" class="sync-play" data-act="sync">▶ Play all in sync</button></div>'
        f'<div class="sheet-grid"{columns}>{cells}</div></section>'
    )


# The sheet's own script (Gradio runs it once, with ``element`` the sheet's root and ``trigger``
# its event function): a cell's button sends a select event naming its action and run; the sync
# button hands the sheet to the page's one ``wanSyncPlay`` (the comparison uses the same).
SHEET_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-act]');
  if (!button || !element.contains(button)) return;
  if (button.dataset.act === 'sync') { window.wanSyncPlay && window.wanSyncPlay(element); return; }
  trigger('select', {index: button.dataset.act, value: button.dataset.run});
});
"""


# -- Gradio ------------------------------------------------------------------------------------


def _records(services: Services, request: gr.Request | None, batch_id: str | None) -> tuple[str, list[RunRecord]]:
    found = batch_runs.valid_batch_id(batch_id)
    if found is None:
        raise gr.Error("batch_id: not a batch id; use the id Send all answered (batch- and 16 hex digits)")
    return found, batch_runs.batch_of(services, owner_of(services, request), found)


def make_status(services: Services) -> Callable[..., tuple[str, dict[str, Any] | None]]:
    def batch_status(batch_id: str | None, request: gr.Request) -> tuple[str, dict[str, Any] | None]:
        """Each run of one of this browser's batches: state, axis values, video link."""
        if isinstance(batch_id, str) and not batch_id.strip():
            return "", None
        found, records = _records(services, request, batch_id)
        data = status(services, owner_of(services, request), found, records)
        return sheet_html(data), data

    return batch_status


def make_follow(services: Services) -> Callable[..., tuple[Any, Any]]:
    batch_status = make_status(services)

    def follow(batch_id: str | None, shown: dict[str, Any] | None, request: gr.Request) -> tuple[Any, Any]:
        """The sheet again, only when something in it changed (a redraw restarts its videos)."""
        drawn, data = batch_status(batch_id, request)
        if data == shown:
            return gr.skip(), gr.skip()
        return drawn, data

    return follow


def _ticking(data: dict[str, Any] | None) -> gr.Timer:
    return gr.Timer(active=bool(data and data.get("running")))


def make_restore(services: Services, mode: Mode) -> Callable[[gr.Request], Any]:
    def restore_batch(request: gr.Request) -> Any:
        """After a reload: this browser's latest batch in the mode, so its sheet comes back."""
        found = batch_runs.latest_batch(services, owner_of(services, request), mode)
        return found if found is not None else gr.skip()

    return restore_batch


def make_action(services: Services, size: int) -> Callable[..., list[Any]]:
    """A cell's button: ``size`` is how many outputs Load into form writes (the tab strip and
    every tab's inputs); then History's selected run, the bundle, the sheet, its data and the note."""
    load = history._make_load(services)
    bundle = history._make_bundle(services)
    batch_status = make_status(services)

    def sheet_action(batch_id: str | None, evt: gr.SelectData, request: gr.Request) -> list[Any]:
        keep = [gr.skip() for _ in range(size)]
        action, run_id = str(evt.index or ""), str(evt.value or "")
        found, records = _records(services, request, batch_id)
        if action not in ACTIONS or run_id not in {r.run_id for r in records}:
            raise gr.Error("run_id: no such run in this browser's batch")
        if action == "load":
            return [*load(run_id, request), gr.skip(), gr.skip(), gr.skip(), gr.skip(), ""]
        if action == "open":
            return [gr.Tabs(selected="history"), *keep[1:], run_id, gr.skip(), gr.skip(), gr.skip(), ""]
        if action == "export":
            return [*keep, gr.skip(), bundle(run_id, request), gr.skip(), gr.skip(),
                    f'<div class="measured">Run bundle of {html.escape(run_id)} ready below.</div>']
        store, owner = store_of(services), owner_of(services, request)
        starred = store.is_starred(owner, run_id)
        if starred:
            store.unstar(owner, run_id)
        else:
            store.star(owner, run_id)
        drawn, data = batch_status(found, request)
        word = "Unstarred" if starred else "Starred"
        return [*keep, gr.skip(), gr.skip(), drawn, data, f'<div class="measured">{word} {html.escape(run_id)}.</div>']

    return sheet_action


def wire_sheet(demo: gr.Blocks, services: Services, sheet: ContactSheet, load_targets: list[Any],
               history_selected: gr.Textbox, first: bool) -> None:
    """The sheet follows its batch: drawn when the batch changes, again on each tick while it runs."""
    shown = [sheet.html, sheet.data]
    # One endpoint for every tab's sheet (the batch id says which): named once, private elsewhere.
    sheet.batch.change(make_status(services), [sheet.batch], shown, queue=False, show_progress="hidden",
                       api_name="batch_status" if first else None, api_visibility="public" if first else "private")
    sheet.timer.tick(make_follow(services), [sheet.batch, sheet.data], shown, api_visibility="private",
                     queue=False, show_progress="hidden")
    sheet.data.change(_ticking, [sheet.data], [sheet.timer], api_visibility="private", queue=False,
                      show_progress="hidden")
    demo.load(make_restore(services, sheet.mode), None, [sheet.batch], api_visibility="private", queue=False,
              show_progress="hidden")
    sheet.html.select(make_action(services, len(load_targets)), [sheet.batch],
                      [*load_targets, history_selected, sheet.bundle, *shown, sheet.note],
                      api_visibility="private", show_progress="hidden")
