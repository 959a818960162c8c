"""Starring from the page: two runs starred with the Star button beside Cancel, listed in History's
showcase panel, reordered there with Move up, and presented on the showcase page it links to; a run
unstarred in History reads "Star" again in its tab once the tab is opened.

Driven by a real headless Chromium against `python app.py` (the shared app fixture); a fresh
browser context is a new browser, with a showcase of its own.
"""

from __future__ import annotations

from typing import Any

import pytest

from playground.ui.star_button import STAR, STARRED

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST = "A paper boat drifting down a rainy street gutter"
SECOND = "A hot air balloon rising over misty vineyards"


def send_and_finish(page: Any, prompt: str) -> None:
    """Fill the Text-to-Video prompt, Send, and wait until the tab shows this run succeeded."""
    scope = page.locator("#tab-text-to-video")
    scope.get_by_label("Prompt", exact=True).fill(prompt)
    page.wait_for_function("p => document.querySelector('#tab-text-to-video .cm-content')?.innerText.includes(p)",
                           arg=prompt)
    before = scope.locator("section[aria-label='Task status']").inner_text()
    scope.get_by_role("button", name="Send").click()
    # This run's success: the status says succeeded and no longer shows the previous run's panel.
    page.wait_for_function(
        """([before]) => {
             const s = document.querySelector('#tab-text-to-video section[aria-label="Task status"]');
             return s && s.dataset.state === 'succeeded' && s.innerText !== before;
           }""",
        arg=[before], timeout=90_000)
    status = scope.locator("section[aria-label='Task status']").inner_text()
    assert "Video ready" in status and "/runs/" not in status, status


def star_label(page: Any) -> str:
    text: str = page.locator("#text-to-video-star").inner_text()
    return text.strip()


def wait_star(page: Any, label: str) -> None:
    page.wait_for_function(
        "([label]) => { const b = document.querySelector('#text-to-video-star');"
        " return b && !b.disabled && b.innerText.trim() === label; }", arg=[label])


def showcase_items(page: Any) -> list[str]:
    items: list[str] = page.locator("#showcase-list li").all_inner_texts()
    return items


def test_star_two_runs_reorder_them_in_history_and_open_the_showcase(page: Any) -> None:
    page.get_by_role("tab", name="Text-to-Video").click()
    assert page.locator("#text-to-video-star").is_disabled(), "no run in the tab yet: nothing to star"
    send_and_finish(page, FIRST)
    # The video has its own download button; the status names no server path (send_and_finish).
    video = page.locator("#text-to-video-result-video")
    video.locator("video").wait_for()
    download = video.locator("a[download], button[aria-label*='ownload'], button[title*='ownload']")
    assert download.count() >= 1, video.inner_html()[:2000]
    wait_star(page, STAR)
    page.locator("#text-to-video-star").click()
    wait_star(page, STARRED)
    send_and_finish(page, SECOND)
    wait_star(page, STAR)  # the button follows the run the tab shows: the new one is not starred
    page.locator("#text-to-video-star").click()
    wait_star(page, STARRED)

    page.get_by_role("tab", name="History").click()
    page.wait_for_function("() => document.querySelectorAll('#showcase-list li').length === 2")
    items = showcase_items(page)
    assert FIRST[:40] in items[0] and SECOND[:40] in items[1], items
    marked = page.locator("#history-table").get_by_text("★", exact=False).locator("visible=true")
    marked.first.wait_for()
    assert marked.count() == 2, "both starred runs are marked in the run table"

    # Move the second run up: it is presented first.
    pick = page.locator("#showcase-pick")
    pick.locator("input").click()
    page.get_by_role("option", name=SECOND[:30], exact=False).click()
    page.locator("#showcase-up").click()
    page.wait_for_function(
        "([p]) => document.querySelector('#showcase-list li')?.innerText.includes(p)", arg=[SECOND[:40]])
    assert SECOND[:40] in showcase_items(page)[0] and FIRST[:40] in showcase_items(page)[1]

    link = page.locator("#open-showcase")
    assert link.get_attribute("href") == "/showcase"
    with page.context.expect_page() as opened:
        link.click()
    showcase = opened.value
    showcase.wait_for_load_state()
    assert showcase.url.endswith("/showcase")
    content = showcase.content()
    assert SECOND in content and FIRST in content and content.index(SECOND) < content.index(FIRST), (
        "the showcase presents the runs in the order set in History")
    assert "/runs/" not in content
    showcase.close()

    # Unstarred in History, the run the tab shows reads "Star" again once the tab is opened.
    history = page.locator("#tab-history")
    history.get_by_role("button", name="Refresh").click()
    page.locator("#history-table").get_by_text(SECOND, exact=True).locator("visible=true").first.click()
    history.locator("#history-unstar").click()
    page.wait_for_function("() => document.querySelectorAll('#showcase-list li').length === 1")
    page.get_by_role("tab", name="Text-to-Video").click()
    wait_star(page, STAR)
