"""The shot-list editor's logic and the reference tokens of the form, without a browser
(playground/ui/prompt_craft.py): prompt <-> rows round trips (Chinese too), no echo between the
two sides, unreadable lines kept and flagged, the editor's buttons, token insertion and the
verdict's list of tokens."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.core.profile import load_profile
from playground.core.prompt_examples import PROMPT_EXAMPLES
from playground.core.shots import parse, write
from playground.ui import prompt_craft as craft
from playground.ui.examples import EXAMPLES, labels
from playground.ui.preview import build_preview

PROFILE = load_profile("wan-2.7")
LIMITS = PROFILE.shots
ENGLISH = "A lighthouse at dusk.\nShot 1 [0-3s] Wide shot: waves.\nShot 2 [3-6s] Close-up: the lamp."
CHINESE = "雨夜的城市街头，电影感。\n镜头1 [0-3秒] 全景：行人撑伞走过。\n镜头2 [3-6秒] 特写：雨滴。"


def editor_for(prompt: str) -> tuple[str, list[list[Any]]]:
    view = craft.editor_from_prompt(prompt, "", [])
    assert view is not None
    return view


@pytest.mark.parametrize("prompt", [ENGLISH, CHINESE])
def test_prompt_to_rows_to_prompt(prompt: str) -> None:
    """The editor shows the prompt's shots, and writes back exactly the same text (Chinese markers too)."""
    overall, rows = editor_for(prompt)
    assert overall == parse(prompt).overall
    assert rows == [[0, 3, parse(prompt).shots[0].text], [3, 6, parse(prompt).shots[1].text]]
    # The editor already shows it: neither side has anything to update.
    assert craft.editor_from_prompt(prompt, overall, rows) is None
    assert craft.prompt_from_editor(prompt, overall, rows) is None
    # Written from scratch (an empty prompt), the rows give the same text back, in the same language.
    written = craft.prompt_from_editor("", overall, rows)
    assert written == prompt or (written is not None and parse(written) == parse(prompt))


def test_an_edited_row_is_written_in_the_prompts_language() -> None:
    overall, rows = editor_for(CHINESE)
    rows[1][2] = "特写：雨滴落在伞上。"
    assert craft.prompt_from_editor(CHINESE, overall, rows) == CHINESE.replace("特写：雨滴。", "特写：雨滴落在伞上。")
    # A new shot list written in Chinese gets Chinese markers even before the prompt has any.
    harbour = craft.prompt_from_editor("", "清晨的港口。", [[0, 5, "航拍：渔船出海。"]])
    assert harbour == "清晨的港口。\n镜头1 [0-5秒] 航拍：渔船出海。"


@settings(max_examples=80, deadline=None)
@given(
    st.text(st.characters(categories=["L", "Zs"], exclude_characters="\u3000"), max_size=30),
    st.lists(
        st.tuples(
            st.integers(0, 60).map(lambda n: n / 2),
            st.integers(0, 60).map(lambda n: n / 2),
            st.text(st.characters(categories=["L", "Zs"]), max_size=20),
        ),
        max_size=6,
    ),
)
def test_rows_to_prompt_to_rows(overall: str, rows: list[tuple[float, float, str]]) -> None:
    """Whatever rows the editor holds, the prompt it writes reads back into the same rows (texts
    without digits, so none holds a shot marker of its own)."""
    table = [list(row) for row in rows]
    written = craft.prompt_from_editor("", overall, table)
    expected = craft.edited("", overall, table)
    if written is None:  # the empty prompt already says it: no overall and no rows
        assert not expected.overall and not expected.shots
        return
    assert craft.editor_from_prompt(written, overall, table) is None
    _, back = craft.editor_from_prompt(written, "", []) or (expected.overall, craft.rows_of(expected))
    assert back == craft.rows_of(expected)


