"""Gradio components for one mode's tab, laid out from the profile (choices and ranges included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from playground.core.profile import DurationRule, Mode, Profile
from playground.ui import quote_panel
from playground.ui.examples import labels as example_labels
from playground.ui.forms import (
    API_DEFAULT,
    DEFAULT_SEED,
    KEEP_SOURCE_RATIO,
    audio_setting_choices,
    field_names,
    model_choices,
    ratio_choices,
    resolution_choices,
    slots,
    switch_choices,
)
from playground.ui.shot_editor import (
    ReferenceTokens,
    ShotEditor,
    build_reference_tokens,
    build_shot_editor,
    token_slot,
)
from playground.ui.star_button import build_star_button

_FILE_TYPES = {"image": ["image"], "video": ["video"], "audio": ["audio"]}
# The largest whole number a request can carry; the duration box takes any number up to it, so
# an out-of-range duration reaches the preview, which names the field and shows what is sent.
_INT_MAX = 2**31 - 1


@dataclass
class ModeTab:
    """The components of one tab, by form field name, plus the output panel."""

    mode: Mode
    inputs: dict[str, Any] = field(default_factory=dict)
    uploads: dict[str, gr.File] = field(default_factory=dict)
    thumbs: dict[str, gr.HTML] = field(default_factory=dict)  # pictures and stills of each slot's URLs
    counter: gr.HTML | None = None
    request_json: gr.Code | None = None
    verdict: gr.HTML | None = None
    send: gr.Button | None = None
    cancel: gr.Button | None = None
    status: gr.HTML | None = None
    video: gr.Video | None = None
    output: gr.HTML | None = None
    guidance: gr.HTML | None = None
    response: gr.Code | None = None
    import_text: gr.Textbox | None = None
    import_button: gr.Button | None = None
    import_report: gr.HTML | None = None
    export_kind: gr.Radio | None = None
    export_code: gr.Code | None = None
    example: gr.Dropdown | None = None
    example_button: gr.Button | None = None
    quote: quote_panel.QuotePanel | None = None  # what the request costs (playground/ui/quote_panel.py)
    # The shot-list editor and the reference tokens (playground/ui/shot_editor.py); None where absent.
    shot_editor: ShotEditor | None = None
    reference_tokens: ReferenceTokens | None = None
    star: gr.Button | None = None  # the Star toggle beside Cancel (playground/ui/star_button.py)

    def ordered_inputs(self) -> list[Any]:
        return [self.inputs[name] for name in field_names(self.mode)]


def duration_info(rule: DurationRule) -> str:
    """The range as the duration box says it; empty means the API's default."""
    if rule.choices is None and rule.keep_source is None:
        return f"{rule.describe()} seconds; empty: the API default ({rule.default} s)"
    return f"{rule.describe()}; empty: the API default"


def duration_input(rule: DurationRule, label: str = "Duration (s)") -> gr.Number | gr.Dropdown:
    """A number box for a plain range, a dropdown when only some values are allowed.

    Not a slider: a slider's box shows a typed 20 beside a thumb at 15 while Gradio refuses the
    value, so the preview kept showing the old one. The box takes any whole number; the preview
    judges it against the range and names the field.
    """
    if rule.choices is None and rule.keep_source is None and rule.min is not None and rule.max is not None:
        return gr.Number(
            value=rule.default, precision=0, minimum=0, maximum=_INT_MAX, step=1, label=label,
            info=duration_info(rule),
        )
    choices: list[tuple[str, int]] = [
        ("keep source length" if v == rule.keep_source else f"{v} s", v) for v in rule.values()
    ]
    return gr.Dropdown(choices=choices, value=rule.default, label=label, info=duration_info(rule))


