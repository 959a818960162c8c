"""The History tab: this browser's runs from the ledger, details, load into form, compare,
export, bundle, and recover a task by its id."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from playground.client import ProviderConfig, RunRecord, RunState, label_of
from playground.client import recover as recover_run
from playground.core.profile import MODES, Mode
from playground.core.wire import WireFormat
from playground.ui import history_views as views
from playground.ui import runs
from playground.ui.batch_history import batch_records, wire_batches
from playground.ui.connection import Connection, ConnectionError_, provider_config, run_options
from playground.ui.cost_views import run_cost_html
from playground.ui.forms import field_names, form_from_request
from playground.ui.handlers import owner_of, session_of
from playground.ui.layout import ModeTab
from playground.ui.services import Services
from playground.ui.showcase_actions import store_of
from playground.ui.showcase_deck import DeckBuilder
from playground.ui.showcase_panel import ShowcasePanel, build_run_actions, build_showcase_panel, wire_showcase
from playground.ui.views import RunView
from playground.web.media import media_url

# (label, value): "active" is every run not finished yet; then one choice per way a run ends.
STATUS_FILTER = [("all", "all"), ("active", "active"),
                 *((state.label, state.value) for state in RunState if state.terminal)]
EXPORTS = [("curl (bash)", "curl"), ("Python (httpx)", "python"), ("JavaScript (fetch)", "javascript"),
           ("Wire JSON", "json")]
def _mine(services: Services, request: gr.Request, run_id: str | None) -> RunRecord | None:
    """One of this browser's runs; another browser's run is as good as absent."""
    if not run_id:
        return None
    record = services.ledger().get(run_id.strip())
    return record if record is not None and record.session_id == owner_of(services, request) else None


@dataclass
class HistoryTab:
    mode_filter: gr.Dropdown
    status_filter: gr.Dropdown
    table: gr.Dataframe
    selected: gr.Textbox
    request_json: gr.Code
    timeline: gr.HTML
    guidance: gr.HTML
    video: gr.Video
    response: gr.Code
    load: gr.Button
    export_kind: gr.Radio
    export_code: gr.Code
    bundle: gr.Button
    bundle_file: gr.File
    compare_ids: gr.CheckboxGroup
    compare: gr.Button
    compare_view: gr.HTML
    task_id: gr.Textbox
    recover: gr.Button
    recover_status: gr.HTML
    recover_guidance: gr.HTML
    recover_video: gr.Video
    refresh: gr.Button
    timer: gr.Timer
    cost: gr.HTML  # the run's quote and bill (playground/ui/cost_views.py)
    showcase: ShowcasePanel | None = None  # star, order and share (playground/ui/showcase_panel.py)
    # A variations batch as a group: the table (and Compare's choices) show only its runs, and
    # its bundle holds every run's (playground/ui/batch_runs.py, contact_sheet.py).
    batch_filter: gr.Dropdown | None = None
    batch_bundle: gr.Button | None = None


# Every header on one line and every column in view at 1280 px; long values (ids) wrap in their cells.
_COLUMN_PX = {"time": 110, "mode": 125, "provider": 100, "status": 105, "duration": 90, "resolution": 105,
              "prompt": 230, "cost": 120, "task id": 120, "run id": 125}


def build_history_tab(sharing: bool = True) -> HistoryTab:
    with gr.Row():
        mode_filter = gr.Dropdown(["all", *MODES], value="all", label="Mode", scale=1)
        status_filter = gr.Dropdown(STATUS_FILTER, value="all", label="Status", scale=1)
        # Custom values: a script may name a batch the page has not listed; the listing checks it.
        batch_filter = gr.Dropdown([("all runs", "all")], value="all", label="Batch", scale=1,
                                   allow_custom_value=True, elem_id="history-batch")
        refresh = gr.Button("Refresh", scale=0)
    table = gr.Dataframe(headers=views.HEADERS, value=[], interactive=False, wrap=True, label="Runs",
                         elem_id="history-table", max_height=320,
                         column_widths=[_COLUMN_PX.get(h, 110) for h in views.HEADERS])
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            selected = gr.Textbox(label="Selected run", placeholder="click a row, or paste a run id")
            load = gr.Button("Load into form", variant="primary")
            run_actions = build_run_actions(sharing)  # star and share the selected run
            request_json = gr.Code(language="json", label="Sent JSON", interactive=False, max_lines=20)
            with gr.Accordion("Export for an integration, or as a bundle", open=False, elem_id="history-export"):
                with gr.Row():
                    export_kind = gr.Radio(EXPORTS, value="curl", label="Export", scale=3)
                    bundle = gr.Button("Build run bundle (zip)", scale=1)
                    batch_bundle = gr.Button("Build batch bundle (zip)", scale=1)
                export_code = gr.Code(language="shell", label="Export code", interactive=False, max_lines=30)
                bundle_file = gr.File(label="Run bundle", interactive=False)
        with gr.Column(scale=4):
            timeline = gr.HTML(padding=False)
            guidance = gr.HTML(padding=False)
            cost = gr.HTML(padding=False, elem_id="history-run-cost")
            video = gr.Video(label="Run video", interactive=False, height=260)
            with gr.Accordion("Last response", open=False):
                response = gr.Code(language="json", label="Last response JSON", interactive=False, max_lines=30)
    with gr.Accordion("Compare runs", open=False):
        compare_ids = gr.CheckboxGroup([], label="Runs to compare (2-4)", elem_id="history-compare")
        compare = gr.Button("Compare")
        compare_view = gr.HTML(padding=False)
    showcase = build_showcase_panel(run_actions, sharing)
    with gr.Accordion("Recover a task by id", open=False):
        with gr.Row():
            task_id = gr.Textbox(label="Task id", placeholder="a task submitted elsewhere or before a crash", scale=3)
            recover = gr.Button("Recover", scale=1)
        recover_status = gr.HTML(padding=False)
        recover_guidance = gr.HTML(padding=False)
        recover_video = gr.Video(label="Recovered video", interactive=False, height=240)
    timer = gr.Timer(3.0)
    return HistoryTab(mode_filter, status_filter, table, selected, request_json, timeline, guidance, video, response,
                      load, export_kind, export_code, bundle, bundle_file, compare_ids, compare, compare_view, task_id,
                      recover, recover_status, recover_guidance, recover_video, refresh, timer, cost, showcase,
                      batch_filter=batch_filter, batch_bundle=batch_bundle)


def wire_history(services: Services, tab: HistoryTab, connection: list[Any],
                 mode_tabs: dict[Mode, ModeTab], tabs: gr.Tabs, history_tab: gr.Tab,
                 deck: DeckBuilder | None = None) -> None:
    listing = [tab.table, tab.compare_ids]
    list_fn = _make_list(services)
    filters = [tab.mode_filter, tab.status_filter, *([tab.batch_filter] if tab.batch_filter else [])]
    triggers = [history_tab.select, tab.refresh.click, tab.mode_filter.change, tab.status_filter.change, tab.timer.tick]
    gr.on(triggers, list_fn, filters,
          listing, api_name="history", queue=False, show_progress="hidden")
    tab.table.select(_pick, [tab.table], [tab.selected], api_visibility="private", queue=False)
    details = [tab.request_json, tab.timeline, tab.guidance, tab.video, tab.response, tab.cost]
    tab.selected.change(_make_details(services), [tab.selected], details, api_name="run_details", queue=False)
    # Details follow the selected run until it ends: the History timer (and Refresh) draws them
    # again whenever its row has moved on since they were drawn (``shown`` says which version).
    shown = gr.State("")
    tab.selected.change(_make_version(services), [tab.selected], [shown], api_visibility="private", queue=False)
    gr.on([tab.timer.tick, tab.refresh.click], _make_details_follow(services, len(details)), [tab.selected, shown],
          [*details, shown], api_visibility="private", queue=False, show_progress="hidden")
    tab.export_kind.change(_make_export(services), [tab.selected, tab.export_kind], [tab.export_code],
                           api_name="export_run", queue=False)
    tab.selected.change(_make_export(services), [tab.selected, tab.export_kind], [tab.export_code],
                        api_visibility="private", queue=False)
    tab.bundle.click(_make_bundle(services), [tab.selected], [tab.bundle_file], api_name="run_bundle")
    # A variations batch as a group: listed in the Batch filter, bundled whole (batch_history.py).
    wire_batches(services, tab, [history_tab.select, tab.refresh.click], write_run_bundle, bundle_secrets)
    tab.compare.click(_make_compare(services), [tab.compare_ids], [tab.compare_view], api_name="compare_runs")
    load_outputs: list[Any] = [tabs]
    for mode in MODES:
        load_outputs += mode_tabs[mode].ordered_inputs()
    tab.load.click(_make_load(services), [tab.selected], load_outputs, api_name="load_into_form")
    if tab.showcase is not None:
        wire_showcase(services, tab.showcase, tab.selected, [history_tab.select, tab.refresh.click],
                      (list_fn, filters, listing), deck)
    recover_outputs = [tab.recover_status, tab.recover_guidance, tab.recover_video]
    tab.recover.click(_make_recover(services), [*connection, tab.task_id], recover_outputs,
                      api_name="recover_task", concurrency_limit=None, show_progress="hidden")


def _pick(table: Any, evt: gr.SelectData) -> str:
    row = evt.row_value if evt.row_value else None
    return str(row[-1]) if row else ""


def _make_list(services: Services) -> Callable[..., tuple[Any, Any]]:
    def history(mode: str, status: str, batch: str | None, request: gr.Request) -> tuple[Any, Any]:
        """This browser's runs, newest first; with ``batch`` (a batch id, or "all"), that batch's only."""
        owner = owner_of(services, request)
        records = batch_records(services, owner, batch) if batch and batch != "all" else \
            services.ledger().runs(owner, limit=200)
        table = views.mark_starred(views.rows(records, mode, status), set(store_of(services).starred(owner)))
        ids = [r[-1] for r in table]
        return table, gr.update(choices=ids)

    return history


def _make_details(services: Services) -> Callable[..., tuple[Any, ...]]:
    def run_details(run_id: str, request: gr.Request) -> tuple[Any, ...]:
        """The request, timeline, guidance, video, last response and cost of one of this browser's runs."""
        record = _mine(services, request, run_id)
        if record is None:
            note = '<section aria-label="Run timeline" class="status">No such run in this browser\'s history.</section>'
            return "", note if run_id else "", "", None, "", ""
        body = record.body()
        return (
            json.dumps(body, indent=2, ensure_ascii=False) if body else "",
            views.timeline_html(services.ledger().events(record.run_id), lambda t: runs.scrub_paths(t, services)),
            views.guidance_html(record),
            services.handout(views.video_of(record)),
            json.dumps(json.loads(record.last_response), indent=2) if record.last_response else "",
            run_cost_html(record),
        )

    return run_details


