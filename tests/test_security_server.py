"""Attacks on a shared demo, each as the review reproduced it, against a real `python app.py`.

Every test here failed before the fix it guards: the data directory was downloadable, the
server's key followed a typed Base URL, browsers shared one sandbox key, a browser id could be
claimed by anyone, and the login could be guessed at full speed.
"""

from __future__ import annotations

import base64
import json
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import httpx
import pytest
from gradio_client import Client

from playground.core.signing import BROWSER_COOKIE
from tests.fixtures_app import RunningApp, gradio_client, start_app, stop_app
from tests.fixtures_servers import http_server

pytestmark = pytest.mark.slow

ENV_KEY = "sk-canary-env-7f3a9c1e5b"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = start_app(tmp_path_factory.mktemp("secure-app"), delay_scale=0.0,
                        extra_env={"DASHSCOPE_API_KEY": ENV_KEY})
    yield running
    stop_app(running)


def browser_cookie(url: str) -> str:
    """What a browser gets on its first visit: the signed id cookie."""
    cookie = httpx.get(url + "/").cookies.get(BROWSER_COOKIE)
    assert cookie, "the page sets the browser cookie"
    return cookie


def as_browser(url: str, cookie: str, **kwargs: Any) -> Client:
    return gradio_client(url, headers={"Cookie": f"{BROWSER_COOKIE}={cookie}"}, **kwargs)


T2V = ["a lighthouse at dusk", None, 2, "720P", "16:9", 1, True, True, False, ""]


def run_t2v(client: Client, *, provider: str = "sandbox", base_url: str = "") -> tuple[Any, ...]:
    job = client.submit(provider, "dashscope", base_url, "none", *T2V, api_name="/send_text_to_video")
    result: tuple[Any, ...] = job.result(timeout=120)
    return result


@pytest.fixture(scope="module")
def finished_run(app: RunningApp) -> dict[str, Any]:
    """One browser's finished sandbox run: its cookie, run id and task id."""
    cookie = browser_cookie(app.url)
    client = as_browser(app.url, cookie)
    status, *_ = run_t2v(client)
    assert 'data-state="succeeded"' in status, status
    table, _ = client.predict("all", "all", api_name="/history")
    row = table["data"][0]
    client.close()
    return {"cookie": cookie, "run_id": row[-1], "task_id": row[-2]}