def build_mode_tab(mode: Mode, profile: Profile) -> ModeTab:
    """Lay out one tab: inputs on the left, preview, status and result on the right."""
    rules = profile.mode(mode)
    tab = ModeTab(mode)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=360):
            with gr.Row(equal_height=True):
                # Nothing chosen at first: the form is empty, and choosing one fills it at once.
                tab.example = gr.Dropdown(
                    example_labels(mode), value=None, label="Example", info="Choosing one fills the form", scale=4
                )
                tab.example_button = gr.Button("Load example", scale=1)
            with gr.Accordion("Import a request (JSON or curl)", open=False, elem_id=f"{mode}-import"):
                tab.import_text = gr.Textbox(
                    label="Paste a request",
                    lines=4,
                    max_lines=16,
                    placeholder="Either wire format's JSON, or a curl command copied from docs or devtools",
                )
                tab.import_button = gr.Button("Import into the form")
            # Outside the accordion: an import that lands in this tab reports here, seen without opening it.
            tab.import_report = gr.HTML(padding=False, elem_id=f"{mode}-import-report")
            _prompt_inputs(tab, profile, rules.prompt_required)
            with gr.Row():
                tab.inputs["duration"] = duration_input(rules.duration)
                # "API default" leaves the field out of the request: the API's default applies.
                tab.inputs["resolution"] = gr.Radio(resolution_choices(profile), value=API_DEFAULT, label="Resolution")
            if mode != "image-to-video":
                default_ratio = KEEP_SOURCE_RATIO if mode == "video-edit" else API_DEFAULT
                tab.inputs["aspect_ratio"] = gr.Radio(
                    ratio_choices(mode, profile), value=default_ratio, label="Aspect ratio"
                )
            with gr.Row():
                # Random is on at first, so the box starts disabled: a seed typed there would not be sent.
                tab.inputs["seed"] = gr.Number(
                    value=DEFAULT_SEED, precision=0, minimum=0, maximum=profile.seed_max, label="Seed", scale=2,
                    interactive=False, info=SEED_INFO[True],
                )
                tab.inputs["random_seed"] = gr.Checkbox(value=True, label="Random seed", scale=1)
            with gr.Row():
                tab.inputs["prompt_extend"] = gr.Radio(
                    switch_choices("prompt_extend"), value=API_DEFAULT, label="Prompt extend", scale=1
                )
                tab.inputs["watermark"] = gr.Radio(
                    switch_choices("watermark"), value=API_DEFAULT, label="Watermark", scale=1
                )
            if mode == "video-edit":
                tab.inputs["audio_setting"] = gr.Radio(
                    audio_setting_choices(),
                    value=API_DEFAULT,
                    label="Audio",
                    info="auto: may regenerate; origin: keep the source's",
                )
            # A dated snapshot id imported (or chosen) stays in the request, not swapped for the alias.
            tab.inputs["model_id"] = gr.Dropdown(
                model_choices(mode, profile),
                value=API_DEFAULT,
                label="DashScope model",
                info="The DashScope format sends this id (a dated one pins a snapshot); the gateway has one model",
            )
            _media_inputs(tab)
        with gr.Column(scale=4, min_width=360):
            _output_panel(tab)
    return tab


# The seed box's note, by whether "Random seed" is ticked.
SEED_INFO = {
    True: "Random seed is on: each run picks its own seed; untick it to fix one",
    False: "Sent as the request's seed",
}


def _prompt_inputs(tab: ModeTab, profile: Profile, required: bool) -> None:
    tab.inputs["prompt"] = gr.Textbox(
        label="Prompt",
        elem_id=f"{tab.mode}-prompt",
        lines=4,
        max_lines=12,
        placeholder="Subject, action, scene and style. Multi-shot: 'Shot 1 [0-3s] ...'"
        + ("" if required else " (optional)"),
    )
    tab.counter = gr.HTML(f'<div class="counter">0 / {profile.prompt_max_chars}</div>', padding=False)
    tab.shot_editor = build_shot_editor(tab.mode)
    tab.inputs["negative_prompt"] = gr.Textbox(label="Negative prompt", lines=1, max_lines=4, placeholder="optional")


def _media_inputs(tab: ModeTab) -> None:
    for slot in slots(tab.mode):
        with gr.Group():
            tab.uploads[slot.name] = gr.File(
                label=f"{slot.label}: upload",
                file_count="multiple" if slot.multiple else "single",
                file_types=_FILE_TYPES[slot.kind],
                height=110,
                elem_id=f"{tab.mode}-{slot.name}-upload",
            )
            tab.inputs[slot.name] = gr.Textbox(
                label=f"{slot.label}: URL" + ("s, one per line" if slot.multiple else ""),
                lines=2 if slot.multiple else 1,
                max_lines=6 if slot.multiple else 1,
                info=slot.info or None,
                placeholder="https://... (an upload fills this in)",
            )
            tab.thumbs[slot.name] = gr.HTML(padding=False, elem_id=f"{tab.mode}-{slot.name}-thumbs")
        if slot.name == token_slot(tab.mode):
            tab.reference_tokens = build_reference_tokens(tab.mode)


def _output_panel(tab: ModeTab) -> None:
    tab.request_json = gr.Code(
        value="{}", language="json", label="Request JSON", interactive=False, lines=12, max_lines=24, wrap_lines=True
    )
    tab.verdict = gr.HTML(padding=False)
    tab.quote = quote_panel.build(tab.mode)
    with gr.Accordion("Code for this request", open=False, elem_id=f"{tab.mode}-export"):
        tab.export_kind = gr.Radio(
            [("curl (bash)", "curl"), ("Python (httpx)", "python"), ("JavaScript (fetch)", "javascript")],
            value="curl",
            label="Language",
            info="The whole loop: submit, poll with backoff, download",
        )
        tab.export_code = gr.Code(language="shell", label="Code", interactive=False, max_lines=30)
    with gr.Row():
        tab.send = gr.Button("Send", variant="primary", scale=3)
        tab.cancel = gr.Button("Cancel", variant="stop", scale=1)
        tab.star = build_star_button(tab.mode)  # stars the run this tab shows (ui/showcase_panel.py)
    tab.status = gr.HTML('<section aria-label="Task status" class="status idle">No task yet.</section>', padding=False)
    tab.guidance = gr.HTML(padding=False)
    # The video's own download button hands the file over; the status never names a server path.
    tab.video = gr.Video(label="Video", interactive=False, height=300, buttons=["download"],
                         elem_id=f"{tab.mode}-result-video")
    tab.output = gr.HTML(padding=False)
    with gr.Accordion("Final response", open=False):
        tab.response = gr.Code(value="", language="json", label="Response JSON", interactive=False, max_lines=30)