def _version(record: RunRecord | None) -> str:
    """What the details of a run were drawn from: it changes whenever the run moves on."""
    if record is None:
        return ""
    video = views.video_of(record) is not None
    return f"{record.run_id}|{record.state}|{record.finished}|{record.updated_at}|{record.result_path}|{video}"


def _make_version(services: Services) -> Callable[..., str]:
    def shown_version(run_id: str, request: gr.Request) -> str:
        return _version(_mine(services, request, run_id))

    return shown_version


def _make_details_follow(services: Services, count: int) -> Callable[..., tuple[Any, ...]]:
    run_details = _make_details(services)

    def follow_details(run_id: str, shown: str, request: gr.Request) -> tuple[Any, ...]:
        """The selected run's details again if it has moved on since they were drawn, else nothing."""
        version = _version(_mine(services, request, run_id))
        if not version or version == shown:
            return tuple(gr.skip() for _ in range(count + 1))
        return (*run_details(run_id, request), version)

    return follow_details


def _api_base(record: RunRecord) -> str:
    fields = {"kind": record.provider, "wire": record.wire, "base_url": record.base_url}
    provider = ProviderConfig.model_validate(fields)
    return provider.api_base


def _make_export(services: Services) -> Callable[..., str]:
    def export_run(run_id: str, kind: str, request: gr.Request) -> str:
        """Code for the whole loop (submit, poll, download) with the key as an environment variable."""
        from playground.core import snippets

        record = _mine(services, request, run_id)
        body = record.body() if record else None
        if record is None and (run_id or "").strip():
            # The page shows this beside the timeline's own "No such run"; a script needs it here.
            return "# run_id: no such run in this browser's history"
        if record is None or body is None:
            return ""
        wire: WireFormat = "gateway" if record.wire == "gateway" else "dashscope"
        base = _api_base(record)
        if kind == "python":
            return snippets.python_script(body, wire, base)
        if kind == "javascript":
            return snippets.javascript_script(body, wire, base)
        if kind == "json":
            return snippets.wire_json(body)
        return snippets.curl_script(body, wire, base)

    return export_run