def test_hand_written_spellings_stay_as_written() -> None:
    """A prompt in another accepted spelling is the same shot list: the editor never rewrites it."""
    prompt = "Neon city.\nshot 1: (0 - 2 sec) a car passes\nSHOT 2 【2~4s】 rain"
    overall, rows = editor_for(prompt)
    assert rows == [[0, 2, "a car passes"], [2, 4, "rain"]]
    assert craft.prompt_from_editor(prompt, overall, rows) is None
    # Misnumbered shots are the same shots: the table does not flicker on every keystroke.
    assert craft.editor_from_prompt("Shot 1 [0-2s] a\nShot 3 [2-4s] b", "", [[0, 2, "a"], [2, 4, "b"]]) is None
    # Once the editor is used, it writes the canonical form.
    rows[1][2] = "heavy rain"
    canonical = "Neon city.\nShot 1 [0-2s] a car passes\nShot 2 [2-4s] heavy rain"
    assert craft.prompt_from_editor(prompt, overall, rows) == canonical


def test_lines_that_cannot_be_read_stay_in_the_prompt_and_are_flagged() -> None:
    prompt = ENGLISH + "\nShot 3 [soon] fireworks"
    overall, rows = editor_for(prompt)
    assert len(rows) == 2  # not a row
    rows[0][2] = "Wide shot: big waves."
    written = craft.prompt_from_editor(prompt, overall, rows)
    assert written is not None and written.endswith("\nShot 3 [soon] fireworks")  # never lost
    note = craft.shot_note(prompt, rows, 6, LIMITS)
    assert "Kept in the prompt as written" in note and "Shot 3 [soon] fireworks" in note
    assert "could not read the time range" in note


def test_incomplete_rows_are_not_written_and_the_note_says_so() -> None:
    rows: list[list[Any]] = [[0, 3, "Wide shot"], ["", "", "a shot still being typed"]]
    assert craft.prompt_from_editor("", "Dusk.", rows) == "Dusk.\nShot 1 [0-3s] Wide shot"
    # The prompt that comes back leaves the table alone: the half-typed row is not lost.
    assert craft.editor_from_prompt("Dusk.\nShot 1 [0-3s] Wide shot", "Dusk.", rows) is None
    assert "Row 2 need a start and an end" in craft.shot_note("Dusk.\nShot 1 [0-3s] Wide shot", rows, 3, LIMITS)
    # Blank rows (what an empty table row sends) are no rows at all; {"data": ...} is read too.
    assert craft.table_rows({"headers": craft.HEADERS, "data": [["", "", ""], [1, 2, "x"]]}) == [[1, 2, "x"]]
    assert craft.table_rows("not a table") == [] and craft.table_rows(None) == []


def test_the_note_reports_shots_past_the_duration() -> None:
    note = craft.shot_note(ENGLISH, [], 5, LIMITS)
    assert "2 shots, 0-6 s of a 5 s video" in note
    assert "Shot 2 [3-6s] ends at 6s, past the end of the 5s video" in note and 'class="shot-note warn"' in note
    assert 'class="shot-note"' in craft.shot_note(ENGLISH, [], 6, LIMITS)
    assert "No timed shots" in craft.shot_note("Just a sunset.", [], 5, LIMITS)


def test_the_echo_of_the_editors_own_write_is_recognised_once() -> None:
    recent = craft.remember([], "a")
    recent = craft.remember(recent, "ab")
    assert craft.echo(recent, "a") == (True, ["ab"])  # and "a" is forgotten
    assert craft.echo(["ab"], "ab") == (True, [])
    assert craft.echo(["ab"], "typed by hand") == (False, [])
    assert craft.echo("garbage", "a") == (False, [])
    assert len(craft.remember([str(n) for n in range(20)], "x")) == 8


def test_buttons_add_split_and_move() -> None:
    first = craft.add("", "Dusk.", [], 9)
    assert first.prompt == "Dusk.\nShot 1 [0-9s]"
    second = craft.add(first.prompt, first.overall, first.rows, 9)
    third = craft.add(second.prompt, second.overall, second.rows, 9)
    assert [row[:2] for row in third.rows] == [[0, 4.5], [4.5, 6.8], [6.8, 9]]
    laid = craft.split(
        third.prompt, third.overall, [[a, b, t] for (a, b, _), t in zip(third.rows, "abc", strict=True)], 9
    )
    assert laid.prompt == "Dusk.\nShot 1 [0-3s] a\nShot 2 [3-6s] b\nShot 3 [6-9s] c"
    up = craft.move(laid.prompt, laid.overall, laid.rows, 3, -1)
    assert up.prompt == "Dusk.\nShot 1 [0-3s] a\nShot 2 [3-6s] c\nShot 3 [6-9s] b" and up.selected == 2
    assert craft.move(laid.prompt, laid.overall, laid.rows, 1, -1).prompt == laid.prompt  # already first
    assert craft.move(laid.prompt, laid.overall, laid.rows, 99, 1).selected == 3