class _Listener(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def _record(self) -> None:
        self.seen.append(f"{self.command} {self.path} {dict(self.headers)}")
        body = b'{"output":{"task_id":"t-1","task_status":"PENDING"},"request_id":"r"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _record

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A server of the attacker's on a free loopback port, recording every request."""
    seen: ClassVar[list[str]] = []
    handler = type("Recorder", (_Listener,), {"seen": seen})
    with http_server(handler) as root:
        yield f"{root}/api/v1", seen


# -- 1. the data directory is not downloadable ----------------------------------------------


def test_data_dir_files_are_not_served(app: RunningApp, finished_run: dict[str, Any]) -> None:
    data = app.data_dir.resolve()
    videos = list((data / "runs").rglob("*.mp4"))
    assert videos, "the run saved its video under the data directory"
    targets = [data / "ledger.sqlite3", data / "server-secret.key", videos[0]]
    for target in targets:
        assert target.exists()
        for url in (f"{app.url}/gradio_api/file={target}", f"{app.url}/file={target}"):
            answer = httpx.get(url)
            assert answer.status_code in (403, 404), (url, answer.status_code)
            assert b"SQLite" not in answer.content


def test_pages_and_answers_show_no_server_paths(app: RunningApp, finished_run: dict[str, Any]) -> None:
    client = as_browser(app.url, finished_run["cookie"])
    details = client.predict(finished_run["run_id"], api_name="/run_details")
    status, *_ = run_t2v(client)
    client.close()
    # (The tests put Gradio's own cache inside the data directory; its URLs are Gradio's to give.)
    private = [str(app.data_dir.resolve() / name) for name in ("runs", "ledger.sqlite3", "server-secret.key")]
    shown = json.dumps(details) + status + httpx.get(app.url + "/config").text + httpx.get(app.url + "/").text
    assert not any(path in shown for path in private), [p for p in private if p in shown]


def test_the_server_secret_is_not_published(app: RunningApp) -> None:
    secret = (app.data_dir / "server-secret.key").read_text().strip()
    page = httpx.get(app.url + "/").text + httpx.get(app.url + "/config").text
    assert secret not in page
    assert "BrowserState" not in httpx.get(app.url + "/config").text


# -- 2. the server's key never follows a typed Base URL ----------------------------------------


def test_env_key_is_never_sent_to_a_typed_base_url(app: RunningApp, listener: tuple[str, list[str]]) -> None:
    base_url, seen = listener
    client = as_browser(app.url, browser_cookie(app.url))
    status, guidance, *_ = run_t2v(client, provider="dashscope", base_url=base_url)
    client.close()
    assert not any(ENV_KEY in line for line in seen), seen
    assert "Base URL of your own needs a key typed in this tab" in status + guidance
    assert ENV_KEY not in app.logs()


def test_recover_with_a_typed_base_url_does_not_send_the_env_key(
    app: RunningApp, listener: tuple[str, list[str]]
) -> None:
    base_url, seen = listener
    client = as_browser(app.url, browser_cookie(app.url))
    with pytest.raises(Exception, match="key typed in this tab"):
        client.predict("dashscope", "dashscope", base_url, "none", "task-123", api_name="/recover_task")
    client.close()
    assert not any(ENV_KEY in line for line in seen)


# -- 4. a browser's History cannot be claimed ------------------------------------------------


def test_forged_browser_cookie_sees_nothing(app: RunningApp, finished_run: dict[str, Any]) -> None:
    owner = as_browser(app.url, finished_run["cookie"])
    mine, _ = owner.predict("all", "all", api_name="/history")
    owner.close()
    assert any(r[-1] == finished_run["run_id"] for r in mine["data"]), "the owner sees the run (the test can fail)"
    payload, expiry, mac = finished_run["cookie"].split(".")
    forgeries = [f"{payload}.{expiry}.{'0' * len(mac)}", f"{payload}.{expiry}", payload, "x" * 40]
    for forged in forgeries:
        thief = as_browser(app.url, forged)
        table, _ = thief.predict("all", "all", api_name="/history")
        details = thief.predict(finished_run["run_id"], api_name="/run_details")
        thief.close()
        assert table["data"] in ([], [[]], None) or all(r[-1] != finished_run["run_id"] for r in table["data"])
        assert details[0] == "" and details[3] is None


def test_bundle_carries_no_session_or_browser_id(app: RunningApp, finished_run: dict[str, Any]) -> None:
    client = as_browser(app.url, finished_run["cookie"])
    bundle = client.predict(finished_run["run_id"], api_name="/run_bundle")
    client.close()
    path = bundle["path"] if isinstance(bundle, dict) else bundle
    cookie_id = finished_run["cookie"].split(".")[0]
    with zipfile.ZipFile(path) as archive:
        run = json.loads(archive.read("run.json"))
        everything = b"".join(archive.read(n) for n in archive.namelist() if not n.endswith(".mp4"))
    assert "session_id" not in run and "owner" not in run
    browser = base64.urlsafe_b64decode(cookie_id + "=" * (-len(cookie_id) % 4))
    assert browser.isalnum() and browser not in everything


def test_calls_without_a_session_do_not_share_one(app: RunningApp) -> None:
    """Two anonymous API calls are two sessions: one's key is never used for the other."""
    def call(body: dict[str, Any]) -> Any:
        return httpx.post(f"{app.url}/gradio_api/run/set_api_key", json=body, timeout=30).json()

    call({"data": ["sk-anon-canary-1234", "dashscope"]})
    note = call({"data": ["", "dashscope"]})  # clears only its own (fresh) session
    second = httpx.post(f"{app.url}/gradio_api/run/set_provider", json={"data": ["dashscope"]}, timeout=30).json()
    assert "set for this browser tab" not in json.dumps(second), second
    assert "sk-anon-canary" not in json.dumps(note)


# -- 5. sandbox tasks are per browser --------------------------------------------------------


def test_shared_sandbox_key_sees_no_browser_tasks(app: RunningApp, finished_run: dict[str, Any]) -> None:
    headers = {"Authorization": "Bearer sk-sandbox"}
    listing = httpx.get(f"{app.url}/sandbox/api/v1/tasks", headers=headers).json()
    assert finished_run["task_id"] not in json.dumps(listing)
    one = httpx.get(f"{app.url}/sandbox/api/v1/tasks/{finished_run['task_id']}", headers=headers)
    # DashScope answers another account's (or no) task as UNKNOWN, without its contents.
    assert one.json()["output"]["task_status"] == "UNKNOWN"
    assert T2V[0] not in one.text and "video_url" not in one.text
    cancel = httpx.post(f"{app.url}/sandbox/api/v1/tasks/{finished_run['task_id']}/cancel", headers=headers)
    assert cancel.status_code in (400, 404)


def test_recover_cannot_take_over_another_browsers_run(app: RunningApp, finished_run: dict[str, Any]) -> None:
    thief = as_browser(app.url, browser_cookie(app.url))
    with pytest.raises(Exception, match="no task"):
        thief.predict("sandbox", "dashscope", "", "none", finished_run["task_id"], api_name="/recover_task")
    table, _ = thief.predict("all", "all", api_name="/history")
    thief.close()
    assert all(finished_run["task_id"] not in r for r in table["data"] if r)


# -- 7. bodies too large or too slow -----------------------------------------------------------


def test_oversized_api_body_is_refused_before_it_is_read(app: RunningApp) -> None:
    huge = {"data": ["sandbox", "dashscope", "x" * (8 * 1024 * 1024)], "fn_index": 0}
    answer = httpx.post(f"{app.url}/gradio_api/run/preview_text_to_video", json=huge, timeout=60)
    assert answer.status_code == 413
    assert httpx.get(app.url + "/healthz").status_code == 200


# -- 9. security headers ---------------------------------------------------------------------


def test_the_ui_cannot_be_framed(app: RunningApp) -> None:
    page = httpx.get(app.url + "/")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


# -- signed media links ----------------------------------------------------------------------


def test_compare_links_are_signed_and_bound_to_their_run(app: RunningApp, finished_run: dict[str, Any]) -> None:
    client = as_browser(app.url, finished_run["cookie"])
    run_t2v(client)
    table, _ = client.predict("all", "all", api_name="/history")
    ids = [r[-1] for r in table["data"][:2]]
    html = client.predict(ids, api_name="/compare_runs")
    client.close()
    links = [part.split('"')[0] for part in html.split('src="')[1:]]
    assert len(links) == 2 and all(link.startswith("/media/") for link in links)
    video = httpx.get(app.url + links[0])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    token = links[0].split("/")[2]
    payload, expiry, mac = token.split(".")
    for forged in (f"{payload}.{int(expiry) + 3600}.{mac}", f"{payload}.{expiry}.{mac[::-1]}"):
        assert httpx.get(f"{app.url}/media/{forged}/video.mp4").status_code == 404


# -- with a login: 5 (sandbox behind the login) and 8 (throttle) -------------------------------


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = start_app(tmp_path_factory.mktemp("locked-app"), delay_scale=0.0,
                        extra_env={"PLAYGROUND_AUTH": "demo:s3cret-pass"})
    yield running
    stop_app(running)


def test_mounted_sandbox_takes_only_issued_keys_behind_a_login(locked_app: RunningApp) -> None:
    for key in ("sk-sandbox", "sk-anything", "sk-sbx-000000000000000000000000-000000000000000000000000"):
        answer = httpx.get(f"{locked_app.url}/sandbox/api/v1/tasks", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 401, (key, answer.status_code)
    # The playground's own runs still work: it sends keys it issued.
    client = gradio_client(locked_app.url, auth=("demo", "s3cret-pass"))
    status, *_ = run_t2v(client)
    client.close()
    assert 'data-state="succeeded"' in status, status


def test_failed_logins_are_throttled(locked_app: RunningApp) -> None:
    codes = []
    for attempt in range(30):
        answer = httpx.post(f"{locked_app.url}/login", data={"username": "demo", "password": f"guess-{attempt}"})
        codes.append(answer.status_code)
    assert codes[:5] == [400] * 5
    assert set(codes[6:]) == {429}
    assert "retry-after" in httpx.post(f"{locked_app.url}/login", data={"username": "demo", "password": "x"}).headers
    # The right password from this address is refused too while it is throttled: no oracle.
    good = httpx.post(f"{locked_app.url}/login", data={"username": "demo", "password": "s3cret-pass"})
    assert good.status_code == 429


# -- 2 (continued). no requests to hosts the server should not reach -------------------------


def test_typed_key_still_cannot_reach_a_private_host(app: RunningApp, listener: tuple[str, list[str]]) -> None:
    base_url, seen = listener
    client = as_browser(app.url, browser_cookie(app.url))
    client.predict("sk-typed-by-the-visitor", "dashscope", api_name="/set_api_key")
    status, guidance, *_ = run_t2v(client, provider="dashscope", base_url=base_url)
    client.close()
    assert seen == []
    assert "PLAYGROUND_ALLOWED_HOSTS" in status + guidance


# -- 6. media fields never read server files -------------------------------------------------

@pytest.mark.parametrize("path", ["/etc/passwd", "/no/such/file.png", "file:///etc/hostname", "../app.py"])
def test_server_paths_in_media_fields_are_refused_alike(app: RunningApp, path: str) -> None:
    client = as_browser(app.url, browser_cookie(app.url))
    status, guidance, *_ = client.predict("sandbox", "dashscope", "", "none", "", None, 2, "720P", 1, True, True,
                                          False, path, "", "", "", api_name="/send_image_to_video")
    client.close()
    shown = status + guidance
    assert 'data-state="invalid"' in status, status
    assert "upload the file" in shown.lower()
    for leak in ("root:", "no such file", "does not exist", "exists"):
        assert leak not in shown.lower(), (path, leak)


# -- 7. a decompression bomb is refused from its header --------------------------------------


def test_huge_picture_is_refused_from_its_header(app: RunningApp, tmp_path: Any) -> None:
    from gradio_client import handle_file

    from tests.test_security_media import bomb_png  # a 13000x13000 PNG, a few KB on disk

    # That no pixel is decoded is proven in test_security_media; here, that the endpoint refuses it.
    bomb = bomb_png(tmp_path / "bomb.png", 13000, 13000)
    client = as_browser(app.url, browser_cookie(app.url))
    url, _ = client.predict(handle_file(str(bomb)), "", "sandbox", "dashscope", "", "none",
                            api_name="/attach_image_to_video_first_frame")
    client.close()
    assert url == ""
    assert httpx.get(app.url + "/healthz").status_code == 200


# -- recover: a command-line run is adopted by the first browser that recovers it, and only that one


def test_recover_adopts_an_unowned_cli_run_once(app: RunningApp) -> None:
    from playground.client import Ledger, RunRecord, ledger_path

    now = time.time()
    ledger = Ledger(ledger_path(app.data_dir))
    ledger.create(RunRecord(run_id="run-cli-adopt", created_at=now, updated_at=now, provider="sandbox",
                            wire="dashscope", base_url=app.url + "/sandbox", state="succeeded",
                            task_id="cli-task-0001", finished=1,
                            request_json=json.dumps({"mode": "text-to-video", "prompt": "from the CLI"})))
    first = as_browser(app.url, browser_cookie(app.url))
    status, _, _ = first.predict("sandbox", "dashscope", "", "none", "cli-task-0001", api_name="/recover_task")
    assert "already ended" in status
    table, _ = first.predict("all", "all", api_name="/history")
    first.close()
    assert any(row[-1] == "run-cli-adopt" for row in table["data"])
    second = as_browser(app.url, browser_cookie(app.url))
    with pytest.raises(Exception, match="no task"):
        second.predict("sandbox", "dashscope", "", "none", "cli-task-0001", api_name="/recover_task")
    second.close()
