"""The run queue in headless Chromium (issue 14): Send never blocks. Two Sends in a row in
Text-to-Video both finish and both show in the Queue panel, and the status panel follows the
newest (the older run's views never come back over it). Waits are on conditions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from playground.client import open_ledger
from tests.fixtures_app import RunningApp, playground_page, start_app, stop_app
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATUS = "#tab-text-to-video section[aria-label='Task status']"
QUEUE = "#queue-table section[aria-label='Run queue']"

# Every Task id the text-to-video status panel shows, in order, from the moment it is installed.
WATCH_STATUS = """() => {
  window.__taskIds = [];
  const note = () => {
    const box = document.querySelector("#tab-text-to-video section[aria-label='Task status']");
    const row = box && [...box.querySelectorAll('tr')].find(r => r.querySelector('th')?.innerText.trim() === 'Task id');
    const id = row ? row.querySelector('td').innerText.trim() : null;
    if (id && id !== '—' && window.__taskIds[window.__taskIds.length - 1] !== id) window.__taskIds.push(id);
  };
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def queue_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """A playground of its own whose sandbox takes about 10 s per run: fast, but long enough for
    two runs to be seen in flight at once on a busy machine."""
    app = start_app(tmp_path_factory.mktemp("queue-app"), delay_scale=1.0)
    yield app
    stop_app(app)


@pytest.fixture
def queue_page(browser: Any, queue_app: RunningApp) -> Iterator[Any]:
    with playground_page(browser, queue_app) as tab:
        yield tab


def fill_prompt(scope: Any, prompt: str) -> None:
    scope.get_by_label("Prompt", exact=True).fill(prompt)
    scope.page.wait_for_function(
        "p => (document.querySelector('#tab-text-to-video .cm-content')?.innerText || '').includes(p)", arg=prompt)


def run_of(app: RunningApp, prompt: str) -> Any:
    for record in open_ledger(app.data_dir).runs(None, limit=500):
        if prompt in (record.request_json or ""):
            return record
    return None


def test_two_sends_in_a_row_both_finish_and_both_show_in_the_queue(queue_page: Any, queue_app: RunningApp) -> None:
    page, playground_app = queue_page, queue_app
    page.get_by_role("tab", name="Text-to-Video").click()
    scope = page.locator("#tab-text-to-video")
    scope.get_by_label("Prompt", exact=True).wait_for()
    page.evaluate(WATCH_STATUS)

    fill_prompt(scope, "Queue: the first of two sends")
    scope.get_by_role("button", name="Send").click()
    page.locator(f"{STATUS}[data-state]").wait_for()
    # The second Send goes while the first run streams: it is not ignored.
    fill_prompt(scope, "Queue: the second of two sends")
    scope.get_by_role("button", name="Send").click()

    # Both runs are in this browser's queue at once (the panel's title counts them).
    page.get_by_role("button", name=re.compile(r"^Queue \(")).click()
    table = page.locator(f"{QUEUE}[data-count='2']")
    table.wait_for(timeout=30_000)
    rows = table.locator("tr[data-run-id]")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Text-to-Video")
    expect(rows.nth(1)).to_contain_text("Text-to-Video")
    older_id, newer_id = rows.nth(0).get_attribute("data-run-id"), rows.nth(1).get_attribute("data-run-id")
    assert older_id and newer_id and older_id != newer_id
    expect(page.get_by_role("button", name=re.compile(r"^Queue \(2 in flight\)"))).to_be_visible()
    # Each can be named for Cancel, by keyboard too (a radio group).
    picker = page.locator("#queue-pick")
    expect(picker.get_by_role("radio")).to_have_count(2)

    # Both finish; the queue empties; the tab shows the newer run's end.
    page.locator(f"{QUEUE}[data-count='0']").wait_for(timeout=120_000)
    expect(page.locator(STATUS)).to_have_attribute("data-state", "succeeded", timeout=60_000)
    older = wait_until(lambda: run_of(playground_app, "the first of two sends"), "the first run in the ledger")
    newer = wait_until(lambda: run_of(playground_app, "the second of two sends"), "the second run in the ledger")
    assert (older.run_id, newer.run_id) == (older_id, newer_id)
    for record in (older, newer):
        done = wait_until(lambda r=record: (found := open_ledger(playground_app.data_dir).get(r.run_id))
                          and found.finished and found, f"run {record.run_id} to finish")
        assert done.state == "succeeded", done.state
    older = open_ledger(playground_app.data_dir).get(older_id)
    newer = open_ledger(playground_app.data_dir).get(newer_id)
    assert older is not None and newer is not None and older.task_id != newer.task_id

    # The status panel followed the newest: once the newer task showed, the older never came back.
    seen: list[str] = page.evaluate("window.__taskIds")
    assert newer.task_id in seen, seen
    after = seen[seen.index(newer.task_id):]
    assert older.task_id not in after, f"the older run's view came back over the newer one: {seen}"
    expect(page.locator(STATUS)).to_contain_text(newer.task_id)
    video = scope.locator("video").first
    video.wait_for(timeout=30_000)
