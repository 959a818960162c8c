"""The playground's Blocks: a connection panel, one tab per mode, and the wiring between them.

Every user action is a named API endpoint, so the playground can be scripted with
gradio_client; the endpoint names are listed in the README.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Awaitable, Callable
from typing import Any

import gradio as gr

from playground.core.profile import MODES, Mode
from playground.ui import handlers, queue_panel, quote_panel, variations_panel
from playground.ui.fields import guard
from playground.ui.forms import TAB_LABELS, MediaSlot, slots
from playground.ui.history import build_history_tab, wire_history
from playground.ui.layout import SEED_INFO, ModeTab, build_mode_tab
from playground.ui.restore import make_restore
from playground.ui.services import SCENARIOS, Services
from playground.ui.shot_editor import wire_prompt_craft
from playground.ui.showcase_deck import DeckBuilder
from playground.ui.showcase_panel import wire_tab_star
from playground.ui.thumbs import thumbs_html

PROVIDER_CHOICES = [
    ("Sandbox (no key, no cost)", "sandbox"),
    ("DashScope (Model Studio)", "dashscope"),
    ("Gateway", "gateway"),
]


def slug(mode: Mode) -> str:
    return mode.replace("-", "_")


# The limits a built-in profile holds, in words for the header's badge.
_PROFILE_WORDS = {"wan-2.7": "Wan 2.7 documented", "guide-page": "the guide page's stricter table"}
SANDBOX_NOTE = (
    "The built-in sandbox (the default provider) is free and needs no API key: it runs on this "
    "server and renders real test videos. DashScope and gateways need a key (Connection)."
)


def profile_badge(name: str, description: str) -> str:
    """The profile said in words, e.g. "limits: Wan 2.7 documented (wan-2.7 profile)"."""
    words = _PROFILE_WORDS.get(name) or (description.split(".")[0][:80] if description else "your own file")
    return (
        f'<span class="badge" title="{html.escape(description or words)}">'
        f"limits: {html.escape(words)} ({html.escape(name)} profile)</span>"
    )


def _header(services: Services) -> None:
    profile = services.profile
    gr.HTML(
        '<div id="header"><h1>Wan 2.7 Video Playground</h1>'
        "<p>Rehearse a request before it costs money: see the exact JSON, send it, watch the task, "
        f"get the video or the reason it failed.{profile_badge(profile.name, profile.description)}</p>"
        f'<p class="sandbox-note">{html.escape(SANDBOX_NOTE)}</p></div>',
        padding=False,
    )


def build_ui(services: Services, *, deck: DeckBuilder | None = None) -> gr.Blocks:
    """The whole playground UI, wired to the given services; ``deck`` builds a browser's offline
    deck (History's "Download deck"; the server passes the one ``/showcase/deck`` uses)."""
    settings = services.settings
    with gr.Blocks(title="Wan 2.7 Video Playground", analytics_enabled=False) as demo:
        _header(services)
        with gr.Accordion("Connection", open=settings.provider != "sandbox"):
            with gr.Row():
                provider = gr.Radio(PROVIDER_CHOICES, value=settings.provider, label="Provider", scale=3)
                wire = gr.Radio(
                    [("DashScope native", "dashscope"), ("Gateway (guide page)", "gateway")],
                    value=services.default_wire(settings.provider),
                    label="Wire format",
                    info="The sandbox speaks both",
                    scale=2,
                )
                scenario = gr.Dropdown(
                    SCENARIOS,
                    value="none",
                    label="Rehearse scenario",
                    info="Sandbox only: replay a failure on demand",
                    scale=2,
                )
            with gr.Row():
                base_url = gr.Textbox(
                    value=settings.base_url or "", label="Base URL", placeholder="default for the provider", scale=3
                )
                api_key = gr.Textbox(
                    type="password", label="API key", placeholder="kept only for this browser tab", scale=2
                )
                key_note = gr.HTML(handlers.key_note(None, services, settings.provider), padding=False)
        queue = queue_panel.build()  # this browser's runs in flight, with Cancel
        tabs: dict[Mode, ModeTab] = {}
        variations: dict[Mode, variations_panel.VariationsPanel] = {}
        mode_tabs: dict[Mode, gr.Tab] = {}
        with gr.Tabs() as tab_strip:
            for mode in MODES:
                with gr.Tab(TAB_LABELS[mode], id=mode, elem_id=f"tab-{mode}") as mode_tabs[mode]:
                    tabs[mode] = build_mode_tab(mode, services.profile)
                    # Up to two axes over the form, a previewed grid, Send all, the contact sheet.
                    variations[mode] = variations_panel.build(mode, services.profile)
            with gr.Tab("History", id="history", elem_id="tab-history") as history_tab:
                cost_totals = quote_panel.build_totals()
                past = build_history_tab(settings.sharing)
        connection = [provider, wire, base_url, scenario]
        # A browser's History is keyed by a server-signed HttpOnly cookie (playground/web/identity.py),
        # never by anything the page stores or sends as a value.
        api_key.change(
            handlers.make_remember_key(services),
            [api_key, provider],
            [key_note],
            api_name="set_api_key",
            queue=False,
        )
        provider.change(
            handlers.make_provider_changed(services),
            [provider],
            [wire, key_note],
            api_name="set_provider",
            queue=False,
        )
        for tab in tabs.values():
            _wire_tab(demo, services, tab, connection)
            # The measured-output panel changes once a run has a video, i.e. when a bill is recorded;
            # the status changes every second while a run is live, too often to re-quote on.
            quote_panel.wire(demo, services, tab.mode, tab.quote, tab.ordered_inputs(), connection, handlers.owner_of,
                             tab.output)
            _wire_import(services, tab, tabs, tab_strip, provider, wire)
            _wire_restore(demo, services, tab)
            _wire_thumbs(services, tab)
            # The Star toggle beside Cancel (showcase_panel.py); read again when the tab is opened,
            # since History or a contact sheet may have starred or unstarred its run meanwhile.
            wire_tab_star(services, tab, [mode_tabs[tab.mode].select])
            wire_prompt_craft(services, tab)  # shot-list editor and reference tokens
        queue_panel.wire(demo, services, queue, [tab.send.click for tab in tabs.values() if tab.send])
        wire_history(services, past, connection, tabs, tab_strip, history_tab, deck)
        # A contact sheet's Load into form writes where History's does; Open run selects it there.
        load_targets = [tab_strip, *(c for mode in MODES for c in tabs[mode].ordered_inputs())]
        for index, mode in enumerate(MODES):
            variations_panel.wire(demo, services, variations[mode], tabs[mode].ordered_inputs(), connection,
                                  load_targets, past.selected, first=index == 0)
        quote_panel.wire_totals(services, cost_totals, [history_tab.select, past.refresh.click, past.timer.tick],
                                handlers.owner_of)
        # A closed or reloaded tab's server-side data (its typed key) goes with it.
        demo.unload(handlers.make_forget(services))
    # Every input is an API parameter: refuse bad values with the parameter's name (fields.py).
    guard(demo)
    blocks: gr.Blocks = demo
    return blocks


def _wire_tab(demo: gr.Blocks, services: Services, tab: ModeTab, connection: list[Any]) -> None:
    mode, name = tab.mode, slug(tab.mode)
    form = tab.ordered_inputs()
    assert tab.request_json and tab.verdict and tab.counter and tab.send and tab.cancel and tab.status
    assert tab.guidance and tab.video and tab.output and tab.response
    preview_outputs = [tab.request_json, tab.verdict, tab.counter]
    preview_fn = handlers.make_preview(services, mode)
    # The preview is there from the first paint, then follows every change.
    triggers = [demo.load] + [c.change for c in form] + [c.change for c in connection[:2]]
    gr.on(
        triggers,
        preview_fn,
        [*connection[:2], *form],
        preview_outputs,
        api_name=f"preview_{name}",
        # Queued, because Gradio's page honours "always_last" only for queued events: unqueued, every
        # change ran its own preview at once and a slow answer for older values could land after a
        # newer one, leaving the Request JSON showing a form that was no longer there.
        queue=True,
        show_progress="hidden",
        # A burst of changes (an import, an example, Load into form) must end in a preview of the
        # last values: "once" dropped the changes that came while one preview was pending.
        trigger_mode="always_last",
    )
    for slot_name, upload in tab.uploads.items():
        upload.upload(
            handlers.make_attach(services, mode, slot_name),
            [upload, tab.inputs[slot_name], *connection],
            [tab.inputs[slot_name], upload],
            api_name=f"attach_{name}_{slot_name}",
        )
    if mode == "reference-to-video":
        tab.inputs["reference_videos"].change(
            handlers.make_duration_follow(services, mode),
            [tab.inputs["reference_videos"], tab.inputs["duration"]],
            [tab.inputs["duration"]],
            api_name=f"duration_range_{name}",
            queue=False,
        )
    assert tab.export_kind and tab.export_code
    gr.on(
        [tab.export_kind.change, tab.request_json.change],
        handlers.make_export(services, mode),
        [*connection[:3], tab.export_kind, tab.request_json],
        [tab.export_code],
        api_name=f"export_{name}",
        queue=False,
        show_progress="hidden",
    )
    assert tab.example and tab.example_button
    load_example = handlers.make_example(services, mode)
    tab.example_button.click(load_example, [tab.example, *connection], form, api_name=f"example_{name}")
    # Choosing an example fills the form at once (the button loads it again after edits).
    tab.example.input(_when_chosen(load_example, len(form)), [tab.example, *connection], form,
                      api_visibility="private")
    # The seed box is used only with "Random seed" off: disabled otherwise, so no edit is lost.
    tab.inputs["random_seed"].change(
        _seed_box, [tab.inputs["random_seed"]], [tab.inputs["seed"]], api_visibility="private", queue=False,
        show_progress="hidden",
    )
    run_outputs = [tab.status, tab.guidance, tab.video, tab.output, tab.response]
    tab.send.click(
        handlers.make_send(services, mode),
        [*connection, *form],
        run_outputs,
        api_name=f"send_{name}",
        concurrency_limit=None,
        show_progress="hidden",
        # Send never blocks: each click starts a run of its own (the tab follows the newest,
        # the others go on in the Queue panel); "once" would drop a click while one streams.
        trigger_mode="multiple",
    )
    # Cancelling is a request to the running send handler, which asks the provider and reports
    # the outcome; killing the handler instead would leave a paid task running unseen.
    tab.cancel.click(handlers.make_cancel(services, mode), None, None, api_name=f"cancel_{name}", queue=False)


# At 1280x720 the status is below the fold once the form is filled: Send brings it into view.
# The Send row goes to the top, with the status, the video and Cancel below it.
_SHOW_STATUS = """() => {{
  const tab = document.getElementById('tab-{mode}');
  const send = tab && Array.from(tab.querySelectorAll('button')).find(b => b.textContent.trim() === 'Send');
  const target = send || (tab && tab.querySelector('section[aria-label="Task status"]'));
  if (target) target.scrollIntoView({{block: 'start', behavior: 'instant'}});
}}"""


def _when_chosen(load: Callable[..., Awaitable[list[Any]]], size: int) -> Callable[..., Awaitable[list[Any]]]:
    """The example loader for the dropdown itself: leaving the box without a choice (Tab past it)
    fires it with nothing chosen, which changes nothing and is no error."""

    @functools.wraps(load)
    async def chosen(label: str | None, *rest: Any, **named: Any) -> list[Any]:
        if not label:
            return [gr.skip() for _ in range(size)]
        return await load(label, *rest, **named)

    return chosen


def _wire_thumbs(services: Services, tab: ModeTab) -> None:
    """A picture of each attached image and a still of each video, under its URL box."""
    for slot in slots(tab.mode):
        tab.inputs[slot.name].change(_thumbs_of(services, slot), [tab.inputs[slot.name]], [tab.thumbs[slot.name]],
                                     api_visibility="private", queue=False, show_progress="hidden")


def _thumbs_of(services: Services, slot: MediaSlot) -> Callable[[str | None], str]:
    def thumbs(text: str | None) -> str:
        return thumbs_html(text, slot.kind, slot.label, services.sandbox_url)

    return thumbs


def _wire_restore(demo: gr.Blocks, services: Services, tab: ModeTab) -> None:
    """After a reload (or in a second tab of the browser) the tab shows its latest run, live."""
    assert tab.send and tab.status and tab.guidance and tab.video and tab.output and tab.response
    restored = demo.load(
        make_restore(services, tab.mode),
        None,
        [*tab.ordered_inputs(), tab.status, tab.guidance, tab.video, tab.output, tab.response],
        api_visibility="private",
        concurrency_limit=None,
        show_progress="hidden",
    )
    # A new Send takes over the panel: the restored run's watcher stops (the run goes on).
    tab.send.click(None, None, None, js=_SHOW_STATUS.format(mode=tab.mode), cancels=[restored], queue=False)


def _seed_box(random_seed: bool | None) -> dict[str, Any]:
    random = random_seed is not False
    return gr.update(interactive=not random, info=SEED_INFO[random])


def _wire_import(
    services: Services, tab: ModeTab, tabs: dict[Mode, ModeTab], strip: gr.Tabs, provider: gr.Radio, wire: gr.Radio
) -> None:
    assert tab.import_button and tab.import_text and tab.import_report
    every_input = [component for mode in MODES for component in tabs[mode].ordered_inputs()]
    # The report goes to the tab the request lands in; the wire format follows the import.
    other_reports = [report for m in MODES if m != tab.mode and (report := tabs[m].import_report) is not None]
    tab.import_button.click(
        handlers.make_import(services, tab.mode),
        [tab.import_text, provider],
        [strip, tab.import_report, wire, *other_reports, *every_input],
        api_name=f"import_{slug(tab.mode)}",
        queue=False,
    )
