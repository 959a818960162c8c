"""Share links and the showcase page, attacked over real HTTP against `python app.py` with a login
on (PLAYGROUND_AUTH): a share shows exactly its runs and works without the login; every broken
link gets the one refusal; media links die with their share; nothing is read on a caller's say-so."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from playground.client import Ledger, RunRecord, ledger_path
from playground.core.signing import sign
from playground.web.media import PURPOSE, media_url
from tests.fixtures_app import RunningApp, start_app, stop_app
from tests.fixtures_servers import http_server
from tests.showcase_runs import Browser, make_runs, new_browser, secret_of, share_link, store_of
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

AUTH = ("demo", "sh4re-pass-91")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = start_app(tmp_path_factory.mktemp("share-app"), delay_scale=0.0,
                        extra_env={"PLAYGROUND_AUTH": ":".join(AUTH)})
    yield running
    stop_app(running)


@pytest.fixture(scope="module")
def people(app: RunningApp, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Browser A with three runs (all starred), browser B with one run of its own."""
    a, b = new_browser(app, AUTH), new_browser(app, AUTH)
    runs_a = make_runs(app, a, tmp_path_factory.mktemp("a"))
    runs_b = make_runs(app, b, tmp_path_factory.mktemp("b"), modes=("text-to-video",))
    store = store_of(app)
    for run_id in runs_a.values():
        store.star(a.owner, run_id)
    return {"a": a, "b": b, "runs_a": runs_a, "runs_b": runs_b}


def media_links(page: str) -> list[str]:
    return [u.replace("&amp;", "&") for u in re.findall(r'(?:src|href)="(/media/[^"]+)"', page)]


def refusal_of(answer: httpx.Response) -> tuple[int, bytes]:
    return answer.status_code, answer.content


def test_share_shows_exactly_its_run_without_login(app: RunningApp, people: dict[str, Any]) -> None:
    a, runs_a, runs_b = people["a"], people["runs_a"], people["runs_b"]
    shared = runs_a["video-edit"]
    share = store_of(app).share(a.owner, [shared], ttl_s=3600)
    page = httpx.get(share_link(app, share))  # a fresh client: no cookie, no login
    assert page.status_code == 200
    text = page.text
    assert "snow falls" in text and 'data-count="1"' in text
    assert "lighthouse" not in text and "frame comes alive" not in text, "no other run of the sharer"
    others = [*runs_a.values(), *runs_b.values(), a.owner, people["b"].owner, share.share_id]
    assert not [x for x in others if x in text], "no run id, owner or share id appears on the page"
    assert "Download deck" not in text and "<form" not in text
    assert "'nonce-" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    links = media_links(text)
    assert len(links) == 3, "the result, its source video and the overview still"
    for link in links:
        got = httpx.get(app.url + link)
        assert got.status_code == 200 and got.headers["content-type"] == "video/mp4" and len(got.content) > 1000


