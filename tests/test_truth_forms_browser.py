"""The form tells the truth, as a person sees it in Chromium (issue 12, items 2, 6, 7, 10, 11).

Every wait is on a condition (a text, a state), never a fixed sleep.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.test_truth_forms import CURL, DASHSCOPE_BODY, GUIDE
from tests.test_ui_browser import panel, status

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def request_body(scope: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(scope.locator(".cm-content").first.inner_text())
    return body


def wait_body(scope: Any, expected: dict[str, Any]) -> None:
    """Until the tab's Request JSON is exactly this body."""
    scope.page.wait_for_function(
        "([sel, want]) => { try { return JSON.stringify(JSON.parse(document.querySelector(sel).innerText)) === want }"
        " catch (e) { return false } }",
        arg=[f"#{scope.get_attribute('id')} .cm-content", json.dumps(expected, separators=(",", ":"))],
    )


def choice(scope: Any, label: str) -> Any:
    """The radio input of a choice, by its label's exact text."""
    return scope.locator(f"label[data-testid='{label}-radio-label'] input")


def import_text(page: Any, tab: str, mode: str, text: str) -> None:
    scope = panel(page, tab, mode)
    scope.get_by_text("Import a request (JSON or curl)").click()
    scope.get_by_label("Paste a request").fill(text)
    scope.get_by_role("button", name="Import into the form").click()


def test_first_paint_is_calm_and_says_what_is_free(page: Any) -> None:
    """No red before anything is done; the header says the sandbox is free and keyless, and the
    profile in words; choosing an example fills the form with the guide's request as written."""
    header = page.locator("#header")
    assert "free and needs no API key" in header.inner_text()
    assert "limits: Wan 2.7 documented (wan-2.7 profile)" in header.inner_text()
    for tab, mode in (("Text-to-Video", "text-to-video"), ("Image-to-Video", "image-to-video"),
                      ("Reference-to-Video", "reference-to-video"), ("Video Edit", "video-edit")):
        scope = panel(page, tab, mode)
        verdict = scope.locator(".verdict").first
        verdict.filter(has_text="Not ready to send yet").wait_for()
        assert scope.locator(".verdict.bad").count() == 0
        assert "problem" not in verdict.inner_text()
    scope = panel(page, "Text-to-Video", "text-to-video")
    scope.get_by_label("Example", exact=True).click()
    page.get_by_role("option", name="Guide page: minimal request").click()
    prompt = GUIDE["input"]["prompt"]
    wait_body(scope, {"model": "wan2.7-t2v", "input": {"prompt": prompt}, "parameters": {"duration": 5}})
    assert scope.get_by_label("Prompt", exact=True).input_value() == prompt
    scope.locator(".verdict.ok").wait_for()


def test_an_import_previews_as_the_request_it_imported(page: Any) -> None:
    """The guide's minimal request pasted in another tab: it lands in Text-to-Video with its report,
    the wire format turns to gateway, defaults stay defaults and the JSON is the pasted body.
    Then a curl without prompt_extend: no "prompt_extend": false appears, and the format follows."""
    import_text(page, "Image-to-Video", "image-to-video", json.dumps(GUIDE, indent=2))
    t2v = page.locator("#tab-text-to-video")
    wait_body(t2v, GUIDE)
    report = page.locator("#text-to-video-import-report")
    report.filter(has_text="Imported a text-to-video request (gateway format)").wait_for()
    assert report.is_visible()
    page.get_by_text("Connection", exact=True).click()
    wire = page.locator("label[data-testid='Gateway (guide page)-radio-label'] input")
    page.wait_for_function("el => el.checked", arg=wire.element_handle())
    assert choice(t2v, "API default (1080P)").is_checked()
    assert choice(t2v, "API default (16:9)").is_checked()
    assert t2v.locator("label[data-testid='API default (on)-radio-label'] input").is_checked()
    assert t2v.get_by_label("Random seed").is_checked()

    import_text(page, "Text-to-Video", "text-to-video", CURL)
    report.filter(has_text="(DashScope format) from a curl command").wait_for()
    wait_body(t2v, DASHSCOPE_BODY)
    wire = page.locator("label[data-testid='DashScope native-radio-label'] input")
    page.wait_for_function("el => el.checked", arg=wire.element_handle())
    assert "prompt_extend" not in t2v.locator(".cm-content").first.inner_text()


def test_a_typed_duration_out_of_range_is_shown_and_named(page: Any) -> None:
    scope = panel(page, "Text-to-Video", "text-to-video")
    scope.get_by_label("Prompt", exact=True).fill("A lighthouse at dusk.")
    box = scope.locator("input[type=number]").first  # the duration box (the seed's comes later)
    assert "Duration" in (box.get_attribute("aria-label") or "")
    box.fill("20")
    box.press("Enter")
    verdict = scope.locator(".verdict.bad")
    verdict.filter(has_text="20 is above 15").wait_for()
    assert "parameters.duration" in verdict.inner_text()
    assert request_body(scope)["parameters"]["duration"] == 20
    assert box.input_value() == "20"


def test_the_seed_box_is_off_while_the_seed_is_random(page: Any) -> None:
    scope = panel(page, "Text-to-Video", "text-to-video")
    scope.get_by_label("Prompt", exact=True).fill("Seeded.")
    seed = scope.get_by_label("Seed", exact=True)
    assert scope.get_by_label("Random seed").is_checked() and seed.is_disabled()
    scope.get_by_label("Random seed").uncheck()
    page.wait_for_function("el => !el.disabled", arg=seed.element_handle())
    seed.fill("4242")
    scope.page.wait_for_function(
        "() => document.querySelector('#tab-text-to-video .cm-content').innerText.includes('4242')"
    )
    scope.get_by_label("Random seed").check()
    page.wait_for_function("el => el.disabled", arg=seed.element_handle())
    scope.page.wait_for_function(
        "() => !document.querySelector('#tab-text-to-video .cm-content').innerText.includes('seed')"
    )


def test_the_sandbox_flags_a_foreign_url_before_send(page: Any) -> None:
    """A URL of another host: named in the verdict at once, and Send refuses it without a task."""
    scope = panel(page, "Image-to-Video", "image-to-video")
    scope.get_by_label("Prompt", exact=True).fill("The cat blinks.")
    scope.get_by_label("First frame: URL").fill("https://example.com/cat.png")
    verdict = scope.locator(".verdict.bad")
    verdict.filter(has_text="the sandbox reads only its own files").wait_for()
    assert "input.media[0].url" in verdict.inner_text() and "upload the file instead" in verdict.inner_text()
    scope.get_by_role("button", name="Send").click()
    # Well before the sandbox's task would have failed on the URL.
    status(scope).locator(".state").filter(has_text="Not sent").wait_for(timeout=5_000)
    card = scope.locator("section[aria-label='Guidance']").inner_text()
    assert "reads only its own files" in card and "Task id" in status(scope).inner_text()