def bundle_secrets(services: Services, request: gr.Request) -> list[str]:
    """Every key a bundle must not hold: this tab's typed one and the server's."""
    key = session_of(services, request).api_key
    secrets = [key.get_secret_value()] if key is not None else []
    return secrets + [k.get_secret_value() for k in (services.settings.dashscope_api_key,
                                                     services.settings.gateway_api_key) if k is not None]


def write_run_bundle(services: Services, record: RunRecord, secrets: list[str]) -> Path:
    """The run's bundle zip, under the data directory's bundles folder (a batch bundle reuses it)."""
    from playground.client import write_bundle

    events = services.ledger().events(record.run_id)
    path = services.data_dir / "bundles" / f"{record.run_id}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bundle(
        path,
        # A bundle is shared outside the browser: no owner, no browser or session id in it.
        record={k: v for k, v in vars(record).items() if k not in ("owner", "session_id")},
        request=views.request_of(record),
        wire_body=record.body() or {},
        responses=services.ledger().responses(record.run_id),  # every answer, oldest first
        timeline=[(e.state, views._when(e.at)) for e in events],
        guidance=(record.guidance_text or "").splitlines(),
        video=Path(p) if (p := views.video_of(record)) else None,
        secrets=secrets,
    )
    return path


def _make_bundle(services: Services) -> Callable[..., str | None]:
    def run_bundle(run_id: str, request: gr.Request) -> str | None:
        """A zip of the run for a bug report or a stakeholder: request, responses, timeline, video."""
        record = _mine(services, request, run_id)
        if record is None:
            raise gr.Error("Select one of your runs first.")
        return services.handout(write_run_bundle(services, record, bundle_secrets(services, request)))

    return run_bundle


