"""What a person sees is true, and never looks frozen (issue 12), in headless Chromium.

Cancel a running task, follow a run in History's details, watch a slow rehearsal, and see a
rehearsal that retried to success. Waits are on conditions (Playwright's expect and
wait_for), never fixed sleeps.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATUS = "section[aria-label='Task status']"
TERMINAL = re.compile(r"Succeeded|Failed|Cancelled|Refused|Not sent|Unknown task|Expired|Deadline|Stalled|Crashed")


def t2v(page: Any) -> Any:
    page.get_by_role("tab", name="Text-to-Video").click()
    scope = page.locator("#tab-text-to-video")
    scope.get_by_label("Prompt", exact=True).wait_for()
    return scope


def fill_t2v(scope: Any, prompt: str, duration: int | None = None) -> None:
    """Type the prompt (and a duration), and wait until the request JSON shows them."""
    scope.get_by_label("Prompt", exact=True).fill(prompt)
    needles = [prompt]
    if duration is not None:
        # The duration's number box (a slider's has a label of its own that names it too).
        box = scope.locator("input[type=number][aria-label*='Duration']").first
        box.fill(str(duration))
        box.press("Tab")
        needles.append(f'"duration": {duration}')
    scope.page.wait_for_function(
        "needles => { const t = document.querySelector('#tab-text-to-video .cm-content')?.innerText || '';"
        " return needles.every(n => t.includes(n)); }",
        arg=needles,
    )


def choose_scenario(page: Any, label: str) -> None:
    page.get_by_text("Connection", exact=True).click()
    page.get_by_label("Rehearse scenario").click()
    page.get_by_role("option", name=label).click()


def fact(page: Any, name: str) -> str | None:
    """One row of the text-to-video status table ("Elapsed", "Next poll", "Polls")."""
    value: str | None = page.evaluate(
        "([sel, name]) => { const box = document.querySelector(sel); if (!box) return null;"
        " const row = [...box.querySelectorAll('tr')].find(r => r.querySelector('th')?.innerText.trim() === name);"
        " return row ? row.querySelector('td').innerText.trim() : null; }",
        ["#tab-text-to-video " + STATUS, name],
    )
    return value


def seconds(text: str | None) -> float | None:
    found = re.search(r"(\d+(?:\.\d+)?) s", text or "")
    return float(found.group(1)) if found else None


def history_row(page: Any, text: str) -> Any:
    page.get_by_role("tab", name="History").click()
    page.locator("#tab-history").get_by_role("button", name="Refresh").click()
    cell = page.locator("#history-table").get_by_text(text, exact=True).locator("visible=true").first
    cell.wait_for(timeout=20_000)
    return cell


def test_cancel_of_a_running_task_tells_the_truth(page: Any) -> None:
    """Cancel a few seconds into RUNNING: the page says the provider could not cancel it and it
    will be billed, follows it to Succeeded, shows the video, and History agrees."""
    scope = t2v(page)
    fill_t2v(scope, "Cancel me while I run", duration=15)
    scope.get_by_role("button", name="Send").click()
    box = scope.locator(STATUS)
    scope.locator(f"{STATUS}[data-state='running']").wait_for(timeout=60_000)
    scope.get_by_role("button", name="Cancel").click()
    expect(box).to_contain_text("could not cancel a running task", timeout=30_000)
    expect(box).to_contain_text("billed")
    scope.locator(f"{STATUS}[data-state='succeeded']").wait_for(timeout=120_000)
    expect(box.locator(".state")).to_have_text("Succeeded")
    expect(box).not_to_contain_text("Cancelled")
    expect(scope.locator("section[aria-label='Guidance']")).to_contain_text("Cancel refused")
    video = scope.locator("video").first
    video.wait_for(timeout=30_000)
    page.wait_for_function("v => v.readyState >= 2", arg=video.element_handle())
    history_row(page, "Cancel me while I run")
    row = page.locator("#history-table").get_by_role("row").filter(has_text="Cancel me while I run")
    expect(row.locator("visible=true").first).to_contain_text("Succeeded")


def test_history_details_follow_a_running_run_to_its_video(page: Any) -> None:
    """Select a run in History while it runs: its details move on by themselves to Succeeded,
    with the video, without clicking anything again."""
    # The slow rehearsal keeps the task going for tens of seconds, so it is still running when
    # History opens it even on a loaded machine (a 15 s render could end before the click).
    choose_scenario(page, "slow")
    scope = t2v(page)
    fill_t2v(scope, "Follow me in History")
    scope.get_by_role("button", name="Send").click()
    scope.locator(f"{STATUS}[data-state='running']").wait_for(timeout=60_000)
    history_row(page, "Follow me in History").click()
    details = page.locator("#tab-history section[aria-label='Run timeline']")
    expect(details).to_contain_text("Running", timeout=20_000)
    expect(details).not_to_contain_text("Succeeded")
    expect(details).to_contain_text("Succeeded", timeout=120_000)
    video = page.locator("#tab-history video").first
    video.wait_for(timeout=30_000)
    page.wait_for_function("v => v.readyState >= 2", arg=video.element_handle())


def test_a_slow_rehearsal_looks_alive_for_its_whole_length(page: Any) -> None:
    """The "slow" rehearsal: elapsed time moves every second, an indeterminate bar shows while
    waiting, the next-poll countdown counts down, and the DashScope format shows a labelled
    progress estimate; from Send to the video."""
    choose_scenario(page, "slow")
    scope = t2v(page)
    fill_t2v(scope, "Slow and alive")
    scope.get_by_role("button", name="Send").click()
    scope.locator(f"{STATUS}[data-state='queued']").wait_for(timeout=30_000)
    box = scope.locator(STATUS)
    seen_bar = seen_estimate = seen_countdown = False
    last = fact(page, "Elapsed")
    last_poll = (fact(page, "Polls"), seconds(fact(page, "Next poll")))
    ticks = 0
    while not TERMINAL.search(box.locator(".state").inner_text()):
        state = box.get_attribute("data-state")
        if state in ("queued", "running"):
            seen_bar = seen_bar or box.locator("progress:not([value])").count() > 0
            seen_estimate = seen_estimate or "estimate" in box.inner_text()
        # The elapsed time must move within 2 s, whether or not a poll happened.
        page.wait_for_function(
            "([sel, before]) => { const box = document.querySelector(sel); if (!box) return false;"
            " const row = [...box.querySelectorAll('tr')]"
            "   .find(r => r.querySelector('th')?.innerText.trim() === 'Elapsed');"
            " const waiting = ['queued', 'running', 'downloading'].includes(box.dataset.state);"
            " return !waiting || (row && row.querySelector('td').innerText.trim() !== before); }",
            arg=["#tab-text-to-video " + STATUS, last],
            timeout=2_000,
        )
        ticks += 1
        last = fact(page, "Elapsed")
        poll = (fact(page, "Polls"), seconds(fact(page, "Next poll")))
        if poll[0] == last_poll[0] and poll[1] is not None and last_poll[1] is not None and poll[1] < last_poll[1]:
            seen_countdown = True
        last_poll = poll
    expect(box.locator(".state")).to_have_text("Succeeded")
    assert ticks >= 10, f"the run was too short to show anything ({ticks} ticks)"
    # Past 30 s: the live view outlasts the server's body-read timeout (it once cut the stream).
    assert (seconds(fact(page, "Elapsed")) or 0) > 30, fact(page, "Elapsed")
    assert seen_bar, "no indeterminate progress bar while waiting"
    assert seen_estimate, "no labelled progress estimate for a DashScope-format run"
    assert seen_countdown, "the next-poll countdown never counted down"


def test_a_rehearsal_that_retried_to_success_keeps_a_small_card(page: Any) -> None:
    """Rate limit rehearsal: after the retries, Succeeded with a "recovered after 2 retries"
    card carrying the guidance, not a bare Succeeded."""
    choose_scenario(page, "rate limit")
    scope = t2v(page)
    fill_t2v(scope, "Retried to success")
    scope.get_by_role("button", name="Send").click()
    scope.locator(f"{STATUS}[data-state='succeeded']").wait_for(timeout=90_000)
    card = scope.locator("section[aria-label='Guidance']")
    expect(card).to_contain_text("Recovered after 2 retries")
    expect(card).to_contain_text("Rehearsed")
    expect(card).to_contain_text("How to fix it")
