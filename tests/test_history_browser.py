"""Runs are never lost: History across reloads and restarts, load into form, compare, isolation,
exports that really run, and a planted key that shows up nowhere."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from playground.core.signing import BROWSER_COOKIE
from playground.media.probe import probe
from tests.fixtures_app import RunningApp, gradio_client, start_app, stop_app
from tests.showcase_runs import presented

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CANARY = "sk-canary-5e1f0c7a9d"
ENV_CANARY = "sk-envcanary-0b9e44d1c2"


def new_page(browser: Any, url: str, context: Any | None = None) -> Any:
    context = context or browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(url)
    page.get_by_role("tab", name="Text-to-Video").wait_for()
    return page


def t2v(page: Any) -> Any:
    page.get_by_role("tab", name="Text-to-Video").click()
    return page.locator("#tab-text-to-video")


def send_t2v(page: Any, prompt: str, resolution: str = "720P", ratio: str = "16:9") -> None:
    scope = t2v(page)
    scope.get_by_label("Prompt", exact=True).fill(prompt)
    scope.get_by_text(resolution, exact=True).click()
    scope.get_by_text(ratio, exact=True).click()
    page.wait_for_function(
        "([p, r]) => { const t = document.querySelector('#tab-text-to-video .cm-content')?.innerText || '';"
        " return t.includes(p) && t.includes(r); }",
        arg=[prompt, ratio],
    )
    box = scope.locator("section[aria-label='Task status']")
    before = box.inner_text()
    scope.get_by_role("button", name="Send").click()
    # The panel still shows the previous run until the new one reports, so wait for a new one.
    page.wait_for_function(
        "([sel, before]) => { const el = document.querySelector(sel);"
        " return el && el.innerText !== before && el.dataset.state === 'succeeded'; }",
        arg=["#tab-text-to-video section[aria-label='Task status']", before],
        timeout=90_000,
    )


def history(page: Any) -> Any:
    page.get_by_role("tab", name="History").click()
    return page.locator("#tab-history")


def history_row(page: Any, text: str) -> Any:
    scope = history(page)
    scope.get_by_role("button", name="Refresh").click()
    # The table keeps hidden copies of its cells for measuring; only a visible one will do.
    cell = page.locator("#history-table").get_by_text(text, exact=True).locator("visible=true").first
    cell.wait_for(timeout=20_000)
    return cell


def is_history_listing(response: Any, app_url: str) -> bool:
    """Whether a page's response is the History listing (Gradio posts it as /run/predict)."""
    if not response.url.split("?", 1)[0].endswith("/run/predict"):
        return False
    try:
        sent = json.loads(response.request.post_data or "{}")
    except ValueError:
        return False
    return isinstance(sent, dict) and sent.get("fn_index") == history_endpoint(app_url)


@functools.cache
def history_endpoint(app_url: str) -> int:
    """The function index of the History listing (``api_name="history"``) in the app's config."""
    config = httpx.get(app_url + "/config", timeout=10).json()
    found: int = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "history")
    return found


@pytest.fixture
def own_app(tmp_path: Path) -> Iterator[RunningApp]:
    """A private `python app.py` (its own data dir), for tests that restart it or plant keys."""
    app = start_app(tmp_path / "data", delay_scale=0.1, extra_env={"DASHSCOPE_API_KEY": ENV_CANARY})
    yield app
    stop_app(app)


