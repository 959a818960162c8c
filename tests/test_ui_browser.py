"""The playground as its users meet it: `python app.py` driven by a real headless Chromium.

Each test fills a tab, watches the request preview change, sends, follows the task status and
checks the video that plays in the page. The per-mode tests write the README's screenshots to
docs/screenshots/ only when asked (``PLAYGROUND_SCREENSHOTS=1``), so a test run leaves the tree
clean.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from playground.core.geometry import output_size, size_for_media
from playground.media.samples import make_image, make_video
from tests.fixtures_app import shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TERMINAL = re.compile(r"Succeeded|Failed|Cancelled|Refused|Not sent|Unknown task|Expired|Deadline|Stopped|unreachable")


def panel(page: Any, tab: str, mode: str) -> Any:
    page.get_by_role("tab", name=tab).click()
    scope = page.locator(f"#tab-{mode}")
    scope.get_by_label("Prompt", exact=True).wait_for()
    return scope


def request_json(scope: Any) -> str:
    text: str = scope.locator(".cm-content").first.inner_text()
    return text


def wait_json(scope: Any, needle: str) -> None:
    scope.page.wait_for_function(
        "([sel, needle]) => document.querySelector(sel)?.innerText.includes(needle)",
        arg=[f"#{scope.get_attribute('id')} .cm-content", needle],
    )


def status(scope: Any) -> Any:
    return scope.locator("section[aria-label='Task status']")


def wait_final(scope: Any, timeout_ms: int = 90_000) -> str:
    box = status(scope)
    box.locator(".state").filter(has_text=TERMINAL).wait_for(timeout=timeout_ms)
    text: str = box.inner_text()
    return text


def upload(scope: Any, slot: str, path: Path) -> None:
    mode = (scope.get_attribute("id") or "").removeprefix("tab-")
    scope.locator(f"#{mode}-{slot}-upload input[type=file]").set_input_files(str(path))


def attach(scope: Any, slot: str, path: Path, url_label: str) -> None:
    """Upload through the slot's file input; the playground fills in the uploaded file's URL
    (DashScope's format, the default: an oss:// URL of its temporary upload)."""
    upload(scope, slot, path)
    box = scope.get_by_label(url_label)
    box.page.wait_for_function("el => el.value.startsWith('oss://')", arg=box.element_handle(), timeout=30_000)


def check_video(scope: Any, size: tuple[int, int]) -> None:
    """The result plays in the page and its measured size is the profile's."""
    video = scope.locator("video").first
    video.wait_for(timeout=30_000)
    assert "gradio_api/file=" in (video.get_attribute("src") or "")
    scope.page.wait_for_function("v => v.readyState >= 2 && v.duration > 0", arg=video.element_handle())
    width, height = size
    measured = scope.locator("[aria-label='Measured output']").inner_text()
    assert f"{width}×{height}" in measured, measured


def test_text_to_video_end_to_end(page: Any) -> None:
    """Type a prompt, watch the preview follow, send, and get a 720P 16:9 video."""
    scope = panel(page, "Text-to-Video", "text-to-video")
    scope.get_by_label("Prompt", exact=True).fill("A cinematic city sunrise with soft fog and moving traffic.")
    wait_json(scope, "cinematic city sunrise")
    scope.get_by_text("720P", exact=True).click()
    wait_json(scope, '"720P"')
    scope.get_by_text("9:16", exact=True).click()
    wait_json(scope, '"9:16"')
    assert "Valid request" in scope.locator(".verdict").inner_text()
    scope.get_by_role("button", name="Send").click()
    text = wait_final(scope)
    assert "Succeeded" in text and "Queued" in text and "Running" in text, text
    check_video(scope, output_size("720P", "9:16"))
    shoot(page, "text-to-video")


def test_preview_names_the_field_and_fix(page: Any) -> None:
    """An invalid form says which field is wrong and how to fix it, and nothing typed is lost."""
    scope = panel(page, "Text-to-Video", "text-to-video")
    scope.get_by_label("Prompt", exact=True).fill("")
    verdict = scope.locator(".verdict")
    verdict.filter(has_text="needs a prompt").wait_for()
    assert "input.prompt" in verdict.inner_text()
    scope.get_by_label("Prompt", exact=True).fill("x" * 5003)
    verdict.filter(has_text="5003 characters").wait_for()
    assert "5003 / 5000" in scope.locator(".counter").inner_text()


def test_image_to_video_with_uploaded_frame(page: Any, tmp_path: Path) -> None:
    """Upload a first frame the test made; the output follows its aspect."""
    frame = make_image(tmp_path / "frame.png", 600, 800)
    scope = panel(page, "Image-to-Video", "image-to-video")
    scope.get_by_label("Prompt", exact=True).fill("The portrait slowly smiles.")
    attach(scope, "first_frame", frame, "First frame: URL")
    wait_json(scope, '"first_frame"')
    scope.get_by_text("720P", exact=True).click()
    wait_json(scope, '"720P"')
    scope.get_by_role("button", name="Send").click()
    assert "Succeeded" in wait_final(scope)
    check_video(scope, size_for_media("720P", 600, 800))
    shoot(page, "image-to-video")


def test_reference_to_video_duration_follows_reference_video(page: Any, tmp_path: Path) -> None:
    """Adding a reference video narrows the duration range to 2-10, then the run succeeds."""
    scope = panel(page, "Reference-to-Video", "reference-to-video")
    scope.get_by_label("Prompt", exact=True).fill("Image 1 waves at Video 1.")
    attach(
        scope, "reference_images", make_image(tmp_path / "ref.png", 400, 400), "Reference images: URLs, one per line"
    )
    attach(
        scope,
        "reference_videos",
        make_video(tmp_path / "ref.mp4", 320, 240, 2.0),
        "Reference videos: URLs, one per line",
    )
    scope.get_by_text("2-10 seconds").wait_for()
    scope.get_by_text("720P", exact=True).click()
    scope.get_by_text("1:1", exact=True).click()
    wait_json(scope, '"1:1"')
    scope.get_by_role("button", name="Send").click()
    assert "Succeeded" in wait_final(scope)
    check_video(scope, output_size("720P", "1:1"))
    shoot(page, "reference-to-video")


def test_video_edit_keeps_source_length(page: Any, tmp_path: Path) -> None:
    """Edit a generated clip with duration 0: the output keeps the source's length."""
    scope = panel(page, "Video Edit", "video-edit")
    scope.get_by_label("Prompt", exact=True).fill("Make it snow.")
    attach(scope, "video", make_video(tmp_path / "src.mp4", 640, 360, 2.0), "Source video: URL")
    scope.get_by_text("720P", exact=True).click()
    scope.get_by_text("16:9", exact=True).click()
    wait_json(scope, '"16:9"')
    scope.get_by_role("button", name="Send").click()
    assert "Succeeded" in wait_final(scope)
    check_video(scope, output_size("720P", "16:9"))
    assert "2.00 s" in scope.locator("[aria-label='Measured output']").inner_text()
    shoot(page, "video-edit")


def test_bad_upload_is_refused_with_a_reason(page: Any, tmp_path: Path) -> None:
    """A 100x100 image is below the 240 px minimum: it is not attached and the user is told why."""
    scope = panel(page, "Image-to-Video", "image-to-video")
    tiny = make_image(tmp_path / "tiny.png", 100, 100)
    upload(scope, "first_frame", tiny)
    page.get_by_text(re.compile("tiny.png.*240")).first.wait_for(timeout=20_000)
    assert scope.get_by_label("First frame: URL").input_value() == ""


def choose_scenario(page: Any, name: str) -> None:
    page.get_by_text("Connection", exact=True).click()
    page.get_by_label("Rehearse scenario").click()
    page.get_by_role("option", name=name).click()


def test_rehearse_rate_limit_shows_retries_and_guidance(page: Any) -> None:
    """The sandbox answers 429 twice: the status shows the backoff, then the task succeeds."""
    choose_scenario(page, "rate limit")
    scope = panel(page, "Text-to-Video", "text-to-video")
    scope.get_by_label("Prompt", exact=True).fill("Rate limit rehearsal.")
    scope.get_by_text("720P", exact=True).click()
    scope.get_by_role("button", name="Send").click()
    guidance = scope.locator("section[aria-label='Guidance']")
    guidance.filter(has_text=re.compile("retrying", re.I)).wait_for(timeout=30_000)
    assert "429" in guidance.inner_text() or "rate" in guidance.inner_text().lower()
    assert "Succeeded" in wait_final(scope)
    shoot(page, "rehearse-rate-limit")


def test_rehearse_invalid_key_does_not_retry(page: Any) -> None:
    """A 401 is not retried: one attempt, and the card says to fix the key."""
    choose_scenario(page, "invalid key")
    scope = panel(page, "Text-to-Video", "text-to-video")
    scope.get_by_label("Prompt", exact=True).fill("Invalid key rehearsal.")
    scope.get_by_role("button", name="Send").click()
    text = wait_final(scope)
    assert "Refused" in text
    card = scope.locator("section[aria-label='Guidance']").inner_text()
    assert "key" in card.lower() and "no automatic retry" in card.lower(), card
    assert scope.get_by_label("Prompt", exact=True).input_value() == "Invalid key rehearsal."


def test_cancel_a_slow_task(page: Any) -> None:
    """Cancel while the slow task is queued: the provider cancels it and the status says so."""
    choose_scenario(page, "slow")
    scope = panel(page, "Text-to-Video", "text-to-video")
    scope.get_by_label("Prompt", exact=True).fill("Slow rehearsal.")
    scope.get_by_role("button", name="Send").click()
    status(scope).locator(".state").filter(has_text="Queued").wait_for(timeout=30_000)
    scope.get_by_role("button", name="Cancel").click()
    text = wait_final(scope)
    assert "Cancelled" in text, text
