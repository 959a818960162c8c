"""The shot-list editor and the reference tokens, in the Gradio page: builders and handlers only.

The work is in :mod:`playground.ui.prompt_craft` (Gradio-free) and the core. Endpoints, where
``MODE`` is ``text_to_video``, ``image_to_video`` or ``reference_to_video`` for the editor, and
``reference_to_video`` or ``video_edit`` for tokens:

* ``/shots_MODE``: the prompt (and duration) in; the editor's overall description, rows and
  note out. Runs on every change of the prompt or the duration; leaves the editor alone when it
  already shows the prompt, or when the change is the echo of the editor's own write.
* ``/write_shots_MODE``: the editor's overall description and rows in; the prompt written in
  the convention out (unchanged when it already says the same, so hand-written spellings stay).
* ``/add_shot_MODE``, ``/split_shots_MODE``, ``/move_shot_up_MODE``, ``/move_shot_down_MODE``:
  the editor's buttons; each returns the new prompt and the editor's new rows.
* ``/insert_token_MODE``: a token (``Image 2``) into the prompt at ``cursor``; the page sends the
  prompt box's cursor; an API caller may leave it empty, and the token then goes at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from playground.core.problems import shown
from playground.core.prompt_examples import MULTI_SHOT_MODES
from playground.core.tokens import TOKEN_TYPES, find_tokens
from playground.ui import prompt_craft
from playground.ui.forms import slots
from playground.ui.services import Services

if TYPE_CHECKING:
    from playground.core.profile import Mode
    from playground.ui.layout import ModeTab

_MAX_SHOT_NUMBER = 1000
_INT_MAX = 2**31 - 1

_EDITOR_HELP = (
    "Wan 2.7 has no shot parameter: shots live in the prompt as an overall description, then one "
    "line per shot, <code>Shot 1 [0-3s] wide shot, ...</code> (<code>镜头1 [0-3秒] ...</code> in Chinese). "
    "Edit here or in the prompt: each follows the other. Click a row to pick it for moving."
)
# Reads the prompt box's cursor in the page, so the token lands where the user was typing. The
# text sent is the box's own (what the user sees), not the value Gradio last synced: under load
# the two can differ for a moment, and an offset into one is wrong in the other. The caret is the
# one CARET_HEAD recorded when the box lost focus (clicking Insert moves focus away, and a value
# the server writes back afterwards puts the browser's caret at the end), if the text is unchanged.
_CURSOR_JS = """(token, prompt, cursor) => {{
  const box = document.querySelector('#{mode}-prompt textarea');
  if (!box) return [token, prompt, null];
  const kept = box.dataset.caretText === box.value ? Number(box.dataset.caret) : NaN;
  const at = Number.isInteger(kept) ? kept : box.selectionStart;
  return [token, box.value, at];
}}"""

# Remembers where the caret was in a prompt box when it lost focus (see _CURSOR_JS).
CARET_HEAD = """
<script>
document.addEventListener('focusout', (event) => {
  const box = event.target;
  if (!(box instanceof HTMLTextAreaElement) || !box.closest('[id$="-prompt"]')) return;
  box.dataset.caret = String(box.selectionStart);
  box.dataset.caretText = box.value;
}, true);
</script>
"""


@dataclass
class ShotEditor:
    overall: gr.Textbox
    table: gr.Dataframe
    add: gr.Button
    split: gr.Button
    number: gr.Number
    up: gr.Button
    down: gr.Button
    note: gr.HTML
    written: gr.State  # the editor's recent writes of the prompt, to tell their echo from a hand edit


@dataclass
class ReferenceTokens:
    listing: gr.HTML
    token: gr.Dropdown
    insert: gr.Button
    cursor: gr.Number


def token_slot(mode: Mode) -> str | None:
    """The last form slot whose files tokens name: the token list goes under it."""
    kinds = set(TOKEN_TYPES.get(mode, {}).values())
    names = [slot.name for slot in slots(mode) if slot.media_type in kinds]
    return names[-1] if names else None


def build_shot_editor(mode: Mode) -> ShotEditor | None:
    """The shot-list editor, for the modes whose prompts cut shots (None for the others)."""
    if mode not in MULTI_SHOT_MODES:
        return None
    with gr.Accordion("Shot list (multi-shot)", open=False, elem_id=f"{mode}-shots"):
        gr.HTML(f'<div class="shot-help">{_EDITOR_HELP}</div>', padding=False)
        overall = gr.Textbox(
            label="Overall description", lines=2, max_lines=6, placeholder="Scene, style and mood for every shot"
        )
        table = gr.Dataframe(
            value=[],
            headers=list(prompt_craft.HEADERS),
            datatype=["number", "number", "str"],
            type="array",
            column_count=3,
            interactive=True,
            wrap=True,
            label="Shots",
            column_widths=["14%", "14%", "72%"],
            elem_id=f"{mode}-shot-table",
        )
        with gr.Row():
            add = gr.Button("Add shot", size="sm")
            split = gr.Button("Split evenly over the duration", size="sm")
        with gr.Row(equal_height=True):
            number = gr.Number(
                value=1,
                precision=0,
                minimum=1,
                maximum=_MAX_SHOT_NUMBER,
                label="Shot to move",
                scale=2,
                elem_id=f"{mode}-shot-number",
            )
            up = gr.Button("Move up", size="sm", scale=1)
            down = gr.Button("Move down", size="sm", scale=1)
        note = gr.HTML(padding=False, elem_id=f"{mode}-shot-note")
        written = gr.State([])
    return ShotEditor(overall, table, add, split, number, up, down, note, written)


def build_reference_tokens(mode: Mode) -> ReferenceTokens | None:
    """The tokens of the attached references, and a button that writes one into the prompt."""
    if mode not in TOKEN_TYPES:
        return None
    listing = gr.HTML(prompt_craft.references_html(mode, [], ""), padding=False, elem_id=f"{mode}-reference-tokens")
    with gr.Row(equal_height=True):
        token = gr.Dropdown(
            [],
            value=None,
            label="Token",
            allow_custom_value=True,
            scale=2,
            elem_id=f"{mode}-token",
            info="How the prompt names an attached reference",
        )
        insert = gr.Button("Insert into prompt (at the cursor, else at the end)", size="sm", scale=3)
    # Filled in by the page from the prompt box's cursor; empty (None) puts the token at the end.
    cursor = gr.Number(value=None, precision=0, minimum=0, maximum=_INT_MAX, visible=False, label="cursor")
    return ReferenceTokens(listing, token, insert, cursor)


# -- handlers ------------------------------------------------------------------------------------


def _duration(services: Services, mode: Mode, duration: Any) -> float:
    """The duration to lay shots over: the form's, else the mode's default (the API's)."""
    if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
        return float(duration)
    return float(services.profile.mode(mode).duration.default)


def _note(services: Services, mode: Mode, prompt: str | None, table: Any, duration: Any) -> str:
    known = duration if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0 else None
    if known is None:
        default = services.profile.mode(mode).duration
        known = default.default if default.keep_source is None else None
    profile = services.profile
    return prompt_craft.shot_note(prompt, table, known, profile.shots, profile.prompt_max_chars)


def _remember(written: Any, before: str | None, after: str) -> Any:
    """The editor's writes with this one, when it changes the prompt (an unchanged prompt sends
    no change, so there is no echo to wait for)."""
    return written if after == (before or "") else prompt_craft.remember(written, after)


def make_shots(services: Services, mode: Mode) -> Any:
    def shots(prompt: str | None, duration: Any, overall: str | None, table: Any, written: Any) -> tuple[Any, ...]:
        """The prompt read into the editor: overall description, rows, and the shot check."""
        note = _note(services, mode, prompt, table, duration)
        echoed, rest = prompt_craft.echo(written, prompt)
        view = None if echoed else prompt_craft.editor_from_prompt(prompt, overall, table)
        if view is None:
            return gr.skip(), gr.skip(), note, rest
        return view[0], view[1], note, rest

    shots.__name__ = f"shots_{mode.replace('-', '_')}"
    return shots


def make_write(mode: Mode) -> Any:
    def write_shots(prompt: str | None, overall: str | None, table: Any, written: Any) -> tuple[Any, Any]:
        """The editor written into the prompt, in the convention (unchanged when it says the same)."""
        text = prompt_craft.prompt_from_editor(prompt, overall, table)
        if text is None:
            return gr.skip(), written
        return text, prompt_craft.remember(written, text)

    write_shots.__name__ = f"write_shots_{mode.replace('-', '_')}"
    return write_shots


def make_layout_button(services: Services, mode: Mode, action: str) -> Any:
    """Add shot, or split evenly over the duration."""

    def lay_out(prompt: str | None, overall: str | None, table: Any, duration: Any, written: Any) -> tuple[Any, ...]:
        length = _duration(services, mode, duration)
        edit = (prompt_craft.add if action == "add" else prompt_craft.split)(prompt, overall, table, length)
        return edit.prompt, edit.overall, edit.rows, _remember(written, prompt, edit.prompt)

    lay_out.__name__ = f"{'add_shot' if action == 'add' else 'split_shots'}_{mode.replace('-', '_')}"
    return lay_out


def make_move(mode: Mode, step: int) -> Any:
    def move(prompt: str | None, overall: str | None, table: Any, number: Any, written: Any) -> tuple[Any, ...]:
        """Move the shot numbered ``number`` one place up or down; the shots are laid end to end."""
        chosen = int(number) if isinstance(number, int | float) and not isinstance(number, bool) else 1
        edit = prompt_craft.move(prompt, overall, table, chosen, step)
        return (
            edit.prompt,
            edit.overall,
            edit.rows,
            edit.selected,
            _remember(written, prompt, edit.prompt),
        )

    move.__name__ = f"move_shot_{'up' if step < 0 else 'down'}_{mode.replace('-', '_')}"
    return move


def pick_row(event: gr.SelectData) -> Any:
    """A click on a row of the table picks that shot for moving."""
    index = event.index
    row = index[0] if isinstance(index, list | tuple) and index else index
    return int(row) + 1 if isinstance(row, int) else gr.skip()


def make_references(mode: Mode) -> Any:
    names = [slot.name for slot in slots(mode)]

    def reference_tokens(prompt: str | None, token: str | None, *urls: str | None) -> tuple[str, Any]:
        """Each attached reference with its token; the token choices follow the attachments."""
        refs = prompt_craft.references(mode, dict(zip(names, urls, strict=True)))
        choices = [ref.token for ref in refs]
        listing = prompt_craft.references_html(mode, refs, prompt)
        if token in choices:
            # Leave the value alone: this answer may arrive after the user picked another token
            # (it was asked for on an earlier prompt change), and must not undo that pick.
            return listing, gr.update(choices=choices)
        return listing, gr.update(choices=choices, value=choices[0] if choices else None)

    reference_tokens.__name__ = f"reference_tokens_{mode.replace('-', '_')}"
    return reference_tokens


def make_insert(mode: Mode) -> Any:
    def insert_token(token: Any, prompt: str | None, cursor: Any) -> str:
        """Write a token into the prompt at ``cursor`` (a character offset; empty: at the end)."""
        text = token.strip() if isinstance(token, str) else ""
        found = find_tokens(text)
        if len(found) != 1 or found[0].span != (0, len(text)):
            raise gr.Error(f"token: {shown(token, 40)} is not a reference token; use e.g. 'Image 1' or 'Video 1'")
        at = int(cursor) if isinstance(cursor, int | float) and not isinstance(cursor, bool) else None
        return prompt_craft.insert_token(prompt, text, at)

    insert_token.__name__ = f"insert_token_{mode.replace('-', '_')}"
    return insert_token


# -- wiring ----------------------------------------------------------------------------------------


def wire_prompt_craft(services: Services, tab: ModeTab) -> None:
    """Connect the tab's shot-list editor and reference tokens to its prompt (each if it has one)."""
    name = tab.mode.replace("-", "_")
    prompt, duration = tab.inputs["prompt"], tab.inputs["duration"]
    editor: ShotEditor | None = getattr(tab, "shot_editor", None)
    quiet: dict[str, Any] = {"queue": False, "show_progress": "hidden"}
    if editor is not None:
        gr.on(
            [prompt.change, duration.change],
            make_shots(services, tab.mode),
            [prompt, duration, editor.overall, editor.table, editor.written],
            [editor.overall, editor.table, editor.note, editor.written],
            api_name=f"shots_{name}",
            **quiet,
        )
        gr.on(
            # Typing and cell edits (user events only: the editor's own updates never write back),
            # and leaving the box, which also catches text pasted without typing.
            [editor.overall.input, editor.overall.blur, editor.table.input],
            make_write(tab.mode),
            [prompt, editor.overall, editor.table, editor.written],
            [prompt, editor.written],
            api_name=f"write_shots_{name}",
            trigger_mode="always_last",
            **quiet,
        )
        editor_state = [editor.overall, editor.table]
        for button, action in ((editor.add, "add"), (editor.split, "split")):
            button.click(
                make_layout_button(services, tab.mode, action),
                [prompt, *editor_state, duration, editor.written],
                [prompt, *editor_state, editor.written],
                api_name=f"{'add_shot' if action == 'add' else 'split_shots'}_{name}",
                **quiet,
            )
        for button, step in ((editor.up, -1), (editor.down, 1)):
            button.click(
                make_move(tab.mode, step),
                [prompt, *editor_state, editor.number, editor.written],
                [prompt, *editor_state, editor.number, editor.written],
                api_name=f"move_shot_{'up' if step < 0 else 'down'}_{name}",
                **quiet,
            )
        editor.table.select(pick_row, None, [editor.number], api_visibility="private", **quiet)
    tokens: ReferenceTokens | None = getattr(tab, "reference_tokens", None)
    if tokens is not None:
        url_boxes = [tab.inputs[slot.name] for slot in slots(tab.mode)]
        gr.on(
            [prompt.change, *(box.change for box in url_boxes)],
            make_references(tab.mode),
            [prompt, tokens.token, *url_boxes],
            [tokens.listing, tokens.token],
            api_visibility="private",
            **quiet,
        )
        tokens.insert.click(
            make_insert(tab.mode),
            [tokens.token, prompt, tokens.cursor],
            [prompt],
            js=_CURSOR_JS.format(mode=tab.mode),
            api_name=f"insert_token_{name}",
            **quiet,
        )
