"""Variations in a real browser: a 2x3 grid previewed with its invalid bodies marked, Send all
sends only the valid ones, the contact sheet shows their videos, plays them in sync, loads one
into the form byte for byte, and a reload in the middle of the batch loses nothing.

Why 2 of 6 invalid and not 1: the rules judge each field on its own (no rule ties two varied
fields together), so in a grid a bad value spoils its whole row or column; the smallest
invalid share of a 2x3 grid is one value of the 3-value axis, i.e. 2 of 6 bodies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures_app import RunningApp, playground_page, shoot, start_app, stop_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TAB = "#tab-text-to-video"
GRID = f"{TAB} section[aria-label='Variations grid']"
SHEET = "#text-to-video-sheet section[aria-label='Contact sheet']"
PROMPT = "A paper boat drifting down a rainy gutter"


@pytest.fixture(scope="module")
def sweep_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """A private app: sandbox delays long enough to reload while the batch runs."""
    app = start_app(tmp_path_factory.mktemp("variations-app") / "data", delay_scale=0.3)
    yield app
    stop_app(app)


@pytest.fixture
def sweep_page(browser: Any, sweep_app: RunningApp) -> Iterator[Any]:
    with playground_page(browser, sweep_app, timeout_ms=30_000) as page:
        yield page


def open_variations(page: Any) -> Any:
    scope = page.locator(TAB)
    scope.locator("#text-to-video-variations").get_by_text("Variations", exact=True).first.click()
    page.locator("#text-to-video-axis1-values textarea").wait_for(state="visible")
    return scope


def choose_axis(page: Any, number: int, field: str, values: str) -> None:
    page.locator(f"#text-to-video-axis{number}-field input").click()
    # Scoped to its own dropdown: another dropdown's list may still be open under load.
    page.locator(f"#text-to-video-axis{number}-field").get_by_role("option", name=field, exact=True).click()
    box = page.locator(f"#text-to-video-axis{number}-values textarea")
    box.fill(values)
    box.press("Tab")


def request_json(page: Any) -> str:
    text: str = page.locator(f"{TAB} .cm-content").first.inner_text()
    return text


def sheet_runs(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(f"{SHEET} figure.sheet-cell", "cells => cells.map(c => c.dataset.run)")
    return ids


def test_sweep_preview_send_sheet_sync_load_and_reload(sweep_page: Any) -> None:
    page = sweep_page
    scope = page.locator(TAB)
    scope.get_by_label("Prompt", exact=True).fill(PROMPT)
    scope.get_by_text("720P", exact=True).click()
    page.wait_for_function(
        "p => (document.querySelector('#tab-text-to-video .cm-content')?.innerText || '').includes(p)", arg=PROMPT)
    open_variations(page)
    choose_axis(page, 1, "aspect_ratio", "16:9, 1:1")
    choose_axis(page, 2, "duration", "2, 3, 99")

    # 1. The grid: 6 bodies, the 2 with duration 99 marked with the field's message, never sent.
    scope.get_by_role("button", name="Preview grid").click()
    grid = page.locator(f"{GRID}[data-count='6']")
    grid.wait_for()
    assert grid.get_attribute("data-invalid") == "2"
    invalid = grid.locator("article[data-ok='false']")
    assert invalid.count() == 2
    for index in range(2):
        text = invalid.nth(index).inner_text()
        assert "duration=99" in text and "parameters.duration: 99 is above 15" in text, text
        assert invalid.nth(index).locator("pre.var-body").count() == 0
    assert grid.locator("article[data-ok='true'] pre.var-body").count() == 4
    assert "4 requests" in grid.locator(".var-quote").inner_text()
    chosen = grid.locator("article[aria-label='Variation 5: aspect_ratio=1:1 · duration=3']")
    expected_body = chosen.locator("pre.var-body").inner_text()
    assert '"ratio": "1:1"' in expected_body and '"duration": 3' in expected_body
    grid.scroll_into_view_if_needed()
    shoot(page, "variations-grid", full_page=False)

    # 2. Send all: the 4 valid ones become one batch; the sheet shows its 4 runs.
    scope.get_by_role("button", name="Send all").click()
    page.locator(f"{GRID} .var-sent").filter(has_text="Sent 4 of 6").wait_for(timeout=60_000)
    page.locator(f"{SHEET}[data-total='4']").wait_for(timeout=60_000)
    before = sheet_runs(page)
    assert len(before) == 4

    # 3. A reload in the middle of the batch: the sheet comes back with every run, and follows them.
    running = page.locator(SHEET).get_attribute("data-running")
    page.reload()
    page.get_by_role("tab", name="Text-to-Video").wait_for()
    open_variations(page)
    page.locator(f"{SHEET}[data-total='4']").wait_for(timeout=60_000)
    assert sorted(sheet_runs(page)) == sorted(before), "the reload kept every run of the batch"
    assert running is not None and int(running) > 0, "reloaded while the batch ran (the test can fail)"
    page.locator(f"{SHEET}[data-videos='4'][data-running='0']").wait_for(timeout=180_000)
    labels = page.locator(f"{SHEET} figcaption strong").all_inner_texts()
    assert sorted(labels) == sorted(f"aspect_ratio={r} · duration={d}" for r in ("16:9", "1:1") for d in (2, 3))
    sources = page.eval_on_selector_all(f"{SHEET} video.sync", "vs => vs.map(v => v.getAttribute('src'))")
    assert len(sources) == 4 and all(src.startswith("/media/") for src in sources), sources

    # 4. Play all in sync: all start together; the longest video is the clock, so the 2 s ones
    # hold their last frame while the 3 s ones play on, still together; then all loop together.
    videos = f"{SHEET} video.sync"
    page.locator(SHEET).get_by_role("button", name="Play all in sync").click()
    assert_in_step(clocks_when(page, videos, "vs.length === 4 && vs.every(v => !v.paused && v.currentTime > 0.3)"))
    late = clocks_when(page, videos, "clock.currentTime > 2.3")  # it loops at 3 s
    assert_in_step(late)
    assert sorted(round(d) for _, d in late) == [2, 2, 3, 3], late
    assert all(t >= d - 0.1 for t, d in late if d < 2.5), f"the 2 s videos hold their last frame: {late}"
    # The clock wrapped: every video is back near the start, together.
    assert_in_step(clocks_when(page, videos, "vs.every(v => !v.paused && v.currentTime > 0.2 && v.currentTime < 1.5)"))
    page.locator(SHEET).scroll_into_view_if_needed()
    shoot(page, "contact-sheet", full_page=False)

    # 5. Load into form: the tab's Request JSON is the variation's body, byte for byte.
    scope.get_by_label("Prompt", exact=True).fill("Something else entirely")
    cell = page.locator(f"{SHEET} figure.sheet-cell").filter(has_text="aspect_ratio=1:1 · duration=3")
    cell.get_by_role("button", name="Load into form: aspect_ratio=1:1 · duration=3").click()
    page.wait_for_function(
        "p => (document.querySelector('#tab-text-to-video .cm-content')?.innerText || '').includes(p)", arg=PROMPT)
    page.wait_for_function(
        "want => (document.querySelector('#tab-text-to-video .cm-content')?.innerText || '') === want",
        arg=expected_body, timeout=20_000,
    )
    assert request_json(page) == expected_body


def test_open_run_shows_it_in_history(sweep_page: Any) -> None:
    """A cell's Open run selects that run in History, its details shown."""
    page = sweep_page
    scope = page.locator(TAB)
    scope.get_by_label("Prompt", exact=True).fill("Two seeds of a lantern")
    page.wait_for_function(
        "p => (document.querySelector('#tab-text-to-video .cm-content')?.innerText || '').includes(p)",
        arg="Two seeds of a lantern")
    open_variations(page)
    choose_axis(page, 1, "seed", "11, 12")
    scope.get_by_role("button", name="Send all").click()
    page.locator(f"{SHEET}[data-total='2']").wait_for(timeout=60_000)
    run_id = sheet_runs(page)[0]
    page.locator(f"{SHEET} figure.sheet-cell").first.get_by_role("button", name="Open run: seed=11").click()
    history = page.locator("#tab-history")
    selected = history.get_by_label("Selected run")
    page.wait_for_function("([el, id]) => el.value === id", arg=[selected.element_handle(), run_id])
    history.locator("section[aria-label='Run timeline']").wait_for()


def clocks_when(page: Any, selector: str, condition: str) -> list[tuple[float, float]]:
    """Every video's (currentTime, duration), read in the instant ``condition`` (JS over ``vs``,
    the videos, and ``clock``, the longest one) first holds, so the figures are that instant's."""
    found = page.wait_for_function(
        "sel => { const vs = [...document.querySelectorAll(sel)];"
        " const clock = vs.reduce((a, b) => (b.duration > a.duration ? b : a), vs[0]);"
        f" return vs.length > 0 && ({condition}) && vs.map(v => [v.currentTime, v.duration]); }}",
        arg=selector, timeout=30_000,
    ).json_value()
    return [(float(t), float(d)) for t, d in found]


def assert_in_step(clocks: list[tuple[float, float]]) -> None:
    """Each video is where the longest one's clock says, or at its own end once that has passed."""
    clock_time = max(clocks, key=lambda pair: pair[1])[0]
    for time, duration in clocks:
        assert abs(time - min(clock_time, duration)) < 0.6, clocks