def test_broken_links_all_get_the_same_refusal(app: RunningApp, people: dict[str, Any]) -> None:
    a, b, runs_a, runs_b = people["a"], people["b"], people["runs_a"], people["runs_b"]
    store = store_of(app)
    good = share_link(app, store.share(a.owner, [runs_a["text-to-video"]], ttl_s=3600))
    assert httpx.get(good).status_code == 200
    token = good.rsplit("/", 1)[1]
    body, expiry, mac = token.split(".")
    revoked_share = store.share(a.owner, [runs_a["text-to-video"]], ttl_s=3600)
    revoked = share_link(app, revoked_share)
    assert httpx.get(revoked).status_code == 200
    assert store.revoke(a.owner, revoked_share.share_id)
    expired = share_link(app, store.share(a.owner, [runs_a["text-to-video"]], ttl_s=60, now=time.time() - 120))
    secret = secret_of(app)
    attacks = {
        "tampered mac": f"{app.url}/share/{body}.{expiry}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}",
        "tampered expiry": f"{app.url}/share/{body}.{int(expiry) + 86400}.{mac}",
        "no expiry": f"{app.url}/share/{body}.0.{mac}",
        "expired": expired,
        "revoked": revoked,
        "unknown share": f"{app.url}/share/{sign(secret, 'share', 'f' * 32, expires_at=int(time.time()) + 600)}",
        "another purpose": f"{app.url}/share/{sign(secret, PURPOSE, runs_a['text-to-video'])}",
        # A's share record naming only B's run: the page never shows another browser's run.
        "another browser's run": share_link(app, store.share(a.owner, [runs_b["text-to-video"]], ttl_s=3600)),
        "junk": f"{app.url}/share/%00%ff",
    }
    answers = {name: refusal_of(httpx.get(url)) for name, url in attacks.items()}
    expected = answers["revoked"]
    assert expected[0] == 404 and b"This link is not valid." in expected[1]
    assert all(answer == expected for answer in answers.values()), {k: v[0] for k, v in answers.items()}
    for traversal in ("/share/..%2F..%2Fserver-secret.key", "/share/..%2F..%2Fledger.sqlite3",
                      "/media/..%2F..%2Fserver-secret.key/x", f"/media/{body}.{expiry}.{mac}/..%2F..%2Fledger.sqlite3"):
        got = httpx.get(app.url + traversal)
        assert got.status_code == 404, traversal
        assert secret not in got.content and b"SQLite" not in got.content, traversal
    # B's run shared by B works, so the refusal above was about ownership, not the run.
    assert httpx.get(share_link(app, store.share(b.owner, [runs_b["text-to-video"]], ttl_s=60))).status_code == 200
    mixed = httpx.get(share_link(app, store.share(a.owner, [runs_b["text-to-video"], runs_a["video-edit"]],
                                                  ttl_s=60)))
    assert 'data-count="1"' in mixed.text and "snow falls" in mixed.text and runs_b["text-to-video"] not in mixed.text


def test_media_links_die_with_their_share(app: RunningApp, people: dict[str, Any]) -> None:
    a, runs_a = people["a"], people["runs_a"]
    store = store_of(app)
    share = store.share(a.owner, [runs_a["image-to-video"]], ttl_s=3)
    links = media_links(httpx.get(share_link(app, share)).text)
    assert links and all(httpx.get(app.url + link).status_code == 200 for link in links)
    for link in links:  # signed to expire no later than the share
        expiry = int(link.split("/")[2].split(".")[1])
        assert 0 < expiry <= share.expires_at
    wait_until(lambda: all(httpx.get(app.url + link).status_code == 404 for link in links),
               "the share's media links to stop working once it expired", timeout_s=30)
    longer = store.share(a.owner, [runs_a["image-to-video"]], ttl_s=3600)
    links = media_links(httpx.get(share_link(app, longer)).text)
    assert any(link.endswith("/in0") for link in links), "the first frame is served beside the video"
    assert all(httpx.get(app.url + link).status_code == 200 for link in links)
    store.revoke(a.owner, longer.share_id)
    assert all(httpx.get(app.url + link).status_code == 404 for link in links), "revoked: its media is gone at once"


