"""A presenter's journey, end to end in headless Chromium at 1280x720, and the polish it relies on.

The journey: first visit, an example, Send, a reload mid-run (the tab shows the run live, with
its form, and so does a second tab of the same browser), Cancel on the running task (the
provider refuses: the page says so and follows the task to its video), the guide page's
minimal request imported, and History's details of the finished run. At each step nothing on
screen may say something untrue. With ``PLAYGROUND_SCREENSHOTS=1`` each step is saved in
docs/screenshots/ for the README; otherwise nothing is written.

Every wait is on a condition (a text, a state, an attribute), never a fixed sleep.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from playground.media.samples import make_image, make_video
from tests.fixtures_app import RunningApp, shoot, start_app, stop_app
from tests.test_truth_forms import GUIDE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATUS = "section[aria-label='Task status']"
PROMPT = GUIDE["input"]["prompt"]
# Text no panel should ever show: unfilled placeholders, programming words, a raw exception.
UNTRUE = re.compile(r"\{[a-z_]+\}|\bNone\b|\bundefined\b|\bNaN\b|Traceback|\[object Object\]")


def t2v(page: Any) -> Any:
    page.get_by_role("tab", name="Text-to-Video").click()
    scope = page.locator("#tab-text-to-video")
    scope.get_by_label("Prompt", exact=True).wait_for()
    return scope


def request_json(scope: Any) -> str:
    text: str = scope.locator(".cm-content").first.inner_text()
    return text


def wait_json(scope: Any, *needles: str) -> None:
    scope.page.wait_for_function(
        "([sel, needles]) => { const t = document.querySelector(sel)?.innerText || '';"
        " return needles.every(n => t.includes(n)); }",
        arg=[f"#{scope.get_attribute('id')} .cm-content", list(needles)],
        polling=100,
    )


def panel_texts(page: Any, data_dir: Path) -> None:
    """What the panels say (status, guidance, verdict, import report, timeline) holds nothing untrue:
    no unfilled placeholder, no programming word, no server path."""
    texts: list[str] = page.evaluate(
        "() => Array.from(document.querySelectorAll(\"section[aria-label], .verdict, [aria-label='Import report']\"))"
        ".filter(el => el.getClientRects().length > 0).map(el => el.innerText)"
    )
    for text in texts:
        assert not UNTRUE.search(text), text
        assert str(data_dir) not in text, text


@pytest.fixture
def journey_app(tmp_path: Path) -> Iterator[RunningApp]:
    """A private app with the sandbox at a stage's pace (delay scale 2.5): a 15 s video runs for
    over a minute, time enough to reload, cancel and open a second tab while it runs."""
    app = start_app(tmp_path / "data", delay_scale=2.5)
    yield app
    stop_app(app)


def test_a_presenters_journey(browser: Any, journey_app: RunningApp) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        _journey(page, journey_app)
    finally:
        context.close()


def _journey(page: Any, app: RunningApp) -> None:
    # 1. First visit: calm, says the sandbox is free, nothing sent yet.
    page.goto(app.url)
    scope = t2v(page)
    expect(page.locator("#header")).to_contain_text("free and needs no API key")
    verdict = scope.locator(".verdict").first
    verdict.wait_for()
    assert scope.locator(".verdict.bad").count() == 0, verdict.inner_text()
    expect(scope.locator(STATUS)).to_have_text("No task yet.")
    panel_texts(page, app.data_dir)
    shoot(page, "presenter-1-first-visit", full_page=False)

    # 2. An example fills the form; a longer duration, so there is time to reload and cancel.
    scope.get_by_label("Example", exact=True).click()
    page.get_by_role("option", name="Guide page: minimal request").click()
    wait_json(scope, PROMPT)
    duration = scope.locator("input[type=number][aria-label*='Duration']").first
    duration.fill("15")
    duration.press("Tab")
    wait_json(scope, PROMPT, '"duration": 15')
    scope.locator(".verdict.ok").wait_for()
    sent = request_json(scope)

    # 3. Send: the status comes into view at 1280x720, and says where the run is.
    scope.get_by_role("button", name="Send").click()
    box = scope.locator(STATUS)
    scope.locator(f"{STATUS}[data-state='running']").wait_for(timeout=60_000)
    in_view = page.evaluate(
        "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight - 60; }",
        box.element_handle(),
    )
    assert in_view, "the status is below the fold after Send"
    task_id = fact(box, "Task id")
    request_id = fact(box, "Request id")
    page.wait_for_function(
        "([sel, n]) => { const row = [...document.querySelector(sel).querySelectorAll('tr')]"
        ".find(r => r.querySelector('th')?.innerText.trim() === 'Polls');"
        " return row && Number(row.querySelector('td').innerText) >= n; }",
        arg=[f"#tab-text-to-video {STATUS}", 2], polling=100, timeout=60_000,
    )
    assert fact(box, "Request id") == request_id, "the request id changed with a poll"
    panel_texts(page, app.data_dir)
    shoot(page, "presenter-2-running", full_page=False)

    # 4. Reload mid-run: the tab shows the same run, live, with its form.
    page.reload()
    scope = t2v(page)
    page.wait_for_function(
        "([sel, prompt]) => document.querySelector(sel)?.value === prompt",
        arg=["#tab-text-to-video textarea", PROMPT], polling=100,
    )
    box = scope.locator(STATUS)
    expect(box).to_contain_text(task_id)
    expect(box).not_to_contain_text("No task yet")
    assert box.get_attribute("data-state") in ("queued", "running"), box.inner_text()
    wait_json(scope, PROMPT, '"duration": 15')
    assert fact(box, "Request id") == request_id
    panel_texts(page, app.data_dir)
    scope.get_by_role("button", name="Send").scroll_into_view_if_needed()
    box.evaluate("el => el.scrollIntoView({block: 'center'})")
    shoot(page, "presenter-3-after-reload", full_page=False)

    # 5. Cancel the running task (from the reloaded page): the provider cancels only pending
    #    tasks, so the page says it could not, and follows the task to its video.
    scope.locator(f"{STATUS}[data-state='running']").wait_for(timeout=60_000)
    scope.get_by_role("button", name="Cancel").click()
    expect(box).to_contain_text("could not cancel a running task", timeout=30_000)
    expect(box).to_contain_text("billed")
    panel_texts(page, app.data_dir)
    shoot(page, "presenter-4-cancel-refused", full_page=False)
    # ... and a second tab of the same browser shows the run too, live, with its form.
    second = page.context.new_page()
    second.goto(app.url)
    second.locator(f"#tab-text-to-video {STATUS}").filter(has_text=task_id).wait_for()
    assert second.locator("#tab-text-to-video textarea").first.input_value() == PROMPT
    second.close()
    scope.locator(f"{STATUS}[data-state='succeeded']").wait_for(timeout=120_000)
    expect(box.locator(".state")).to_have_text("Succeeded")
    expect(box).not_to_contain_text("Cancelled")
    video = scope.locator("video").first
    video.wait_for(timeout=30_000)
    page.wait_for_function("v => v.readyState >= 2 && v.duration > 0", arg=video.element_handle())
    label_clear_of_video(scope)
    panel_texts(page, app.data_dir)

    # 6. Import the guide page's minimal request (pasted into another tab): it lands in
    #    Text-to-Video as written, with its report there.
    page.get_by_role("tab", name="Image-to-Video").click()
    i2v = page.locator("#tab-image-to-video")
    i2v.get_by_text("Import a request (JSON or curl)").click()
    i2v.get_by_label("Paste a request").fill(json.dumps(GUIDE, indent=2))
    i2v.get_by_role("button", name="Import into the form").click()
    scope = page.locator("#tab-text-to-video")
    scope.wait_for(state="visible")
    page.wait_for_function(
        "([sel, want]) => { try { return JSON.stringify(JSON.parse(document.querySelector(sel).innerText)) === want }"
        " catch (e) { return false } }",
        arg=["#tab-text-to-video .cm-content", json.dumps(GUIDE, separators=(",", ":"))], polling=100,
    )
    report = page.locator("#text-to-video-import-report")
    report.filter(has_text="Imported a text-to-video request").wait_for()
    panel_texts(page, app.data_dir)
    shoot(page, "presenter-5-import", full_page=False)

    # 7. History: the finished run's details, as sent and as it ended.
    page.get_by_role("tab", name="History").click()
    history = page.locator("#tab-history")
    history.get_by_role("button", name="Refresh").click()
    row = page.locator("#history-table").get_by_text(PROMPT).locator("visible=true").first
    row.wait_for()
    expect(row.locator("xpath=ancestor::*[@role='row'][1]")).to_contain_text("Succeeded")
    row.click()
    timeline = history.locator("section[aria-label='Run timeline']")
    # Selecting a row also asks for its star state and the showcase list: on a loaded machine
    # the details can take longer than expect's default 5 s.
    expect(timeline).to_contain_text("Succeeded", timeout=30_000)
    expect(timeline).not_to_contain_text("Cancelled")
    sent_json = history.locator(".cm-content").first
    expect(sent_json).to_contain_text(PROMPT)
    assert sent_json.inner_text() == sent, "History's Sent JSON is not the request as previewed"
    run_video = history.locator("video").first
    run_video.wait_for()
    page.wait_for_function("v => v.readyState >= 2", arg=run_video.element_handle())
    header_on_one_line(page)
    panel_texts(page, app.data_dir)
    shoot(page, "presenter-6-history", full_page=True)


def fact(box: Any, name: str) -> str:
    """One row of a status table ("Task id", "Request id", ...)."""
    value: str = box.evaluate(
        "(box, name) => { const row = [...box.querySelectorAll('tr')]"
        ".find(r => r.querySelector('th')?.innerText.trim() === name);"
        " return row ? row.querySelector('td').innerText.trim() : ''; }",
        name,
    )
    return value


def label_clear_of_video(scope: Any) -> None:
    """The video's label sits above the picture, not on it."""
    video = scope.locator("video").first
    label = video.locator("xpath=ancestor::div[contains(@class, 'block')][1]").locator("[data-testid='block-label']")
    label_box, video_box = label.bounding_box(), video.bounding_box()
    assert label_box is not None and video_box is not None
    assert label_box["y"] + label_box["height"] <= video_box["y"] + 1, (label_box, video_box)


