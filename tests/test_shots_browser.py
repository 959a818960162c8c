"""The shot-list editor in a real browser, and its shots in the rehearsal video.

A three-shot prompt is built with the editor (overall description, Add shot, Split evenly, the
shot texts typed into the table), read back from a hand edit, warned about when the duration is
shortened below the last shot, fixed with the editor, and sent to the sandbox. The downloaded
MP4 is decoded with PyAV: a frame inside each shot's range carries that shot's colour swatch
and caption (probed pixels, not eyes).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from playground.core.geometry import output_size
from playground.core.shots import parse
from playground.media.cues import SHOT_COLOURS
from playground.media.render import shot_swatch_box

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODE = "text-to-video"
OVERALL = "A lighthouse on a rocky coast at dusk."
TEXTS = ["Wide shot: waves break below.", "Close-up: the lamp turns.", "Aerial: the beam sweeps the sea."]
TERMINAL = re.compile(r"Succeeded|Failed|Cancelled|Refused|Not sent|Unknown task|Expired|Deadline|unreachable")
RGBArray = npt.NDArray[np.uint8]


def prompt_box(scope: Any) -> Any:
    return scope.get_by_label("Prompt", exact=True)


def wait_prompt(scope: Any, needle: str) -> None:
    """Wait until the prompt box holds ``needle``."""
    scope.page.wait_for_function(
        "([sel, needle]) => document.querySelector(sel)?.value.includes(needle)",
        arg=[f"#{MODE}-prompt textarea", needle],
    )


def wait_verdict(scope: Any, needle: str, present: bool = True) -> None:
    scope.page.wait_for_function(
        "([sel, needle, present]) => (document.querySelector(sel)?.innerText.includes(needle) ?? false) === present",
        arg=[f"#tab-{MODE} .verdict", needle, present],
    )


def shot_cells(scope: Any) -> Any:
    return scope.locator(f"#{MODE}-shot-table [role=gridcell]")


def edit_cell(scope: Any, index: int, text: str) -> None:
    """Type into one cell of the shot table, as a user does: double-click, type, Enter."""
    cell = shot_cells(scope).nth(index)
    cell.dblclick()
    scope.page.keyboard.press("Control+A")
    scope.page.keyboard.type(text)
    scope.page.keyboard.press("Enter")


def decode(path: Path) -> list[RGBArray]:
    with av.open(str(path)) as container:
        return [np.asarray(f.to_ndarray(format="rgb24"), dtype=np.uint8) for f in container.decode(video=0)]


def swatch_shot(frame: RGBArray) -> tuple[int, float]:
    """The shot whose colour the frame's swatch shows, and how far from it (max channel difference)."""
    height, width = frame.shape[:2]
    x, y, w, h = shot_swatch_box(width, height)
    mean = frame[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4].reshape(-1, 3).astype(float).mean(axis=0)
    distances = [float(np.abs(mean - np.asarray(colour)).max()) for colour in SHOT_COLOURS]
    best = int(np.argmin(distances))
    return best + 1, distances[best]