def test_showcase_needs_the_login_and_shows_only_this_browsers_stars(app: RunningApp,
                                                                     people: dict[str, Any]) -> None:
    a, b, runs_a = people["a"], people["b"], people["runs_a"]
    no_login = httpx.get(app.url + "/showcase", cookies={k: v for k, v in a.cookies.items()
                                                         if not k.startswith("access-token")})
    assert no_login.status_code == 401 and "snow falls" not in no_login.text
    assert httpx.get(app.url + "/showcase/deck", cookies={"wan27_browser": a.cookie}).status_code == 401
    forged_login = {**a.cookies, **{k: "forged" for k in a.login}}
    assert httpx.get(app.url + "/showcase", cookies=forged_login).status_code == 401
    mine = httpx.get(app.url + "/showcase", cookies=a.cookies)
    assert mine.status_code == 200 and 'data-count="3"' in mine.text
    assert "snow falls" in mine.text and "&lt;b&gt;bold&lt;/b&gt;" in mine.text and "<b>bold</b>" not in mine.text
    assert "Before · Video 1 · Input video" in mine.text and "Before · First frame" in mine.text
    assert "/runs/" not in mine.text and str(app.data_dir) not in mine.text and "sk-" not in mine.text
    theirs = httpx.get(app.url + "/showcase", cookies=b.cookies)
    assert theirs.status_code == 200 and 'data-count="0"' in theirs.text
    assert not [r for r in runs_a.values() if r in theirs.text]
    # B asks for a deck of A's run: refused, naming what to do.
    deck = httpx.get(app.url + "/showcase/deck", params={"run": runs_a["video-edit"]}, cookies=b.cookies)
    assert deck.status_code == 404 and "yours" in deck.text


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(b"\x89PNG\r\n\x1a\n")

    def log_message(self, *args: Any) -> None:
        pass


def test_inputs_are_never_fetched_or_read_from_a_path(app: RunningApp, people: dict[str, Any]) -> None:
    """A run whose request names a remote URL and a path-traversing sandbox URL: neither is
    fetched or read; the caption says the input is not shown."""
    a = people["a"]
    with http_server(_Recorder) as root:
        sandbox = f"{app.url}/sandbox"
        request = {"mode": "reference-to-video", "prompt": "Image 1 and Image 2 and Image 3", "media": [
            {"type": "reference_image", "url": f"{root}/secret.png"},
            {"type": "reference_image", "url": f"{sandbox}/files/uploads/..%2F..%2F..%2Fserver-secret.key/x.png"},
            {"type": "reference_image", "url": f"{sandbox}/files/../../server-secret.key"},
        ]}
        now = time.time()
        planted = RunRecord(run_id="run-planted-0001", created_at=now, updated_at=now, provider="sandbox",
                            wire="dashscope", base_url=sandbox, state="succeeded", finished=1,
                            session_id=a.owner, request_json=json.dumps(request))
        Ledger(ledger_path(app.data_dir)).create(planted)
        store_of(app).star(a.owner, planted.run_id)
        page = httpx.get(app.url + "/showcase", cookies=a.cookies).text
        secret = secret_of(app)
        served = [httpx.get(app.url + media_url(secret, planted.run_id, role=f"in{i}")) for i in range(4)]
        deck = httpx.get(app.url + "/showcase/deck", params={"run": planted.run_id}, cookies=a.cookies)
        assert _Recorder.seen == [], "the server fetched a URL a request named"
    assert page.count("not shown:") >= 3
    assert all(answer.status_code == 404 for answer in served)
    assert deck.status_code == 200 and b"server-secret" not in deck.content
    assert secret not in deck.content and secret.decode() not in page


def test_sharing_off_refuses_every_link(tmp_path: Path, app: RunningApp) -> None:
    off = start_app(tmp_path / "off", delay_scale=0.0, extra_env={"PLAYGROUND_SHARING": "off"})
    try:
        who: Browser = new_browser(off)
        runs = make_runs(off, who, tmp_path / "media", modes=("text-to-video",))
        share = store_of(off).share(who.owner, list(runs.values()), ttl_s=3600)
        answer = httpx.get(share_link(off, share))
        secret, (run_id,) = secret_of(off), runs.values()
        share_media = httpx.get(off.url + media_url(secret, run_id, share_id=share.share_id,
                                                    not_after=share.expires_at))
        own_media = httpx.get(off.url + media_url(secret, run_id))
    finally:
        stop_app(off)
    reference = httpx.get(f"{app.url}/share/not-a-token")
    assert refusal_of(answer) == refusal_of(reference), "sharing off: the same refusal as any broken link"
    assert share_media.status_code == 404, "a share's media link stops with sharing"
    assert own_media.status_code == 200, "while the run's own (UI) media link still works"
