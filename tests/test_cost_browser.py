"""What it costs, in Chromium: the quote follows edits live, a run shows its billed cost, History shows
the total, and a daily budget refuses a Send with its guidance card and keeps the form.

Sandbox runs never count against a budget, so the app talks DashScope's format to its own sandbox
(``/sandbox/api/v1``) as the DashScope provider, with a key typed in the page: a real provider as
far as billing goes, without leaving the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures_app import RunningApp, start_app, stop_app
from tests.fixtures_servers import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATUS = "#tab-text-to-video section[aria-label='Task status']"


@pytest.fixture
def budget_app(tmp_path: Path) -> Iterator[RunningApp]:
    """A private app with a daily budget of USD 1.00 per browser, allowed to call its own sandbox."""
    port = free_port()
    app = start_app(tmp_path / "data", delay_scale=0.1, port=port, extra_env={
        "PLAYGROUND_BUDGET": "1.00",
        "PLAYGROUND_ALLOWED_HOSTS": f"127.0.0.1:{port}",
        "PLAYGROUND_ALLOW_PRIVATE_HOSTS": "true",
    })
    yield app
    stop_app(app)


def wait_state(page: Any, state: str, before: str) -> None:
    page.wait_for_function(
        "([sel, before, state]) => { const el = document.querySelector(sel);"
        " return el && el.innerText !== before && el.dataset.state === state; }",
        arg=[STATUS, before, state], timeout=90_000,
    )


def test_quote_budget_bill_and_total(browser: Any, budget_app: RunningApp) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(budget_app.url)
    page.get_by_role("tab", name="Text-to-Video").click()
    scope = page.locator("#tab-text-to-video")
    quote = page.locator("#text-to-video-quote")

    # The first paint's quote has arrived before typing (a later first-paint answer would
    # otherwise land on top of the answer to the edit).
    expect(quote).to_contain_text("the quote appears once the request is valid", timeout=30_000)
    # The quote follows every edit: the prompt makes the request valid, then resolution and duration.
    scope.get_by_label("Prompt", exact=True).fill("A fox crossing a snowy field at dawn")
    expect(quote).to_contain_text("would cost 5 s × USD 0.15/s (1080P) = USD 0.75 on DashScope (Singapore)")
    expect(quote).to_contain_text("resolution not given: billed at 1080P")
    scope.get_by_text("720P", exact=True).click()
    expect(quote).to_contain_text("5 s × USD 0.10/s (720P) = USD 0.50")
    duration = scope.get_by_label("Duration (s)")
    duration.fill("2")
    duration.press("Tab")
    expect(quote).to_contain_text("would cost 2 s × USD 0.10/s (720P) = USD 0.20")

    # DashScope's format, to this app's own sandbox, with a typed key: runs that count.
    page.get_by_text("Connection", exact=True).click()
    page.get_by_text("DashScope (Model Studio)", exact=True).click()
    page.get_by_label("Base URL").fill(f"{budget_app.url}/sandbox/api/v1")
    page.get_by_label("API key").fill("sk-budget-rehearsal")
    page.get_by_text("A key is set for this browser tab only").wait_for()
    expect(quote).to_contain_text("Budget left today: this browser USD 1.00 of USD 1.00")
    expect(quote).not_to_contain_text("would cost")
    expect(quote).to_contain_text("2 s × USD 0.10/s (720P) = USD 0.20")

    # A run shows what it was billed.
    before = page.locator(STATUS).inner_text()
    scope.get_by_role("button", name="Send").click()
    wait_state(page, "succeeded", before)
    cost = scope.locator("section[aria-label='Run cost']")
    expect(cost).to_contain_text("Cost: billed 2 s × USD 0.10/s (720P) = USD 0.20")
    expect(cost).not_to_contain_text("sandbox")
    expect(quote).to_contain_text("Budget left today: this browser USD 0.80 of USD 1.00")

    # Over the budget: the quote warns, Send is refused with the guidance card, the form stays.
    scope.get_by_text("API default (1080P)", exact=True).click()
    duration.fill("10")
    duration.press("Tab")
    expect(quote).to_contain_text("10 s × USD 0.15/s (1080P) = USD 1.50")
    expect(quote).to_contain_text("Send would be refused")
    before = page.locator(STATUS).inner_text()
    scope.get_by_role("button", name="Send").click()
    wait_state(page, "invalid", before)
    card = scope.locator("section[aria-label='Guidance']")
    expect(card).to_contain_text("Over the daily budget: not sent")
    expect(card).to_contain_text("Left today for this browser: USD 0.80 of USD 1.00")
    expect(card).to_contain_text("This request needs up to USD 1.50")
    expect(card).to_contain_text("At 720P: up to USD 1.00")
    expect(card).to_contain_text("720P instead of 1080P")
    expect(scope.locator("section[aria-label='Run cost']")).to_contain_text("Not billed: nothing was sent")
    assert scope.get_by_label("Prompt", exact=True).input_value() == "A fox crossing a snowy field at dawn"
    assert duration.input_value() == "10"

    # History: the cost column and this browser's total.
    page.get_by_role("tab", name="History").click()
    totals = page.locator("#history-cost-totals")
    # Opening History asks for its table, totals and showcase at once: on a loaded machine the
    # answers can take longer than expect's default 5 s.
    expect(totals).to_contain_text("This browser has spent USD 0.20 today (1 billed run) and USD 0.20 in all",
                                   timeout=30_000)
    expect(totals).to_contain_text("Daily budget per browser: USD 1.00")
    expect(page.locator("#history-table").get_by_text("USD 0.20", exact=True).locator("visible=true").first
           ).to_be_visible(timeout=30_000)
    context.close()
