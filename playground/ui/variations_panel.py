"""The Variations panel of a mode tab: up to two axes over the tab's form, a previewed grid, Send all.

An axis is a field of the mode (:func:`playground.core.variations.variable_fields`) and its
values: ``720P, 1080P``; prompts one per line (or ``|`` between them), or a template with
``{name}`` placeholders followed by one ``name: v1, v2`` line per placeholder; seeds as a list
or ``3 random``. The base request is the tab's form as it stands (``forms.request_from_form``).

* ``/variations_preview_<mode>``: every request of the grid in the selected wire format (the text
  the tab's Request JSON shows for one request), each judged like a single request, invalid ones
  marked with their field messages, and the total quote of the valid ones.
* ``/variations_send_<mode>``: the valid ones started as runs of one batch (``batch_runs``);
  nothing is sent for an invalid one. Answers the grid and the batch id the contact sheet follows.

Random seeds come from ``seed_draw`` (a number the page picks at load, and "New random seeds"
changes; a script passes its own), so the grid Send all starts is the grid the preview showed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.core.profile import Mode, Profile
from playground.core.rules import CheckOptions
from playground.core.variation_grid import Grid, preview
from playground.core.variations import (
    Axis,
    VariationError,
    field_choices,
    parse_axis,
    seed_axis,
    template_axis,
    variable_fields,
)
from playground.core.wire import path_of
from playground.settings import Provider
from playground.ui import batch_runs, quote_panel
from playground.ui.connection import Connection
from playground.ui.contact_sheet import ContactSheet, build_sheet
from playground.ui.forms import field_names, request_from_form
from playground.ui.handlers import _named, session_of
from playground.ui.preview import sandbox_url_problems
from playground.ui.services import Services
from playground.ui.variations_views import grid_html, grid_json, message_html

NONE = "none"
_CONNECTION = ["provider", "wire", "base_url", "scenario"]
_AXES = ["axis1_field", "axis1_values", "axis2_field", "axis2_values", "seed_draw"]
_RANDOM = re.compile(r"(\d+)\s*random(?:\s+seeds?)?", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_]\w*)\}(?!\})")
_VALUES_LINE = re.compile(r"\s*([A-Za-z_]\w*)\s*:\s*(.*)")
_DRAW_MAX = 2**31 - 1


@dataclass
class VariationsPanel:
    mode: Mode
    fields: list[gr.Dropdown]
    values: list[gr.Textbox]
    draw: gr.Number
    reroll: gr.Button
    preview: gr.Button
    send: gr.Button
    grid: gr.HTML
    grid_data: gr.JSON
    sheet: ContactSheet

    def axis_inputs(self) -> list[Any]:
        return [self.fields[0], self.values[0], self.fields[1], self.values[1], self.draw]


def hint(mode: Mode, profile: Profile, name: str | None) -> str:
    """How to write the values of a field, with its choices where it has some."""
    if name in (None, "", NONE):
        return "Choose a field to vary"
    if name == "seed":
        return "A list (1, 7, 42), or N random seeds: 3 random"
    if name == "prompt":
        return ("One prompt per line (or | between them), or a template: A {animal} at dawn, "
                "then a line animal: cat, owl")
    if name == "negative_prompt":
        return "One per line, or | between them"
    choices = field_choices(mode, profile, str(name))
    if choices is None:
        return "Values separated by commas"
    shown = ", ".join(str(c).lower() if isinstance(c, bool) else str(c) for c in choices)
    return f"Separated by commas; allowed: {shown}"


def _new_draw() -> int:
    return random.randint(1, _DRAW_MAX)


def build(mode: Mode, profile: Profile) -> VariationsPanel:
    """The panel, in an accordion under the tab's form and output."""
    choices = [("none", NONE), *((name, name) for name in variable_fields(mode, profile))]
    fields: list[gr.Dropdown] = []
    values: list[gr.Textbox] = []
    with gr.Accordion("Variations", open=False, elem_id=f"{mode}-variations"):
        for number in (1, 2):
            with gr.Row(equal_height=False):
                fields.append(gr.Dropdown(choices, value=NONE, label=f"Axis {number}: field", scale=1,
                                          elem_id=f"{mode}-axis{number}-field"))
                values.append(gr.Textbox(label=f"Axis {number}: values", lines=2, max_lines=8, scale=3,
                                         info=hint(mode, profile, NONE), elem_id=f"{mode}-axis{number}-values"))
        with gr.Row():
            preview_button = gr.Button("Preview grid", scale=2)
            send = gr.Button("Send all", variant="primary", scale=2)
            reroll = gr.Button("New random seeds", scale=1)
        draw = gr.Number(value=0, precision=0, minimum=0, maximum=_DRAW_MAX, visible=False, label="Seed draw")
        grid = gr.HTML(padding=False, elem_id=f"{mode}-variations-grid")
        grid_data = gr.JSON(value=None, visible=False)
        sheet = build_sheet(mode)
    return VariationsPanel(mode, fields, values, draw, reroll, preview_button, send, grid, grid_data, sheet)


