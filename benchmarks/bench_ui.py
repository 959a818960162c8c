"""Preview latency, server side and in the browser, idle and while 4 sandbox renders run.

Targets (issue: the playground UI): p95 under 50 ms server side and under 150 ms in the browser.
"Server side" is one preview request over HTTP, from the request leaving gradio_client to the
answer arriving; "browser" is from a keystroke in the Prompt box to the new text showing in
the Request JSON panel. The loaded figures run the same measurement while four 1080P renders
are kept in flight in the embedded sandbox (a finished one is replaced at once), and are
reported as a ratio against idle. Under load the target is the server-side 50 ms; the browser
figure is reported beside it, not held to 150 ms, because on 2 cores the measuring Chromium
competes with the encodes for the same CPUs.

The browser phase waits on conditions only: the page's first preview drawn before the first
keystroke (so the app is live), the box holding the typed text, then the JSON showing it. A
keystroke whose preview never comes (seen on a loaded machine: the change event lost) is
typed again after ``RETYPE_S``; the sample then counts from the first keystroke, and the
number of retypes is reported.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from gradio_client import Client

from benchmarks.process_usage import cpu_seconds
from tests.fixtures_app import CHROMIUM, start_app, stop_app
from tests.waiting import wait_until

SAMPLES = 60
# The form, by parameter name: every other field keeps the endpoint's default, so the
# benchmark follows the form as it grows (positional values broke when a field was added).
FORM: dict[str, Any] = {"provider": "sandbox", "wire": "dashscope", "duration": 5, "resolution": "1080P",
                        "aspect_ratio": "16:9", "seed": 42}
RENDERS = 4
RETYPE_S = 15.0
JSON = "#tab-text-to-video .cm-content"


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _positional(http: httpx.Client, url: str, api: str, values: dict[str, Any]) -> list[Any]:
    """``values`` in the endpoint's parameter order, the endpoint's defaults for the rest."""
    params = http.get(f"{url}/gradio_api/info").json()["named_endpoints"][api]["parameters"]
    return [values.get(p["parameter_name"], p.get("parameter_default")) for p in params]


def server_latencies(url: str, n: int = SAMPLES) -> list[float]:
    """One preview over plain HTTP, as the page's own non-queued call makes it: with the page's
    session hash (without one, Gradio builds a whole session state for every call, about 40 ms
    of CPU for this app's blocks, which no page pays per keystroke)."""
    out = []
    session = f"bench-{time.time_ns():x}"
    with httpx.Client(timeout=30) as http:
        data = _positional(http, url, "/preview_text_to_video", {**FORM, "prompt": "{prompt}"})
        slot = data.index("{prompt}")
        for i in range(n):
            start = time.perf_counter()
            answer = http.post(
                f"{url}/gradio_api/run/preview_text_to_video",
                json={"data": [*data[:slot], f"prompt {i}", *data[slot + 1:]], "session_hash": session},
            )
            answer.raise_for_status()
            out.append((time.perf_counter() - start) * 1000)
    return out


def browser_latencies(url: str, n: int = SAMPLES // 2) -> tuple[list[float], int]:
    """Keystroke-to-JSON latencies in ms, and how many keystrokes had to be typed again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    out: list[float] = []
    retyped = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--disable-gpu", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.set_default_timeout(90_000)
        page.goto(url)
        scope = page.locator("#tab-text-to-video")
        box = scope.get_by_label("Prompt", exact=True)
        box.wait_for()
        # The page's own first preview (demo.load) has been drawn: the app is live and listening.
        page.wait_for_function("s => document.querySelector(s)?.innerText.includes('model')", arg=JSON)
        for i in range(n):
            marker = f"bench{i}x"
            start = time.perf_counter()
            for attempt in range(1, 4):
                typed = marker if attempt == 1 else f"{marker}{attempt}"
                box.fill(typed)
                expect(box).to_have_value(typed)
                try:
                    page.wait_for_function(
                        "([s, m]) => document.querySelector(s)?.innerText.includes(m)",
                        arg=[JSON, typed], timeout=RETYPE_S * 1000,
                    )
                    break
                except PlaywrightTimeout:
                    retyped += 1
            else:
                raise RuntimeError(f"the preview never showed {marker!r}, typed 3 times")
            out.append((time.perf_counter() - start) * 1000)
        browser.close()
    return out, retyped


class _Renders:
    """Keep ``count`` text-to-video runs in flight until stopped: a finished one is sent again."""

    def __init__(self, url: str, count: int) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(url, i), daemon=True) for i in range(count)]
        for thread in self._threads:
            thread.start()

    def _loop(self, url: str, index: int) -> None:
        with httpx.Client(timeout=30) as http:
            data = _positional(http, url.rstrip("/"), "/send_text_to_video", {**FORM, "prompt": "{prompt}"})
        slot = data.index("{prompt}")
        client = Client(url, verbose=False, download_files=False)
        run = 0
        while not self._stop.is_set():
            client.predict(*data[:slot], f"load {index}.{run}", *data[slot + 1:], api_name="/send_text_to_video")
            run += 1
        client.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=300)


def _busy(pid: int) -> bool:
    """The app and its render workers used more than half a CPU over the last 0.3 s (renders
    are running; other work on this shared machine may keep them from a whole one)."""
    before = cpu_seconds(pid)
    time.sleep(0.3)
    return cpu_seconds(pid) - before > 0.15


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = start_app(Path(tmp), delay_scale=0.0)
        try:
            server_latencies(app.url, 10)  # warm up imports and caches
            idle_server = server_latencies(app.url)
            print("  idle server done", file=sys.stderr)
            idle_browser, idle_retyped = browser_latencies(app.url)
            print("  idle browser done", file=sys.stderr)
            renders = _Renders(app.url + "/", RENDERS)
            try:
                wait_until(lambda: _busy(app.process.pid), "the renders to load the CPUs", timeout_s=120)
                busy_server = server_latencies(app.url)
                print("  busy server done", file=sys.stderr)
                busy_browser, busy_retyped = browser_latencies(app.url)
            finally:
                renders.stop()
        finally:
            stop_app(app)
    idle_s, busy_s = _p(idle_server, 0.95), _p(busy_server, 0.95)
    idle_b, busy_b = _p(idle_browser, 0.95), _p(busy_browser, 0.95)
    under = f"{RENDERS} 1080P renders kept running"
    return [
        _row("preview p50, server, idle", statistics.median(idle_server)),
        _row("preview p95, server, idle", idle_s, "< 50 ms"),
        _row(f"preview p95, server, {under}", busy_s, "< 50 ms", f"idle p95 {idle_s:.1f} ms"),
        _row("slowdown under load, server (p95 ratio)", busy_s / idle_s, "", "idle = 1", "x"),
        _row("preview p50, browser, idle", statistics.median(idle_browser)),
        _row("preview p95, browser, idle", idle_b, "< 150 ms", f"{idle_retyped} keystrokes typed again"),
        _row(f"preview p95, browser, {under}", busy_b, "reported; under load the target is server-side 50 ms",
             f"server p95 under the same load {busy_s:.1f} ms; idle browser p95 {idle_b:.1f} ms; "
             f"{busy_retyped} keystrokes typed again"),
        _row("slowdown under load, browser (p95 ratio)", busy_b / idle_b, "", "idle = 1", "x"),
    ]


def _row(metric: str, value: float, target: str = "", baseline: str = "", unit: str = "ms") -> dict[str, Any]:
    return {"benchmark": "ui", "metric": metric, "value": value, "unit": unit, "target": target, "baseline": baseline}


def main() -> int:
    from benchmarks.__main__ import table

    print(table(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