def test_insert_token_at_the_cursor_or_at_the_end() -> None:
    assert craft.insert_token("walks in.", "Image 1", 0) == "Image 1 walks in."
    assert craft.insert_token("A park,", "Image 2", None) == "A park, Image 2"
    assert craft.insert_token("A park", "Video 1", 999) == "A park Video 1"
    assert craft.insert_token("", "Image 1", None) == "Image 1"
    assert craft.insert_token("公园里，挥手。", "Image 1", 4) == "公园里，图1挥手。"


def test_references_are_listed_with_their_tokens() -> None:
    values = {
        "reference_images": "https://e.com/a.png\nhttps://e.com/people/b%20c.png",
        "reference_videos": "https://e.com/v.mp4",
        "first_frame": "https://e.com/f.png",
    }
    refs = craft.references("reference-to-video", values)
    assert [(r.index, r.token) for r in refs] == [(0, "Image 1"), (1, "Image 2"), (2, "Video 1")]
    listing = craft.references_html("reference-to-video", refs, "Image 2 waves at Video 1.")
    assert "<code>Image 1</code> a.png" in listing and "b c.png" in listing
    assert listing.count("named in the prompt") == 3 and listing.count("not named in the prompt") == 1
    assert "Each reference you attach gets a token" in craft.references_html("reference-to-video", [], "")
    assert craft.references_html("text-to-video", [], "") == ""


def test_the_verdict_lists_the_tokens_and_where_they_point() -> None:
    values = {
        "prompt": "Image 1 and Image 3 wave. 图2 smiles.",
        "reference_images": "https://e.com/a.png\nhttps://e.com/b.png",
    }
    shown = build_preview("reference-to-video", values, "gateway", PROFILE)
    verdict = shown.verdict_html()
    assert "Tokens in the prompt" in verdict
    assert "<code>Image 1</code> → <code>input.media[0]</code> reference_image (a.png)" in verdict
    assert '<code>Image 3</code> → <span class="unnamed">no such media item</span>' in verdict
    assert "<code>图2 (Image 2)</code> → <code>input.media[1]</code>" in verdict
    t2v = build_preview("text-to-video", {"prompt": "Image 1 walks."}, "dashscope", PROFILE).verdict_html()
    assert "nothing: text-to-video takes no references" in t2v
    plain = build_preview("text-to-video", {"prompt": "A walk."}, "dashscope", PROFILE).verdict_html()
    assert "Tokens in the prompt" not in plain


def test_every_prompt_example_is_in_the_ui_and_round_trips_through_the_editor() -> None:
    for mode, examples in PROMPT_EXAMPLES.items():
        for example in examples:
            assert example.label in labels(mode)
            prompt = example.fields["prompt"]
            overall, rows = editor_for(prompt)
            assert craft.prompt_from_editor("", overall, rows) == prompt == write(parse(prompt))
    two = next(e for e in EXAMPLES["reference-to-video"] if e.label == "Two characters by their tokens")
    assert [s.name for s in two.media["reference_images"]] == ["character.png", "character-2.png"]


def test_video_edit_references_are_optional_to_name() -> None:
    values = {"video": "https://e.com/src.mp4", "reference_images": "https://e.com/look.png"}
    refs = craft.references("video-edit", values)
    assert [(r.index, r.token) for r in refs] == [(0, "Video 1"), (1, "Image 1")]
    listing = craft.references_html("video-edit", refs, "Repaint Video 1.")
    assert "not named in the prompt (optional here)" in listing and 'class="unnamed"' not in listing
