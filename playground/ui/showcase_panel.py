"""History's showcase and share-link panel, the selected run's Star/Share buttons, and the
wiring of every Star button (each mode tab's, beside Cancel) to playground/ui/showcase_actions.py.

Endpoints (all scoped to the signed browser cookie): ``star``, ``unstar``, ``showcase``,
``reorder_showcase``, ``share``, ``share_showcase``, ``revoke_share`` and ``deck``.
Everything shown is escaped: prompts are other people's text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import gradio as gr

from playground.client import RunRecord, Share, label_of
from playground.ui import showcase_actions as act
from playground.ui.handlers import owner_of
from playground.ui.history_views import request_of
from playground.ui.services import Services
from playground.ui.showcase_deck import DeckBuilder, make_deck
from playground.ui.star_button import STAR, star_update
from playground.ui.views import esc

if TYPE_CHECKING:
    from playground.ui.layout import ModeTab

SHOWCASE_PATH = "/showcase"
_EMPTY = "No starred runs yet: ☆ Star a run in its tab (beside Cancel) or select one above and star it here."


@dataclass
class RunActions:
    """Beside "Load into form": star, unstar and share the run selected in History."""

    star: gr.Button
    unstar: gr.Button
    share: gr.Button
    note: gr.HTML
    link: gr.Textbox


@dataclass
class ShowcasePanel:
    actions: RunActions
    listing: gr.HTML
    pick: gr.Dropdown
    up: gr.Button
    down: gr.Button
    order: gr.Textbox
    apply: gr.Button
    share: gr.Button
    link: gr.Textbox
    deck: gr.Button
    deck_file: gr.File
    shares: gr.HTML
    revoke_pick: gr.Dropdown
    revoke: gr.Button


def build_run_actions(sharing: bool) -> RunActions:
    with gr.Row():
        star = gr.Button(STAR, scale=1, elem_id="history-star")
        unstar = gr.Button("Unstar", scale=1, visible=False, elem_id="history-unstar")
        share = gr.Button("Share this run", scale=1, visible=sharing, elem_id="history-share-run")
    note = gr.HTML(padding=False, elem_id="history-star-note")
    link = gr.Textbox(label="Share link for this run (read only, it expires; revoke it below)", interactive=False,
                      visible=sharing, buttons=["copy"], elem_id="history-share-link")
    return RunActions(star, unstar, share, note, link)


def build_showcase_panel(actions: RunActions, sharing: bool) -> ShowcasePanel:
    with gr.Accordion("Showcase and share links", open=True, elem_id="history-showcase"):
        gr.HTML(f'<p class="showcase-open">Starred runs, in the order they are presented. '
                f'<a href="{SHOWCASE_PATH}" target="_blank" rel="noopener" id="open-showcase">Open showcase</a> '
                "(a page of its own: one run at a time, arrow keys to move)</p>", padding=False)
        listing = gr.HTML(padding=False, elem_id="showcase-list")
        with gr.Row(equal_height=True):
            pick = gr.Dropdown([], value=None, label="Starred run", scale=3, elem_id="showcase-pick")
            up = gr.Button("↑ Move up", scale=1, elem_id="showcase-up")
            down = gr.Button("↓ Move down", scale=1, elem_id="showcase-down")
        with gr.Row():
            share = gr.Button("Share showcase", visible=sharing, elem_id="showcase-share")
            deck = gr.Button("Download deck", elem_id="showcase-deck")
        link = gr.Textbox(label="Share link for the showcase (read only, it expires)", interactive=False,
                          visible=sharing, buttons=["copy"], elem_id="showcase-share-link")
        deck_file = gr.File(label="Offline deck (zip: open index.html, no server or network needed)",
                            interactive=False, elem_id="showcase-deck-file")
        with gr.Accordion("Order as text", open=False):
            order = gr.Textbox(label="Showcase order: run ids, one per line", lines=3, max_lines=12,
                               elem_id="showcase-order")
            apply = gr.Button("Apply order")
        shares = gr.HTML(padding=False, elem_id="share-links")
        with gr.Row(equal_height=True, visible=sharing):
            revoke_pick = gr.Dropdown([], value=None, label="Share link to revoke", allow_custom_value=True,
                                      scale=3, elem_id="share-revoke-pick")
            revoke = gr.Button("Revoke", variant="stop", scale=1, elem_id="share-revoke")
    return ShowcasePanel(actions, listing, pick, up, down, order, apply, share, link, deck, deck_file, shares,
                         revoke_pick, revoke)


# -- what the panel shows ---------------------------------------------------------------------


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def run_label(record: RunRecord) -> str:
    """"text-to-video · a lighthouse at dusk… · Succeeded · 1a2b3c4d": enough to tell runs apart."""
    request = request_of(record)
    prompt = " ".join(str(request.get("prompt") or "").split())
    prompt = prompt[:48] + ("…" if len(prompt) > 48 else "")
    parts = [str(request.get("mode") or "(recovered)"), prompt, label_of(record.state), record.run_id[-8:]]
    return " · ".join(p for p in parts if p)


def showcase_html(records: Sequence[RunRecord]) -> str:
    if not records:
        return f'<section aria-label="Showcase" class="showcase-list"><p>{esc(_EMPTY)}</p></section>'
    items = "".join(f'<li data-run-id="{esc(r.run_id)}">{esc(run_label(r))}</li>' for r in records)
    return f'<section aria-label="Showcase" class="showcase-list"><ol>{items}</ol></section>'


def _share_state(share: Share, now: float) -> str:
    if share.revoked_at is not None:
        return "revoked"
    return "active" if share.active(now) else "expired"


def shares_html(shares: Sequence[Share], link: Callable[[Share], str], sharing: bool, now: float) -> str:
    """Every share link of this browser: what it shows, until when, and whether it still works."""
    if not sharing:
        return f'<section aria-label="Share links" class="share-links"><p>{esc(act.SHARING_OFF)}</p></section>'
    if not shares:
        return ('<section aria-label="Share links" class="share-links"><p>No share links yet: "Share this run" '
                '(above) or "Share showcase" makes one.</p></section>')
    rows = []
    for share in shares:
        state = _share_state(share, now)
        what = "1 run" if len(share.run_ids) == 1 else f"{len(share.run_ids)} runs"
        url = link(share) if state == "active" else ""
        cell = f'<a href="{esc(url)}" target="_blank" rel="noopener">{esc(url)}</a>' if url else "—"
        rows.append(f'<tr data-state="{state}"><td>{_when(share.created_at)}</td><td>{what}</td>'
                    f"<td>{_when(share.expires_at)}</td><td>{state}</td><td>{cell}</td></tr>")
    return ('<section aria-label="Share links" class="share-links"><table><tr><th>made</th><th>shows</th>'
            f"<th>expires</th><th>state</th><th>link</th></tr>{''.join(rows)}</table></section>")


def _revocable(shares: Sequence[Share], now: float) -> list[tuple[str, str]]:
    return [(f"made {_when(s.created_at)} · {len(s.run_ids)} run(s) · expires {_when(s.expires_at)}", s.share_id)
            for s in shares if s.active(now)]


# -- handlers ---------------------------------------------------------------------------------


def _showcase_outputs(services: Services, request: gr.Request, keep: str | None = None) -> tuple[Any, ...]:
    records = act.starred_runs(services, owner_of(services, request))
    ids = [r.run_id for r in records]
    choices = [(f"{i}. {run_label(r)}", r.run_id) for i, r in enumerate(records, 1)]
    pick = gr.update(choices=choices, value=keep if keep in ids else None)
    return showcase_html(records), pick, "\n".join(ids)


def _share_outputs(services: Services, request: gr.Request) -> tuple[Any, ...]:
    now = time.time()
    listed = act.shares(services, request)
    shown = shares_html(listed, lambda s: act.link_of(services, request, s), services.settings.sharing, now)
    return shown, gr.update(choices=_revocable(listed, now), value=None)


def _star_note(services: Services, request: gr.Request, run_id: str | None) -> tuple[Any, ...]:
    """The selected run's Star/Unstar buttons (one shows) and a line saying where it stands."""
    owner = owner_of(services, request)
    record = act.owned_run(services, owner, (run_id or "").strip()) if run_id else None
    if record is None:
        return gr.update(visible=True), gr.update(visible=False), ""
    order = act.store_of(services).starred(owner)
    if record.run_id in order:
        note = f"★ In this browser's showcase: #{order.index(record.run_id) + 1} of {len(order)}."
    else:
        note = "Not in the showcase: ☆ Star adds it at the end."
    shown = f'<div class="measured" aria-label="Showcase status">{esc(note)}</div>'
    return gr.update(visible=record.run_id not in order), gr.update(visible=record.run_id in order), shown