def test_run_survives_reload_and_restart(browser: Any, own_app: RunningApp, tmp_path: Path) -> None:
    """A run is in History after a page reload and after the server restarts, video included."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = new_page(browser, own_app.url, context)
    send_t2v(page, "Survivor run")
    page.reload()
    page.get_by_role("tab", name="Text-to-Video").wait_for()
    history_row(page, "Survivor run")
    stop_app(own_app)
    # Same address: a browser keeps its storage per origin, as it would for a real restart.
    port = int(own_app.url.rsplit(":", 1)[1])
    restarted = start_app(own_app.data_dir, delay_scale=0.1, port=port)
    try:
        page = new_page(browser, restarted.url, context)
        history_row(page, "Survivor run").click()
        scope = page.locator("#tab-history")
        scope.locator("section[aria-label='Run timeline']").filter(has_text="succeeded").wait_for()
        video = scope.locator("video").first
        video.wait_for()
        page.wait_for_function("v => v.readyState >= 2", arg=video.element_handle())
    finally:
        stop_app(restarted)
        own_app.process = restarted.process  # the fixture's teardown stops what is running
        context.close()


def test_load_into_form_reproduces_the_request(page: Any) -> None:
    """Load into form restores every input: the preview is the sent JSON, byte for byte."""
    scope = t2v(page)
    scope.get_by_label("Negative prompt").fill("blurry, low quality")
    scope.get_by_label("Random seed").uncheck()
    scope.get_by_label("Seed", exact=True).fill("4242")
    # Prompt extend and Watermark are on / off / API default (left out); choose both explicitly.
    scope.locator("fieldset").filter(has_text="Watermark").get_by_label("on", exact=True).check()
    scope.locator("fieldset").filter(has_text="Prompt extend").get_by_label("on", exact=True).check()
    send_t2v(page, "Load me back", "720P", "3:4")
    sent = scope.locator(".cm-content").first.inner_text()
    scope.get_by_label("Prompt", exact=True).fill("Something else entirely")
    scope.get_by_text("1080P", exact=True).click()
    history_row(page, "Load me back").click()
    page.locator("#tab-history").get_by_role("button", name="Load into form").click()
    page.wait_for_function(
        "() => (document.querySelector('#tab-text-to-video .cm-content')?.innerText || '').includes('Load me back')"
    )
    restored = t2v(page).locator(".cm-content").first.inner_text()
    assert restored == sent
    body = json.loads(restored)
    assert body["parameters"] == {
        "resolution": "720P",
        "ratio": "3:4",
        "duration": 5,
        "prompt_extend": True,
        "watermark": True,
        "seed": 4242,
    }
    assert body["input"]["negative_prompt"] == "blurry, low quality"


def test_compare_marks_the_differing_fields(page: Any) -> None:
    """Two runs that differ in resolution: the comparison marks that row and shows both videos."""
    send_t2v(page, "Compare A", "720P", "16:9")
    send_t2v(page, "Compare B", "1080P", "16:9")
    scope = history(page)
    history_row(page, "Compare B")
    scope.get_by_text("Compare runs").click()
    boxes = scope.locator("#history-compare input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    scope.get_by_role("button", name="Compare", exact=True).click()
    view = scope.locator("section[aria-label='Comparison']")
    view.locator("tr.differs").first.wait_for()
    differing = view.locator("tr.differs th").all_inner_texts()
    assert "resolution" in differing and "prompt" in differing
    assert "duration" not in differing
    assert view.locator("video.sync").count() == 2, view.inner_html()[:1500]
    view.get_by_role("button", name="Play all in sync").click()
    page.wait_for_function(
        "vs => vs.length === 2 && vs.every(v => !v.paused && v.currentTime > 0.3)",
        arg=view.locator("video.sync").element_handles(), timeout=30_000,
    )
    times = view.locator("video.sync").evaluate_all("vs => vs.map(v => v.currentTime)")
    assert abs(times[0] - times[1]) < 0.6, times


def test_one_browser_never_sees_another_browsers_runs(browser: Any, playground_app: RunningApp) -> None:
    """Runs of browser A are absent from browser B's History, even by pasting A's run id."""
    page_a = new_page(browser, playground_app.url)
    send_t2v(page_a, "Private to A")
    history_row(page_a, "Private to A").click()
    selected = page_a.locator("#tab-history").get_by_label("Selected run")
    page_a.wait_for_function("el => el.value.startsWith('run-')", arg=selected.element_handle())
    run_id = selected.input_value()
    page_b = new_page(browser, playground_app.url)
    scope = history(page_b)
    # Wait for B's listing itself (not for a while): the answer the server sent B, then the table.
    with page_b.expect_response(lambda r: is_history_listing(r, playground_app.url)) as listing:
        scope.get_by_role("button", name="Refresh").click()
    assert listing.value.ok and "Private to A" not in listing.value.text()
    expect(page_b.locator("#history-table")).not_to_contain_text("Private to A")
    scope.get_by_label("Selected run").fill(run_id)
    scope.locator("section[aria-label='Run timeline']").filter(has_text="No such run").wait_for()
    page_a.context.close()
    page_b.context.close()


def test_exported_code_runs_against_the_sandbox(playground_app: RunningApp, tmp_path: Path) -> None:
    """The curl and Python exports of a finished run each create a task that succeeds and download it."""
    client = gradio_client(playground_app.url)
    args = ["sandbox", "gateway", "", "none", "Exported loop", None, 2, "720P", "16:9", 1, True, True, False, ""]
    status = client.predict(*args, api_name="/send_text_to_video")[0]
    assert 'data-state="succeeded"' in status
    table, _ = client.predict("all", "all", api_name="/history")
    run_id = table["data"][0][-1]
    env = {**os.environ, "GATEWAY_API_KEY": "sk-test-export", "DASHSCOPE_API_KEY": "sk-test-export"}
    for kind, command in (("curl", ["bash", "export.sh"]), ("python", [sys.executable, "export.py"])):
        code = client.predict(run_id, kind, api_name="/export_run")
        assert "sk-test-export" not in code
        script = tmp_path / ("export.sh" if kind == "curl" else "export.py")
        script.write_text(code)
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        video = tmp_path / "video.mp4"
        info = probe(video)
        assert (info.codec, info.width, info.height) == ("h264", 1280, 720)
        video.unlink()
    client.close()


def test_a_planted_key_shows_up_nowhere(browser: Any, own_app: RunningApp, tmp_path: Path) -> None:
    """A key typed in the UI and one in the environment never reach pages, API answers, files or logs."""
    page = new_page(browser, own_app.url)
    page.get_by_text("Connection", exact=True).click()
    page.get_by_label("API key").fill(CANARY)
    page.get_by_text("A key is set for this browser tab only").wait_for()
    send_t2v(page, "Canary run")
    row = history_row(page, "Canary run")
    row.click()
    scope = page.locator("#tab-history")
    scope.get_by_text("Export for an integration, or as a bundle").click()
    exports = []
    # CodeMirror renders only the lines in view: wait for each export's opening lines to show.
    for kind, opening in (("Python (httpx)", "import httpx"), ("JavaScript (fetch)", "const BASE_URL"),
                          ("curl (bash)", "#!/usr/bin/env bash")):
        scope.get_by_text(kind, exact=True).click()
        code = scope.locator(".cm-content").nth(1)
        expect(code).to_contain_text(opening)
        exports.append(code.inner_text())
    assert all("DASHSCOPE_API_KEY" in text for text in exports)
    scope.get_by_role("button", name="Build run bundle (zip)").click()
    link = scope.locator("a[href*='.zip']").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    bundle = tmp_path / "bundle.zip"
    download.value.save_as(bundle)
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        contents = b"".join(archive.read(n) for n in names)
    assert "request.json" in names
    html = page.content()
    # The presenting side too: the showcase, a share page, their media and the offline deck.
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == BROWSER_COOKIE)
    presented_bytes = presented(own_app, cookie)
    page.context.close()
    client = gradio_client(own_app.url)
    answers = [
        json.dumps(client.predict(CANARY, "dashscope", api_name="/set_api_key")),
        json.dumps(
            client.predict(
                "dashscope",
                "dashscope",
                "env key run",
                None,
                5,
                "720P",
                "16:9",
                1,
                True,
                True,
                False,
                "",
                api_name="/preview_text_to_video",
            )
        ),
        json.dumps(client.predict("all", "all", api_name="/history")),
    ]
    client.close()
    files = [p for p in own_app.data_dir.rglob("*") if p.is_file() and p.suffix != ".mp4"]
    on_disk = b"".join(p.read_bytes() for p in files)
    config = httpx.get(own_app.url + "/config").text
    for secret in (CANARY, ENV_CANARY):
        shown = [
            ("page", html),
            ("config", config),
            ("log", own_app.logs()),
            *[("api", a) for a in answers],
            *[("export", e) for e in exports],
        ]
        for where, text in shown:
            assert secret not in text, where
        assert secret.encode() not in contents, "bundle"
        for where, content in presented_bytes.items():
            assert secret.encode() not in content, where
        assert secret.encode() not in on_disk, "data dir"
    with sqlite3.connect(own_app.data_dir / "ledger.sqlite3") as db:
        dump = "\n".join(db.iterdump())
    assert CANARY not in dump and ENV_CANARY not in dump