def _make_compare(services: Services) -> Callable[..., str]:
    def compare_runs(run_ids: list[str], request: gr.Request) -> str:
        """Two to four runs side by side: differing parameters marked, videos playing in sync."""
        records = [r for r in (_mine(services, request, i) for i in run_ids or []) if r is not None]
        if not 2 <= len(records) <= 4:
            return '<section aria-label="Comparison" class="compare">Choose between 2 and 4 runs.</section>'
        return views.compare_html(records, lambda r: media_url(services.secret, r.run_id))

    return compare_runs


def _make_load(services: Services) -> Callable[..., list[Any]]:
    def load_into_form(run_id: str, request: gr.Request) -> list[Any]:
        """Every input of the run's tab restored as it was sent, and that tab opened."""
        record = _mine(services, request, run_id)
        sent = views.request_of(record) if record else {}
        mode = sent.get("mode")
        if mode not in MODES:
            raise gr.Error("Select one of your runs first (a recovered task has no form to load).")
        values = form_from_request(sent)
        updates: list[Any] = [gr.Tabs(selected=mode)]
        for each in MODES:
            names = field_names(each)
            updates += [values.get(n) for n in names] if each == mode else [gr.skip() for _ in names]
        return updates

    return load_into_form


# Wide enough for any provider's ids (UUIDs, task_01J..., dotted or colon-separated ones), narrow
# enough that an id can never be a path, a query or a dot segment.
_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,255}")


