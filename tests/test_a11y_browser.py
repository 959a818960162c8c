"""Keyboard and screen-reader use of the playground, in headless Chromium.

* axe-core (from npm, ``tests/a11y/package.json``; the test command installs it) finds no
  serious or critical violation on any mode tab or on History, before and after a run.
* Every control the Tab key reaches shows a focus ring, radios and checkboxes included.
* The mode tabs answer the arrow keys, Home and End, and are one Tab stop.
* Every element the keyboard can reach has an accessible name.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
A11Y = ROOT / "tests" / "a11y"
AXE = A11Y / "node_modules" / "axe-core" / "axe.min.js"
TABS = [("Text-to-Video", "text-to-video"), ("Image-to-Video", "image-to-video"),
        ("Reference-to-Video", "reference-to-video"), ("Video Edit", "video-edit"), ("History", "history")]
SEVERE = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_script() -> Path:
    """axe-core's browser bundle, installed from the lock file when it is not there yet."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: the test command (scripts/test.sh) installs nodejs and npm")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=A11Y, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0 and AXE.is_file(), done.stdout + done.stderr
    return AXE


def open_tab(page: Any, name: str, slug: str) -> Any:
    page.get_by_role("tab", name=name, exact=True).click()
    scope = page.locator(f"#tab-{slug}")
    scope.wait_for(state="visible")
    return scope


def severe_violations(page: Any, axe: Path) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    found: list[dict[str, Any]] = page.evaluate(
        """async (severe) => {
          const result = await axe.run(document, {resultTypes: ['violations']});
          return result.violations.filter(v => severe.includes(v.impact)).map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }""",
        list(SEVERE),
    )
    return found


def assert_clean(page: Any, axe: Path, where: str) -> None:
    found = severe_violations(page, axe)
    assert not found, f"{where}: axe found serious or critical violations:\n{json.dumps(found, indent=2)}"


def codes_reachable(page: Any, scope: str, at_least: int) -> None:
    """The code areas (request, response, exports) are shown, and each scrolls from the keyboard."""
    page.wait_for_function(
        """([scope, least]) => {
          const shown = Array.from(document.querySelectorAll(scope + ' .cm-scroller'))
            .filter(s => s.getBoundingClientRect().height > 0);
          return shown.length >= least && shown.every(s => s.tabIndex === 0);
        }""",
        arg=[scope, at_least], polling=100,
    )


def wait_idle(page: Any) -> None:
    """The first paint's preview is in (the verdict shows), so what axe sees is the settled page."""
    page.locator("#tab-text-to-video .verdict").first.wait_for()


def test_axe_finds_nothing_serious_on_any_tab(page: Any, axe_script: Path) -> None:
    """Every mode tab and History, as a first visit shows them."""
    wait_idle(page)
    for name, slug in TABS:
        open_tab(page, name, slug)
        assert_clean(page, axe_script, name)


def test_axe_finds_nothing_serious_after_a_run(page: Any, axe_script: Path) -> None:
    """With a finished run on screen: status, video, response, History's table and details."""
    wait_idle(page)
    scope = open_tab(page, "Text-to-Video", "text-to-video")
    scope.get_by_label("Prompt", exact=True).fill("Accessibility check run.")
    page.wait_for_function(
        "() => (document.querySelector('#tab-text-to-video .cm-content')?.innerText || '').includes('Accessibility')",
        polling=100,
    )
    scope.get_by_role("button", name="Send").click()
    scope.locator("section[aria-label='Task status'][data-state='succeeded']").wait_for(timeout=120_000)
    scope.locator("video").first.wait_for()
    for accordion in ("Final response", "Code for this request", "Import a request (JSON or curl)"):
        scope.get_by_text(accordion, exact=True).click()
    codes_reachable(page, "#tab-text-to-video", 3)
    assert_clean(page, axe_script, "Text-to-Video after a run")
    history = open_tab(page, "History", "history")
    history.get_by_role("button", name="Refresh").click()
    cell = page.locator("#history-table").get_by_text("Accessibility check run.").locator("visible=true").first
    cell.wait_for()
    cell.click()
    history.locator("section[aria-label='Run timeline']").wait_for()
    history.get_by_text("Export for an integration, or as a bundle").click()
    history.get_by_text("Compare runs", exact=True).click()
    codes_reachable(page, "#tab-history", 2)
    assert_clean(page, axe_script, "History with a run selected")