def _make_star(services: Services, starring: bool) -> Callable[..., tuple[Any, ...]]:
    def star(run_id: str, request: gr.Request) -> tuple[Any, ...]:
        """Add one of this browser's runs to its showcase (at the end)."""
        record = act.star(services, request, run_id)
        return *_star_note(services, request, record.run_id), *_showcase_outputs(services, request)

    def unstar(run_id: str, request: gr.Request) -> tuple[Any, ...]:
        """Take one of this browser's runs out of its showcase."""
        record = act.unstar(services, request, run_id)
        return *_star_note(services, request, record.run_id), *_showcase_outputs(services, request)

    return star if starring else unstar


def _make_list(services: Services) -> Callable[..., tuple[Any, ...]]:
    def showcase(request: gr.Request) -> tuple[Any, ...]:
        """This browser's showcase (HTML, choices, run ids in order) and its share links."""
        return *_showcase_outputs(services, request), *_share_outputs(services, request)

    return showcase


def _make_reorder(services: Services) -> Callable[..., tuple[Any, ...]]:
    def reorder_showcase(run_ids: str, request: gr.Request) -> tuple[Any, ...]:
        """Starred run ids (one per line) in their new order; the ones not named follow them."""
        act.reorder(services, request, act.parse_order(run_ids))
        return _showcase_outputs(services, request)

    return reorder_showcase