def header_on_one_line(page: Any) -> None:
    """History's column headers are each one line high (no letter-by-letter wrapping), and the
    run id column is in view."""
    heights: list[float] = page.evaluate(
        "() => Array.from(document.querySelectorAll('#history-table thead th'))"
        ".filter(th => th.getClientRects().length && th.innerText.trim())"
        ".map(th => { const tops = new Set(); const walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);"
        " for (let n = walk.nextNode(); n; n = walk.nextNode()) { if (!n.textContent.trim()) continue;"
        " const r = document.createRange(); r.selectNodeContents(n);"
        " for (const rect of r.getClientRects()) tops.add(Math.round(rect.top)); } return tops.size; })"
    )
    assert heights and max(heights) == 1, heights
    run_id = page.locator("#history-table thead th").filter(has_text="run id").locator("visible=true").first
    box = run_id.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1280, box


def test_thumbnails_for_attached_images_and_stills_for_videos(page: Any, tmp_path: Path) -> None:
    """An uploaded image shows as a picture under its URL box, a video as its first frame; the
    upload zone is a light outline with all its words in view."""
    page.get_by_role("tab", name="Video Edit").click()
    scope = page.locator("#tab-video-edit")
    zone = scope.locator("#video-edit-video-upload")
    zone.wait_for()
    style = zone.evaluate("el => { const s = getComputedStyle(el); return [s.borderTopWidth, s.borderTopStyle]; }")
    assert style[0] in ("0px", "1px"), style
    words = zone.locator(".upload-container")
    fits = words.evaluate("el => el.scrollHeight <= el.clientHeight + 1")
    assert fits, "the upload zone's words are cut off"
    scope.locator("#video-edit-video-upload input[type=file]").set_input_files(
        str(make_video(tmp_path / "source.mp4", 320, 240, 2.0))
    )
    still = scope.locator("#video-edit-video-thumbs img")
    still.wait_for(timeout=30_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=still.element_handle())
    assert "source.mp4 (first frame)" in (still.get_attribute("alt") or "")
    assert scope.locator("video").count() == 0, "a still is a picture, not a second video player"
    scope.locator("#video-edit-reference_images-upload input[type=file]").set_input_files(
        str(make_image(tmp_path / "look.png", 300, 300))
    )
    picture = scope.locator("#video-edit-reference_images-thumbs img")
    picture.wait_for(timeout=30_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    assert "look.png" in (picture.get_attribute("alt") or "")
