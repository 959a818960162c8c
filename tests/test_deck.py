"""The offline deck: a zip whose index.html needs nothing but its own files, and that carries no
key, no server path and nothing of the ledger but what the captions say."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from playground.client import DeckRun, build_deck, open_ledger
from playground.media.samples import make_image
from tests.fixtures_app import RunningApp, start_app, stop_app
from tests.showcase_runs import make_runs, new_browser, store_of

CANARY = "sk-canary-deck-4b7e19a0c3"


def referenced(index: str) -> list[str]:
    return [m.replace("&amp;", "&") for m in re.findall(r'(?:src|href)="([^"]*)"', index)]


def test_deck_holds_what_it_is_given_and_says_what_it_lacks(tmp_path: Path) -> None:
    image = make_image(tmp_path / "f.png", 64, 64)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    runs = [
        DeckRun(request={"mode": "image-to-video", "prompt": "one", "media": [
            {"type": "first_frame", "url": f"file://{image}"}, {"type": "last_frame", "url": "https://e.com/l.png"}]},
            title="Image-to-Video", video=video, inputs=[(image, "image/png"), None],
            input_notes=[None, None]),
        DeckRun(request={"mode": "reference-to-video", "prompt": "Image 1", "media": [
            {"type": "reference_image", "url": "data:..."}]}, title="Reference-to-Video", video=None,
            video_note="No video: this run's status is Failed.", inputs=[(b"\x89PNG\r\n\x1a\nxx", "image/png")]),
    ]
    path = build_deck(runs, tmp_path / "deck.zip")
    with zipfile.ZipFile(path) as deck:
        names = set(deck.namelist())
        index = deck.read("index.html").decode()
        captions = deck.read("captions.txt").decode()
    assert names == {"index.html", "captions.txt", "slides.json", "media/01-result.mp4", "media/01-before-1.png",
                     "media/02-before-1.png"}
    assert set(referenced(index)) == {"media/01-result.mp4", "media/01-before-1.png", "media/02-before-1.png"}
    assert str(tmp_path) not in index and "e.com" not in index and "file://" not in index
    assert "not shown" in index and "Last frame" in index and "Failed" in captions
    assert "<script>" in index and "nonce" not in index, "plain inline script: file:// has no server to set a policy"
    with pytest.raises(ValueError, match="run_ids"):
        build_deck([], tmp_path / "empty.zip")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = start_app(tmp_path_factory.mktemp("deck-app"), delay_scale=0.0,
                        extra_env={"DASHSCOPE_API_KEY": CANARY})
    yield running
    stop_app(running)


@pytest.mark.slow
def test_served_deck_has_no_key_path_or_ledger_internals(app: RunningApp, tmp_path: Path) -> None:
    who = new_browser(app)
    runs = make_runs(app, who, tmp_path / "media")
    store = store_of(app)
    for run_id in runs.values():
        store.star(who.owner, run_id)
    share = store.share(who.owner, list(runs.values()), ttl_s=600)
    answer = httpx.get(app.url + "/showcase/deck", cookies=who.cookies)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert "showcase-deck.zip" in answer.headers["content-disposition"]
    (tmp_path / "deck.zip").write_bytes(answer.content)
    with zipfile.ZipFile(tmp_path / "deck.zip") as deck:
        names = deck.namelist()
        members = {name: deck.read(name) for name in names}
    index = members["index.html"].decode()
    assert index.count('class="slide"') == 3
    for ref in referenced(index):
        assert not ref.startswith(("/", "http:", "https:", "file:", "data:")) and ".." not in ref, ref
        assert ref in members, f"index.html names {ref}, which the deck lacks"
    assert sum(n.endswith("-result.mp4") for n in names) == 3
    assert any("before" in n and n.endswith(".mp4") for n in names), "the video edit's source"
    assert any("before" in n and n.endswith(".png") for n in names), "the first frame"
    ledger = open_ledger(app.data_dir)
    secrets: list[str] = [CANARY, str(app.data_dir), str(app.data_dir.resolve()), "/sandbox/", "oss://",
                          who.owner, who.cookie, share.share_id,
                          (app.data_dir / "server-secret.key").read_text().strip()]
    for run_id in runs.values():
        record = ledger.get(run_id)
        assert record is not None
        secrets += [v for v in (record.run_id, record.task_id, record.body_hash, record.submit_request_id,
                                record.last_request_id, record.base_url, record.result_path, record.out_dir) if v]
        secrets += [e.request_id for e in ledger.events(run_id) if e.request_id]
    for name, content in members.items():
        for secret in secrets:
            assert secret.encode() not in content, (name, secret)
    assert "snow falls" in index and "the frame comes alive" in index


def test_deck_of_nothing_is_refused_with_a_fix(app: RunningApp) -> None:
    who = new_browser(app)
    answer = httpx.get(app.url + "/showcase/deck", cookies=who.cookies)
    assert answer.status_code == 404 and "star" in answer.text