# -- axes and the grid -------------------------------------------------------------------------


def _template(text: str) -> tuple[str, dict[str, list[str]]] | None:
    """``A {animal} at dawn`` then ``animal: cat, owl`` lines: the template and its value lists."""
    if not _PLACEHOLDER.search(text):
        return None
    lines = text.strip().splitlines()
    found: dict[str, list[str]] = {}
    while len(lines) > 1 and (line := _VALUES_LINE.fullmatch(lines[-1])) is not None:
        found[line.group(1)] = [v.strip() for v in line.group(2).split(",") if v.strip()]
        lines.pop()
    return "\n".join(lines).strip(), dict(reversed(list(found.items())))


def axis_of(mode: Mode, profile: Profile, name: str | None, text: str | None, draw: int) -> Axis | None:
    """One axis from the panel's values, or None when the field is "none"."""
    if name in (None, "", NONE):
        return None
    text = text or ""
    if name == "seed" and (wanted := _RANDOM.fullmatch(text.strip())) is not None:
        rng = random.Random(f"{draw}:{wanted.group(1)}")
        return seed_axis(count=int(wanted.group(1)), rng=rng, seed_max=profile.seed_max)
    if name == "prompt" and (template := _template(text)) is not None:
        return template_axis(*template)
    return parse_axis(str(name), text, mode, profile)


def judge(services: Services, mode: Mode, connection: Connection, form: Mapping[str, Any],
          axes: tuple[Any, ...]) -> Grid:
    """The grid of the form and the axes, each request judged; VariationError when it cannot be built."""
    field_1, values_1, field_2, values_2, draw = axes
    seed_draw = int(draw) if isinstance(draw, int | float) else 0
    built = [axis_of(mode, services.profile, f, v, seed_draw) for f, v in ((field_1, values_1), (field_2, values_2))]
    chosen = [axis for axis in built if axis is not None]
    fmt = connection.wire
    grid = preview(
        mode, request_from_form(mode, form), chosen, services.profile, fmt, limit=services.settings.max_variations,
        prices=quote_panel.prices(services), region=quote_panel.region(services, connection.provider,
                                                                      connection.base_url),
        media_seconds=services.uploads.lengths(connection.owner),
        options=CheckOptions(allow_oss_urls=fmt == "dashscope"),
    )
    if connection.provider == "sandbox" and connection.base_url is None:
        # As for one request: the sandbox never fetches another host's file, so Send would fail.
        for entry in grid.entries:
            foreign = sandbox_url_problems(entry.variation.request, services.sandbox_url)
            entry.problems += [p.line(path_of(fmt, p.loc)) for p in foreign]
    return grid


# -- handlers ----------------------------------------------------------------------------------


def _split(services: Services, mode: Mode, args: tuple[Any, ...]) -> tuple[Connection, tuple[Any, ...],
                                                                           dict[str, Any]]:
    provider, wire, base_url, scenario = args[:4]
    chosen: Provider = provider if provider in ("sandbox", "dashscope", "gateway") else "sandbox"
    session = session_of(services, args[-1])
    connection = Connection(
        provider=chosen, wire=services.wire_for(chosen, wire), base_url=(base_url or "").strip() or None,
        scenario=None if scenario in (None, "", "none") else scenario, api_key=session.api_key, owner=session.owner,
    )
    axes = tuple(args[4:9])
    form = dict(zip(field_names(mode), args[9:-1], strict=True))
    return connection, axes, form