def _make_move(services: Services, step: int) -> Callable[..., tuple[Any, ...]]:
    def move(run_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        act.move(services, request, run_id, step)
        return _showcase_outputs(services, request, keep=run_id)

    return move


def _make_share(services: Services, whole_showcase: bool) -> Callable[..., tuple[Any, ...]]:
    def share(run_id: str, request: gr.Request) -> tuple[Any, ...]:
        """A read-only link (full URL) to one of this browser's runs, and the updated link list."""
        made = act.share_run(services, request, run_id)
        return act.link_of(services, request, made), *_share_outputs(services, request)

    def share_showcase(request: gr.Request) -> tuple[Any, ...]:
        """A read-only link (full URL) to this browser's showcase as it is now, and the link list."""
        made = act.share_showcase(services, request)
        return act.link_of(services, request, made), *_share_outputs(services, request)

    return share_showcase if whole_showcase else share


def _make_revoke(services: Services) -> Callable[..., tuple[Any, ...]]:
    def revoke_share(share_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """Stop one of this browser's share links at once."""
        act.revoke(services, request, share_id)
        return _share_outputs(services, request)

    return revoke_share


# -- wiring -----------------------------------------------------------------------------------


def wire_showcase(services: Services, panel: ShowcasePanel, selected: gr.Textbox, triggers: Sequence[Any],
                  relist: tuple[Callable[..., Any], list[Any], list[Any]], deck: DeckBuilder | None = None) -> None:
    """History's panel: ``triggers`` redraw it (the tab opened, Refresh); ``relist`` redraws the
    run table after a star changes (starred rows are marked there); ``deck`` builds the offline deck."""
    actions = panel.actions
    showing = [panel.listing, panel.pick, panel.order]
    links = [panel.shares, panel.revoke_pick]
    buttons = [actions.star, actions.unstar, actions.note]
    private: dict[str, Any] = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    gr.on(list(triggers), _make_list(services), None, [*showing, *links], api_name="showcase", queue=False,
          show_progress="hidden")

    def star_state(run_id: str, request: gr.Request) -> tuple[Any, ...]:
        return _star_note(services, request, run_id)

    selected.change(star_state, [selected], buttons, **private)
    list_fn, filters, listing = relist
    for button, starring in ((actions.star, True), (actions.unstar, False)):
        button.click(_make_star(services, starring), [selected], [*buttons, *showing],
                     api_name="star" if starring else "unstar", queue=False).then(
            list_fn, filters, listing, **private)
    panel.apply.click(_make_reorder(services), [panel.order], showing, api_name="reorder_showcase", queue=False)
    panel.up.click(_make_move(services, -1), [panel.pick], showing, **private)
    panel.down.click(_make_move(services, 1), [panel.pick], showing, **private)
    actions.share.click(_make_share(services, False), [selected], [actions.link, *links], api_name="share",
                        queue=False)
    panel.share.click(_make_share(services, True), None, [panel.link, *links], api_name="share_showcase",
                      queue=False)
    panel.revoke.click(_make_revoke(services), [panel.revoke_pick], links, api_name="revoke_share", queue=False)
    panel.deck.click(make_deck(services, deck), None, [panel.deck_file], api_name="deck")


def wire_tab_star(services: Services, tab: ModeTab, reread_on: Sequence[Any] = ()) -> None:
    """A mode tab's Star toggle acts on the run the tab shows; its label follows that run (the
    video and the measured output change whenever the tab shows another run or its result) and
    is read again on ``reread_on`` (the tab being opened)."""
    assert tab.star is not None and tab.video is not None and tab.output is not None
    mode = tab.mode

    def toggle_star(request: gr.Request) -> Any:
        return star_update(act.toggle_tab_star(services, request, mode))

    def star_state(request: gr.Request) -> Any:
        return star_update(act.tab_starred(services, request, mode))

    tab.star.click(toggle_star, None, [tab.star], api_visibility="private", queue=False)
    gr.on([tab.video.change, tab.output.change, *reread_on], star_state, None, [tab.star], api_visibility="private",
          queue=False, show_progress="hidden")
