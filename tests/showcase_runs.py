"""Helpers for the showcase and share tests: real runs made through the UI's own endpoints.

A browser's runs are made with its signed cookie (as a page would send it), so they belong to
that browser; stars and shares are put in the store the server reads (same SQLite file).
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from gradio_client import handle_file

from playground.client import Share, ShowcaseStore, ledger_path, open_ledger, share_url
from playground.core.signing import BROWSER_COOKIE, browser_id
from playground.media.samples import make_image, make_video
from tests.fixtures_app import RunningApp, gradio_client

CONNECTION = ["sandbox", "dashscope", "", "none"]
SWITCHES = [42, True, True, False]  # seed, random seed, prompt extend, watermark


@dataclass
class Browser:
    """One browser: its signed cookie, the owner id the cookie proves, and its login cookies."""

    cookie: str
    owner: str
    login: dict[str, str] = field(default_factory=dict)

    @property
    def cookies(self) -> dict[str, str]:
        return {BROWSER_COOKIE: self.cookie, **self.login}

    @property
    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}


def secret_of(app: RunningApp) -> bytes:
    return (app.data_dir / "server-secret.key").read_text("utf-8").strip().encode()


def new_browser(app: RunningApp, auth: tuple[str, str] | None = None) -> Browser:
    """A browser's first visit (its cookie), logged in with ``auth`` when the app has a login."""
    cookie = httpx.get(app.url + "/").cookies.get(BROWSER_COOKIE)
    assert cookie, "the page sets the browser cookie"
    owner = browser_id(secret_of(app), cookie, now=time.time())
    assert owner
    login: dict[str, str] = {}
    if auth is not None:
        answer = httpx.post(app.url + "/login", data={"username": auth[0], "password": auth[1]})
        assert answer.status_code == 200, answer.text
        login = {k: v for k, v in answer.cookies.items() if k.startswith("access-token")}
        assert login, "the login sets Gradio's access-token cookies"
    return Browser(cookie, owner, login)


def store_of(app: RunningApp) -> ShowcaseStore:
    return ShowcaseStore(ledger_path(app.data_dir))


ALL_MODES = ("video-edit", "image-to-video", "text-to-video")


def make_runs(app: RunningApp, who: Browser, folder: Path, modes: tuple[str, ...] = ALL_MODES) -> dict[str, str]:
    """Runs of ``who`` through the UI's endpoints (a video edit of a sandbox-stored source, an
    image-to-video of a stored frame, a text-to-video): their run ids by mode."""
    folder.mkdir(parents=True, exist_ok=True)
    video = make_video(folder / "source.mp4", 320, 240, 2.0)
    image = make_image(folder / "frame.png", 480, 480)
    client = gradio_client(app.url, headers=who.header)
    try:
        (source,) = client.predict(handle_file(str(video)), "", *CONNECTION, api_name="/attach_video_edit_video")[:1]
        (frame,) = client.predict(handle_file(str(image)), "", *CONNECTION,
                                  api_name="/attach_image_to_video_first_frame")[:1]
        sends: dict[str, tuple[str, list[Any]]] = {
            "video-edit": ("/send_video_edit", ["snow falls", None, 0, "720P", "keep source", *SWITCHES, "auto",
                                                source, ""]),
            "image-to-video": ("/send_image_to_video", ["the frame comes alive", None, 2, "720P", *SWITCHES,
                                                        frame, "", "", ""]),
            "text-to-video": ("/send_text_to_video", ["a lighthouse at dusk <b>bold</b>", None, 2, "720P",
                                                      "16:9", *SWITCHES, ""]),
        }
        for mode in modes:
            api, args = sends[mode]
            status, *_ = client.predict(*CONNECTION, *args, api_name=api)
            assert 'data-state="succeeded"' in status, (api, status)
    finally:
        client.close()
    found: dict[str, str] = {}
    for record in open_ledger(app.data_dir).runs(who.owner, limit=20):
        found.setdefault(json.loads(record.request_json or "{}").get("mode"), record.run_id)
    assert set(found) >= set(modes), found
    return {mode: found[mode] for mode in modes}


def share_link(app: RunningApp, share: Share) -> str:
    return app.url + share_url(secret_of(app), share)


def presented(app: RunningApp, cookie: str) -> dict[str, bytes]:
    """Everything the presenting side serves of one browser's runs, all of them starred and
    shared: the showcase page, the share page, each page's media and the offline deck."""
    owner = browser_id(secret_of(app), cookie, now=time.time())
    assert owner, "a valid browser cookie"
    run_ids = [r.run_id for r in open_ledger(app.data_dir).runs(owner, limit=50)]
    assert run_ids, "the browser has runs to present"
    store = store_of(app)
    for run_id in run_ids:
        store.star(owner, run_id)
    cookies = {BROWSER_COOKIE: cookie}
    shown = {"showcase": httpx.get(app.url + "/showcase", cookies=cookies).content,
             "share": httpx.get(share_link(app, store.share(owner, run_ids, ttl_s=600))).content}
    assert b'class="slide"' in shown["showcase"] and b'class="slide"' in shown["share"]
    deck = httpx.get(app.url + "/showcase/deck", cookies=cookies)
    assert deck.status_code == 200, deck.text
    with zipfile.ZipFile(io.BytesIO(deck.content)) as archive:  # members unpacked: a key must not hide in deflate
        shown |= {f"deck {name}": archive.read(name) for name in archive.namelist()}
    assert "deck index.html" in shown
    for page in ("showcase", "share"):
        for number, link in enumerate(re.findall(r'src="(/media/[^"]+)"', shown[page].decode())):
            shown[f"{page} media {number}"] = httpx.get(app.url + link.replace("&amp;", "&")).content
    return shown