def make_preview(services: Services, mode: Mode) -> Callable[..., tuple[str, dict[str, Any] | None]]:
    def variations_preview(*args: Any) -> tuple[str, dict[str, Any] | None]:
        """Every request of the grid, judged, and the total quote; nothing is sent."""
        connection, axes, form = _split(services, mode, args)
        try:
            grid = judge(services, mode, connection, form, axes)
        except VariationError as exc:
            return message_html(str(exc)), {"error": str(exc), "field": exc.field}
        sandbox = connection.provider == "sandbox"
        return grid_html(grid, sandbox=sandbox), grid_json(grid, sandbox=sandbox)

    _named(variations_preview, f"variations_preview_{mode.replace('-', '_')}",
           [*_CONNECTION, *_AXES, *field_names(mode)], with_request=True)
    return variations_preview


def make_send(services: Services, mode: Mode) -> Callable[..., Awaitable[tuple[str, Any, str]]]:
    async def variations_send(*args: Any) -> tuple[str, Any, str]:
        """Start the grid's valid requests as one batch (through the queue); the batch id to follow."""
        connection, axes, form = _split(services, mode, args)
        try:
            grid = judge(services, mode, connection, form, axes)
        except VariationError as exc:
            return message_html(f"Not sent: {exc}"), {"error": str(exc), "field": exc.field}, gr.skip()
        sandbox = connection.provider == "sandbox"
        valid = [entry for entry in grid.entries if entry.ok]
        if not valid:
            text = "Not sent: no request of the grid is valid; fix the fields each card names, then send again"
            return grid_html(grid, sandbox=sandbox, sent=text), grid_json(grid, sandbox=sandbox), gr.skip()
        refused = batch_runs.refusal(services, grid, connection)
        if refused is not None:
            return grid_html(grid, sandbox=sandbox, sent=refused), grid_json(grid, sandbox=sandbox), gr.skip()
        batch_id = batch_runs.new_batch_id()
        try:
            await batch_runs.start_batch(services, connection, mode, valid, batch_id)
        except batch_runs.BatchRefused as exc:
            return grid_html(grid, sandbox=sandbox, sent=f"Not sent: {exc}"), grid_json(grid, sandbox=sandbox), \
                gr.skip()
        skipped = grid.invalid
        text = f"Sent {len(valid)} of {len(grid.entries)} as batch {batch_id}" + (
            f"; {skipped} invalid not sent" if skipped else "") + ". The contact sheet below follows it."
        data = grid_json(grid, sandbox=sandbox)
        data["batch_id"] = batch_id
        return grid_html(grid, sandbox=sandbox, sent=text), data, batch_id

    _named(variations_send, f"variations_send_{mode.replace('-', '_')}",
           [*_CONNECTION, *_AXES, *field_names(mode)], with_request=True)
    return variations_send


def _make_hint(services: Services, mode: Mode) -> Callable[[str | None], dict[str, Any]]:
    def values_hint(name: str | None) -> dict[str, Any]:
        return gr.update(info=hint(mode, services.profile, name))

    return values_hint


def _reroll() -> int:
    return _new_draw()


def wire(demo: gr.Blocks, services: Services, panel: VariationsPanel, form: list[Any], connection: list[Any],
         load_targets: list[Any], history_selected: gr.Textbox, first: bool) -> None:
    """Wire one tab's panel: ``form`` is the tab's inputs in field order, ``connection`` the
    provider, wire format, base URL and scenario; ``load_targets`` the tab strip then every
    tab's inputs (where Load into form writes); ``first`` gives ``/batch_status`` its name."""
    from playground.ui.contact_sheet import wire_sheet

    mode, name = panel.mode, panel.mode.replace("-", "_")
    for field, values in zip(panel.fields, panel.values, strict=True):
        field.change(_make_hint(services, mode), [field], [values], api_visibility="private", queue=False,
                     show_progress="hidden")
    inputs = [*connection, *panel.axis_inputs(), *form]
    outputs = [panel.grid, panel.grid_data]
    panel.preview.click(make_preview(services, mode), inputs, outputs, api_name=f"variations_preview_{name}",
                        queue=False)
    panel.send.click(make_send(services, mode), inputs, [*outputs, panel.sheet.batch],
                     api_name=f"variations_send_{name}", concurrency_limit=None)
    # Each page load draws its own random seeds; "New random seeds" draws again and re-previews.
    demo.load(_reroll, None, [panel.draw], api_visibility="private", queue=False, show_progress="hidden")
    panel.reroll.click(_reroll, None, [panel.draw], api_visibility="private", queue=False).then(
        make_preview(services, mode), inputs, outputs, api_visibility="private", queue=False)
    wire_sheet(demo, services, panel.sheet, load_targets, history_selected, first)
