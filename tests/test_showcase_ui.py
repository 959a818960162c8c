"""Star, showcase order, share links and the deck through the Gradio API of a real `python app.py`.

Each test is one browser (its own signed cookie, as a browser gets on its first visit) with
runs of its own, so no test depends on another's stars or links. The attacks are written as a
second browser that knows the first one's run and share ids: every call is refused as if the
ids did not exist, and the first browser's showcase is untouched.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.core.signing import BROWSER_COOKIE
from playground.ui.runs import VIDEO_READY, scrub_paths
from tests.fixtures_app import RunningApp, gradio_client, start_app, stop_app

pytestmark = pytest.mark.slow

T2V = [None, 2, "720P", "16:9", 1, True, True, False, ""]  # the form after the prompt


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = start_app(tmp_path_factory.mktemp("showcase-ui"), delay_scale=0.0)
    yield running
    stop_app(running)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("showcase-downloads")


def browser(app: RunningApp, downloads: Path | None = None) -> Client:
    """A new browser: the signed id cookie of a first visit, sent with every call."""
    cookie = httpx.get(app.url + "/").cookies.get(BROWSER_COOKIE)
    assert cookie, "the page sets the browser cookie"
    options: dict[str, Any] = {"download_files": str(downloads)} if downloads else {}
    return gradio_client(app.url, headers={"Cookie": f"{BROWSER_COOKIE}={cookie}"}, **options)


def send(client: Client, prompt: str) -> tuple[Any, ...]:
    job = client.submit("sandbox", "dashscope", "", "none", prompt, *T2V, api_name="/send_text_to_video")
    result: tuple[Any, ...] = job.result(timeout=120)
    assert 'data-state="succeeded"' in result[0], result[0]
    return result


def run_ids(client: Client, *prompts: str) -> list[str]:
    """Send one run per prompt; their run ids, in the order sent."""
    for prompt in prompts:
        send(client, prompt)
    table, _ = client.predict("all", "all", api_name="/history")
    by_prompt = {row[6]: row[-1] for row in table["data"]}
    return [by_prompt[p] for p in prompts]


def order_of(client: Client) -> list[str]:
    """The showcase as the API reports it: starred run ids, in order."""
    _, _, order, _, _ = client.predict(api_name="/showcase")
    return [line for line in order.splitlines() if line]


def refusal(client: Client, *args: Any, api_name: str) -> str:
    with pytest.raises(AppError) as refused:
        client.predict(*args, api_name=api_name)
    return str(refused.value)


def share_ids(client: Client) -> list[str]:
    """The ids of this browser's share links that still work (the Revoke list's choices)."""
    _, _, _, _, revocable = client.predict(api_name="/showcase")
    return [value for _, value in revocable["choices"]]


# -- the status panel shows no server path ------------------------------------------------------


def test_a_finished_run_shows_its_video_and_measurements_but_no_server_path(app: RunningApp) -> None:
    client = browser(app)
    status, guidance, video, measured, response = send(client, "a harbour at noon")
    table, _ = client.predict("all", "all", api_name="/history")
    run_id = table["data"][0][-1]
    request_json, timeline, details_guidance, details_video, last_response, cost = client.predict(
        run_id, api_name="/run_details")
    client.close()
    data = app.data_dir.resolve()
    private = {str(data), str(app.data_dir), str(data / "runs"), f"runs/{run_id}"}
    shown = {"status": status, "guidance": guidance, "measured": measured, "response": response,
             "sent JSON": request_json, "timeline": timeline, "run guidance": details_guidance,
             "last response": last_response, "cost": cost}
    for name, text in shown.items():
        leaked = [path for path in private if path in text]
        assert not leaked, (name, leaked, text[:400])
    # The videos are Gradio's copies, served from its own cache (which the tests put inside the data
    # directory: its URLs are Gradio's to give), never the run folder itself.
    for video_out in (video, details_video):
        assert str(data / "runs") not in json.dumps(video_out) and f"runs/{run_id}" not in json.dumps(video_out)
    assert VIDEO_READY.split(":")[0] in status and "video saved" not in status
    assert "Width × height: <strong>1280×720</strong>" in measured and "File size" in measured
    assert "Duration: <strong>2.00 s</strong>" in measured and "Frame rate" in measured
    video_file = video["video"] if isinstance(video, dict) and "video" in video else video
    assert httpx.get(video_file["url"]).status_code == 200, "the video (and its download) is served"


def test_server_paths_become_file_names() -> None:
    """Absolute, as configured (relative), bare, and never inside a longer word."""
    services: Any = SimpleNamespace(data_dir=Path(".playground"))
    absolute = Path(".playground").resolve()
    assert scrub_paths(f"video saved: {absolute}/runs/r-1/video.mp4 (MP4 video, 1 MB)", services) == (
        "video saved: video.mp4 (MP4 video, 1 MB)")
    assert scrub_paths("downloading the video to .playground/runs/r-2/video.mp4", services) == (
        "downloading the video to video.mp4")
    assert scrub_paths(f"cannot write '{absolute}/runs/r-3/x.part', disk full", services) == (
        "cannot write 'x.part', disk full")
    untouched = "metadata.playground and .playgrounds stay"
    assert scrub_paths(untouched, services) == untouched


# -- star, unstar, order ------------------------------------------------------------------------


def test_star_and_unstar_build_the_showcase_and_history_marks_it(app: RunningApp) -> None:
    client = browser(app)
    first, second, third = run_ids(client, "one red kite", "two blue kites", "three kites")
    assert order_of(client) == []
    for run_id in (second, first, third):
        note, listing, pick, order = client.predict(run_id, api_name="/star")  # (buttons are no API output)
        assert "In this browser" in note and run_id in order and run_id in listing
        assert run_id in [value for _, value in pick["choices"]]
    assert order_of(client) == [second, first, third], "starred in order, each at the end"
    client.predict(first, api_name="/star")  # starring again keeps its place
    assert order_of(client) == [second, first, third]
    note, listing, _, order = client.predict(first, api_name="/unstar")
    assert order.split() == [second, third] and "Not in the showcase" in note and first not in listing
    table, _ = client.predict("all", "all", api_name="/history")
    marked = {row[-1]: row[0].startswith("★") for row in table["data"]}
    client.close()
    assert marked == {first: False, second: True, third: True}


def test_reorder_moves_starred_runs_and_refuses_others(app: RunningApp) -> None:
    client = browser(app)
    a, b, c, unstarred = run_ids(client, "alpha", "bravo", "charlie", "delta")
    for run_id in (a, b, c):
        client.predict(run_id, api_name="/star")
    listing, _, order = client.predict(f"{c}\n{a}", api_name="/reorder_showcase")
    assert order.split() == [c, a, b], "the named runs first, the rest after in their order"
    assert listing.index(c) < listing.index(a) < listing.index(b)
    _, _, order = client.predict(f"{b}, {c} {a}", api_name="/reorder_showcase")
    assert order.split() == [b, c, a], "commas and spaces separate ids too"
    error = refusal(client, f"{a}\n{unstarred}", api_name="/reorder_showcase")
    assert error.startswith("run_ids: ") and "no such run in this browser's showcase" in error
    assert order_of(client) == [b, c, a], "a refused order changes nothing"
    client.close()


# -- share links ----------------------------------------------------------------------------------


def test_share_links_are_whole_urls_listed_with_expiry_and_revocable(app: RunningApp) -> None:
    client = browser(app)
    first, second = run_ids(client, "a shared sunrise", "a shared sunset")
    link, listing, revocable = client.predict(first, api_name="/share")
    assert link.startswith(f"{app.url}/share/"), link
    assert 'data-state="active"' in listing and link in listing and "expires" in listing
    with pytest.raises(AppError, match="star a run first"):
        client.predict(api_name="/share_showcase")
    client.predict(second, api_name="/star")
    showcase_link, listing, revocable = client.predict(api_name="/share_showcase")
    assert showcase_link.startswith(f"{app.url}/share/") and showcase_link != link
    assert len(revocable["choices"]) == 2
    page = httpx.get(showcase_link)
    assert page.status_code == 200 and "a shared sunset" in page.text and "a shared sunrise" not in page.text
    newest = revocable["choices"][0][1]  # newest first: the showcase's
    listing, revocable = client.predict(newest, api_name="/revoke_share")
    assert 'data-state="revoked"' in listing and showcase_link not in listing, "a revoked link is not shown again"
    assert [value for _, value in revocable["choices"]] == share_ids(client) != [] and newest not in share_ids(client)
    error = refusal(client, newest, api_name="/revoke_share")
    assert error.startswith("share_id: ") and "no such share link" in error
    assert "This link is not valid." in httpx.get(showcase_link).text, "revoked: the page refuses it at once"
    assert "a shared sunrise" in httpx.get(link).text, "the other link still works"
    client.close()


# -- the offline deck -------------------------------------------------------------------------------


def test_download_deck_holds_the_starred_runs_in_order_and_no_server_internals(
    app: RunningApp, downloads: Path
) -> None:
    client = browser(app, downloads)
    assert "star a run first" in refusal(client, api_name="/deck")
    first, second, left_out = run_ids(client, "deck opener", "deck closer", "not in the deck")
    for run_id in (second, first):
        client.predict(run_id, api_name="/star")
    handed = client.predict(api_name="/deck")
    client.close()
    path = Path(handed if isinstance(handed, str) else handed["path"])
    assert path.name == "showcase-deck.zip"
    with zipfile.ZipFile(path) as deck:
        names = deck.namelist()
        text = b"".join(deck.read(n) for n in names if not n.endswith(".mp4")).decode("utf-8", "replace")
    assert "index.html" in names and sum(n.endswith("-result.mp4") for n in names) == 2, names
    assert text.index("deck closer") < text.index("deck opener"), "the showcase's order"
    assert "not in the deck" not in text
    data = app.data_dir.resolve()
    internals = [str(data), str(app.data_dir), first, second, left_out, "session_id", "sk-sbx-"]
    assert not [word for word in internals if word in text]


# -- attacks: another browser's ids ------------------------------------------------------------


def test_another_browsers_runs_and_links_are_no_such_run(app: RunningApp) -> None:
    """Mallory has Alice's run ids and share id (from a screen share, say); none of them works."""
    alice, mallory = browser(app), browser(app)
    (starred, other) = run_ids(alice, "alice's private launch", "alice's other run")
    alice.predict(starred, api_name="/star")
    alice.predict(starred, api_name="/share")
    (alice_share,) = share_ids(alice)
    run_ids(mallory, "mallory's own run")  # Mallory is a real user of the same server
    for api in ("/star", "/unstar", "/share"):
        for target in (starred, other):
            error = refusal(mallory, target, api_name=api)
            assert error.startswith("run_id: ") and "no such run" in error, (api, error)
    error = refusal(mallory, f"{starred}\n{other}", api_name="/reorder_showcase")
    assert error.startswith("run_ids: ") and "no such run" in error
    error = refusal(mallory, alice_share, api_name="/revoke_share")
    assert error.startswith("share_id: ") and "no such share link" in error
    listing, _, order, links, _ = mallory.predict(api_name="/showcase")
    assert order == "" and starred not in listing and alice_share not in links and "alice" not in links
    # Alice's showcase and link are as she left them.
    assert order_of(alice) == [starred] and share_ids(alice) == [alice_share]
    alice.close()
    mallory.close()