def test_build_three_shots_warn_fix_send_and_find_them_in_the_video(page: Any, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Text-to-Video").click()
    scope = page.locator(f"#tab-{MODE}")
    prompt_box(scope).wait_for()
    scope.get_by_label("Duration (s)").fill("9")
    scope.get_by_text("Shot list (multi-shot)").click()

    # The overall description, typed into the editor, becomes the prompt.
    scope.get_by_label("Overall description").press_sequentially(OVERALL, delay=5)
    wait_prompt(scope, OVERALL)

    # Three shots: Add shot three times, then lay them end to end over the 9 s.
    for number in (1, 2, 3):
        scope.get_by_role("button", name="Add shot").click()
        wait_prompt(scope, f"Shot {number} [")
    scope.get_by_role("button", name="Split evenly over the duration").click()
    wait_prompt(scope, "Shot 3 [6-9s]")
    for row, text in enumerate(TEXTS):
        edit_cell(scope, row * 3 + 2, text)
        wait_prompt(scope, text)
    expected = "\n".join([OVERALL, *(f"Shot {n} [{3 * n - 3}-{3 * n}s] {t}" for n, t in enumerate(TEXTS, 1))])
    assert prompt_box(scope).input_value() == expected
    assert [s.text for s in parse(expected).shots] == TEXTS

    # A hand edit of the prompt reads back into the table; a line it cannot read is kept and flagged.
    prompt_box(scope).fill(expected.replace("the lamp turns", "the lamp starts to turn") + "\nShot 4 [soon] fireworks")
    scope.page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].some(c => c.innerText.includes('the lamp starts to turn'))",
        arg=f"#{MODE}-shot-table [role=gridcell]",
    )
    note = scope.locator(f"#{MODE}-shot-note")
    note.filter(has_text="Kept in the prompt as written").wait_for()
    assert "Shot 4 [soon] fireworks" in note.inner_text()
    assert shot_cells(scope).count() == 9  # three rows: the unreadable line is not a row
    assert prompt_box(scope).input_value().endswith("Shot 4 [soon] fireworks")  # never lost
    prompt_box(scope).fill(expected)
    note.filter(has_text="3 shots, 0-9 s of a 9 s video").wait_for()

    # Shortening the video below the last shot is a warning, in the verdict and beside the editor.
    scope.get_by_label("Duration (s)").fill("7")
    wait_verdict(scope, "Shot 3 [6-9s] ends at 9s, past the end of the 7s video")
    note.filter(has_text="past the end of the 7s video").wait_for()
    assert "Valid, with warnings" in scope.locator(".verdict").inner_text()

    # The editor fixes it: the shots laid evenly over the 7 s.
    scope.get_by_role("button", name="Split evenly over the duration").click()
    wait_prompt(scope, "Shot 3 [4.7-7s]")
    wait_verdict(scope, "past the end", present=False)
    wait_verdict(scope, "Valid request: ready to send")
    shots = parse(prompt_box(scope).input_value()).shots
    assert [(s.start, s.end, s.text) for s in shots] == [(0, 2.3, TEXTS[0]), (2.3, 4.7, TEXTS[1]), (4.7, 7, TEXTS[2])]

    scope.get_by_text("720P", exact=True).click()
    scope.page.wait_for_function(
        "sel => document.querySelector(sel)?.innerText.includes('\"720P\"')", arg=f"#tab-{MODE} .cm-content"
    )
    scope.get_by_role("button", name="Send").click()
    state = scope.locator("section[aria-label='Task status'] .state").filter(has_text=TERMINAL)
    state.wait_for(timeout=120_000)
    assert "Succeeded" in scope.locator("section[aria-label='Task status']").inner_text()

    # The sandbox says which shots it understood (a sandbox-only field of its answer).
    scope.get_by_text("Final response", exact=True).click()
    answer = scope.locator(".cm-content").filter(has_text="sandbox_shots")
    answer.wait_for()
    assert "Aerial: the beam sweeps the sea." in answer.inner_text()

    # The video, downloaded and decoded: each shot's swatch and caption inside its range.
    video = scope.locator("video[src*='gradio_api/file=']").first  # the result, not a thumbnail
    video.wait_for()
    source = video.evaluate("v => v.src")
    downloaded = page.request.get(source)
    assert downloaded.ok, downloaded.status
    path = tmp_path / "shots.mp4"
    path.write_bytes(downloaded.body())
    frames = decode(path)
    width, height = output_size("720P", "16:9")
    assert frames[0].shape[:2] == (height, width) and len(frames) == 7 * 30
    middles = [frames[round((s.start + s.end) / 2 * 30)] for s in shots]
    for number, frame in enumerate(middles, 1):
        seen, distance = swatch_shot(frame)
        assert seen == number and distance < 24, (number, seen, distance)
    # Each shot's caption (its text beside the swatch) differs from the others'.
    x, y, w, _ = shot_swatch_box(width, height)
    captions = [frame[y : height - 12, x + w + 8 : width // 2].astype(int) for frame in middles]
    for first in range(3):
        for second in range(first + 1, 3):
            assert np.abs(captions[first] - captions[second]).mean() > 2, (first, second)


def test_reference_tokens_are_listed_and_inserted_at_the_cursor(page: Any) -> None:
    """Each attached reference shows its token; Insert writes the chosen one where the cursor is;
    the verdict says which media item each token of the prompt points to."""
    page.get_by_role("tab", name="Reference-to-Video").click()
    scope = page.locator("#tab-reference-to-video")
    scope.get_by_label("Example").click()
    page.get_by_role("option", name="Two characters by their tokens").click()
    listing = scope.locator("#reference-to-video-reference-tokens")
    listing.filter(has_text="character-2.png").wait_for(timeout=60_000)
    assert "Image 1 character.png" in listing.inner_text() and "Image 2 character-2.png" in listing.inner_text()
    verdict = scope.locator(".verdict")
    verdict.filter(has_text="Tokens in the prompt").wait_for()
    assert "Image 2 → input.media[1] reference_image (character-2.png)" in verdict.inner_text()

    box = scope.get_by_label("Prompt", exact=True)
    box.fill("A night market. waves from a stall.")
    listing.filter(has_text="not named in the prompt").wait_for()
    box.evaluate("t => { t.focus(); t.setSelectionRange(16, 16); }")  # just before "waves"
    scope.get_by_role("combobox", name="Token", exact=True).click()
    page.get_by_role("option", name="Image 2").click()
    scope.get_by_role("button", name=re.compile("Insert into prompt")).click()
    page.wait_for_function("t => t.value === 'A night market. Image 2 waves from a stall.'", arg=box.element_handle())
    verdict.filter(has_text="never names Image 1").wait_for()