def _make_recover(services: Services) -> Callable[..., AsyncIterator[tuple[Any, ...]]]:
    async def recover_task(provider: Any, wire: Any, base_url: str, scenario: str, task_id: str,
                           request: gr.Request) -> AsyncIterator[tuple[Any, ...]]:
        """Attach to a task submitted elsewhere (or before a crash) and follow it to its video."""
        task_id = (task_id or "").strip()
        if not task_id:
            raise gr.Error("Task id: paste the id of the task to follow.")
        if not _TASK_ID.fullmatch(task_id):
            raise gr.Error(f"Task id: {task_id[:60]!r} is not a task id; ids are letters and digits, with - _ . : "
                           "inside (no spaces, slashes or control characters).")
        session = session_of(services, request)
        ledger = services.ledger()
        known = ledger.find_task(task_id)
        if known is not None and known.session_id is None:
            # A run of the command line (no browser owns it): recovering it here adopts it, so it
            # shows in this browser's History from now on.
            ledger.update(known.run_id, session_id=session.owner)
            known = ledger.get(known.run_id)
        if known is not None and known.session_id != session.owner:
            # Another browser's run: following it here would take it over. Say no more than for
            # a task that does not exist at all.
            raise gr.Error(f"Task id: no task {task_id!r} that this browser can follow; recover tasks you "
                           "submitted, with the key they were submitted with.")
        if known is not None and known.finished:
            # Nothing to follow: the run has ended. Show where it ended instead of a second run.
            note = f"This task's run has already ended ({label_of(known.state)}); it is in History."
            view = RunView(state=known.state, task_id=known.task_id, note=note,
                           video_path=services.handout(views.video_of(known)))
            status, guidance, video, _, _ = view.as_outputs()
            yield status, guidance, video
            return
        if known is not None and known.run_id in services.board.running():
            async for view in runs.watch(services, known.run_id):  # already followed: no second run
                status, guidance, video, _, _ = view.as_outputs()
                yield status, guidance, video
            return
        connection = Connection(provider=provider, wire=services.wire_for(provider, wire),
                                     base_url=(base_url or "").strip() or None, scenario=None,
                                     api_key=session.api_key, owner=session.owner)
        try:
            config = provider_config(services, connection)
        except ConnectionError_ as exc:
            raise gr.Error(str(exc)) from None
        ledger = services.ledger()

        def stream() -> AsyncIterator[Any]:
            return recover_run(task_id, config, ledger, services.runs_dir,
                               deadline_s=services.settings.run_deadline_s,
                               session_id=session.owner,
                               options=run_options(services))

        # Two clicks (or two calls at once) follow one run: the second watches the first.
        key = ("recover", session.owner, config.base_url, task_id)
        run_id = await services.board.start_once(key, stream, provider=config, ledger=ledger)
        async for view in runs.watch(services, run_id):
            if view.state == RunState.UNKNOWN:
                # The provider does not know the task for this key; nothing was recorded.
                view.note = (f"Unknown task {task_id}: created with another key? type that key in the Connection "
                             "panel (API key), then recover again. Nothing was added to History.")
            status, guidance, video, _, _ = view.as_outputs()
            yield status, guidance, video

    return recover_task