def test_the_tab_star_toggle_is_not_an_api_endpoint(app: RunningApp) -> None:
    """Scripts star by run id; the tab's toggle (acting on what a page shows) is the page's alone."""
    client = gradio_client(app.url)
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    client.close()
    assert {"/star", "/unstar", "/showcase", "/reorder_showcase", "/share", "/share_showcase", "/revoke_share",
            "/deck"} <= names
    assert not [n for n in names if "toggle" in n]


# -- sharing switched off -------------------------------------------------------------------------


def test_sharing_off_hides_the_buttons_and_refuses_links(tmp_path: Path) -> None:
    off = start_app(tmp_path / "no-sharing", delay_scale=0.0, extra_env={"PLAYGROUND_SHARING": "off"})
    try:
        config = httpx.get(off.url + "/config").json()
        shown = {c["props"].get("elem_id"): c["props"].get("visible") for c in config["components"]}
        assert shown["history-share-run"] is False and shown["showcase-share"] is False
        assert shown["history-star"] is not False, "starring needs no sharing"
        client = browser(off)
        (run_id,) = run_ids(client, "not for sharing")
        client.predict(run_id, api_name="/star")
        for args, api in (((run_id,), "/share"), ((), "/share_showcase")):
            assert "Sharing is switched off" in refusal(client, *args, api_name=api)
        _, _, _, links, _ = client.predict(api_name="/showcase")
        assert "Sharing is switched off" in links
        client.close()
    finally:
        stop_app(off)