def _focused(page: Any) -> dict[str, Any] | None:
    info: dict[str, Any] | None = page.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          const box = el.getBoundingClientRect();
          const ring = (node) => {
            const style = node ? getComputedStyle(node) : null;
            return style && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
          };
          const choice = el.matches('input[type=radio], input[type=checkbox]');
          return {
            tag: el.tagName, type: el.type || '', text: (el.getAttribute('aria-label') || el.textContent || '')
              .trim().slice(0, 40),
            visible: box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden',
            ring: ring(el) && (!choice || ring(el.closest('label'))),
            focusVisible: el.matches(':focus-visible'),
          };
        }"""
    )
    return info


def test_every_control_tab_reaches_shows_a_focus_ring(page: Any) -> None:
    """Tab through the whole page: each stop is visible and ringed; radios and checkboxes too."""
    wait_idle(page)
    page.locator("#header").click()  # start from the top of the page
    stops: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    for _ in range(200):
        page.keyboard.press("Tab")
        info = _focused(page)
        if info is None:
            continue
        if first is not None and info == first and len(stops) > 5:
            break  # round the page once
        first = first or info
        stops.append(info)
    assert len(stops) > 20, stops
    unringed = [s for s in stops if s["visible"] and not (s["ring"] and s["focusVisible"])]
    assert not unringed, f"focused without a visible ring: {unringed}"
    hidden = [s for s in stops if not s["visible"]]
    assert not hidden, f"the keyboard stops on something that cannot be seen: {hidden}"
    kinds = {s["type"] for s in stops}
    assert {"radio", "checkbox"} <= kinds, kinds
    # Moving through the page changes nothing and raises nothing (leaving the Example box
    # without a choice once raised "no example called None").
    toasts = page.locator("[data-testid='toast-body']")
    assert toasts.count() == 0, toasts.all_inner_texts()


def test_mode_tabs_answer_arrow_keys(page: Any) -> None:
    """Arrow keys, Home and End move along the tabs and open them; the strip is one Tab stop."""
    wait_idle(page)
    strip = page.get_by_role("tablist").first
    selected = strip.locator("[role=tab][aria-selected=true]")

    def at(name: str) -> None:
        page.wait_for_function(
            "(name) => { const el = document.activeElement;"
            " return el && el.getAttribute('role') === 'tab' && el.textContent.trim() === name"
            " && el.getAttribute('aria-selected') === 'true'; }",
            arg=name, polling=50,
        )

    page.get_by_role("tab", name="Text-to-Video").focus()
    page.keyboard.press("ArrowRight")
    at("Image-to-Video")
    page.locator("#tab-image-to-video").wait_for(state="visible")
    page.keyboard.press("End")
    at("History")
    page.locator("#tab-history").wait_for(state="visible")
    page.keyboard.press("Home")
    at("Text-to-Video")
    page.keyboard.press("ArrowLeft")
    at("History")
    page.keyboard.press("ArrowRight")
    at("Text-to-Video")
    # One Tab stop: only the selected tab takes part in the Tab order.
    tabbable = strip.locator("[role=tab]:not([tabindex='-1'])")
    assert tabbable.count() == 1 and tabbable.inner_text() == selected.inner_text()


def test_every_focusable_element_is_named(page: Any, axe_script: Path) -> None:
    """On each tab, everything the keyboard can reach has an accessible name."""
    wait_idle(page)
    page.add_script_tag(path=str(axe_script))
    unnamed: dict[str, list[str]] = {}
    for name, slug in TABS:
        open_tab(page, name, slug)
        found: list[str] = page.evaluate(
            """() => {
              const focusable = 'a[href], button, input, textarea, select, summary, [tabindex], [contenteditable=true]';
              axe.setup(document);
              try {
                return Array.from(document.querySelectorAll(focusable)).filter(el => {
                  if (el.disabled || el.getAttribute('tabindex') === '-1' || el.closest('[aria-hidden=true]')) {
                    return false;
                  }
                  if (el.matches('input[type=hidden]')) return false;
                  const box = el.getBoundingClientRect();
                  return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
                }).filter(el => !axe.commons.text.accessibleText(el).trim())
                  .map(el => el.outerHTML.slice(0, 160));
              } finally {
                axe.teardown();
              }
            }"""
        )
        if found:
            unnamed[name] = found
    assert not unnamed, f"focusable elements without a name: {json.dumps(unnamed, indent=2)}"
