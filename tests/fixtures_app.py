"""Fixtures that run the real playground (`python app.py`) and a real headless Chromium.

The browser is Debian's Chromium driven by Playwright; Playwright's own browser download is
never used (it cannot reach its CDN here).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.fixtures_servers import free_port

if TYPE_CHECKING:
    from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "docs" / "screenshots"


def shoot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Save the README screenshot ``name``, only when ``PLAYGROUND_SCREENSHOTS=1`` asks for it.

    A normal test run writes nothing into the tree; the README's screenshot refresh sets it.
    """
    if os.environ.get("PLAYGROUND_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@dataclass
class RunningApp:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def start_app(
    data_dir: Path, *, delay_scale: float = 0.3, extra_env: dict[str, str] | None = None, port: int | None = None
) -> RunningApp:
    """Start `python app.py` on a loopback port (a free one by default) and wait until /healthz answers."""
    port = port or free_port()
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PLAYGROUND_HOST": "127.0.0.1",
        "PLAYGROUND_PORT": str(port),
        "PLAYGROUND_DATA_DIR": str(data_dir),
        "PLAYGROUND_SANDBOX_DELAY_SCALE": str(delay_scale),
        "GRADIO_TEMP_DIR": str(data_dir / "gradio-tmp"),
        **(extra_env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "app.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return RunningApp(url, data_dir, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"app.py did not become healthy:\n{log.read_text(errors='replace')}")


def stop_app(app: RunningApp) -> None:
    app.process.terminate()
    try:
        app.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait(timeout=15)


@pytest.fixture(scope="session")
def playground_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """One `python app.py` for the session; sandbox delays at 0.3 so every state is seen."""
    app = start_app(tmp_path_factory.mktemp("app-data"))
    yield app
    stop_app(app)


def gradio_client(url: str, **options: Any) -> Client:
    """A gradio_client on a running app, as a script would use it (no downloads unless asked)."""
    from gradio_client import Client  # slow to import; only the UI tests need it

    settings: dict[str, Any] = {"verbose": False, "download_files": False, **options}
    return Client(url.rstrip("/") + "/", **settings)


@pytest.fixture(scope="module")
def ui_client(playground_app: RunningApp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """One gradio_client per test module on the shared app; downloads go to a temporary folder."""
    client = gradio_client(playground_app.url, download_files=str(tmp_path_factory.mktemp("dl")))
    yield client
    client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium under Playwright.

    Module scope, not session: Playwright's sync API keeps an event loop running in the main
    thread while it is open, and pytest-asyncio's tests in later modules need that thread free.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium package")
    from playwright.sync_api import expect, sync_playwright

    # expect() waits as long as an action may (playground_page's default), not its own 5 s: on a
    # loaded 2-core machine a page can take longer than that to show what it will show.
    expect.set_options(timeout=20_000)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield chromium
        chromium.close()


@contextlib.contextmanager
def playground_page(browser: Any, app: RunningApp, *, timeout_ms: int = 20_000) -> Iterator[Any]:
    """A fresh browser context (its own storage) on an app, 1280x720, its tabs drawn."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(timeout_ms)
    tab = context.new_page()
    tab.goto(app.url)
    tab.get_by_role("tab", name="Text-to-Video").wait_for()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, playground_app: RunningApp) -> Iterator[Any]:
    """A fresh browser context (its own storage) on the playground, 1280x720."""
    with playground_page(browser, playground_app) as tab:
        yield tab
