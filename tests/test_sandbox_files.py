"""The file store: uploads in, videos out, nothing fetched from elsewhere, everything expires."""

from __future__ import annotations

import base64
import io
import random
import sqlite3
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from playground.media.samples import make_image, make_video
from tests.fixtures_sandbox import (
    MovableClock,
    SampleMedia,
    auth,
    dashscope_headers,
    png_bytes,
    upload,
    wait_dashscope,
    wait_gateway,
)
from tests.fixtures_servers import http_server
from tests.waiting import wait_until

PNG = png_bytes()  # the store takes only real media (checked by content)

CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"


def i2v(url: str) -> dict[str, Any]:
    return {"model": "wan2.7-i2v", "input": {"media": [{"type": "first_frame", "url": url}]},
            "parameters": {"resolution": "720P", "duration": 2}}


def failure_of(client: httpx.Client, base: str, body: dict[str, Any], key: str = "sk-test-sandbox",
               **headers: str) -> dict[str, Any]:
    answer = client.post(base + CREATE, json=body, headers={**dashscope_headers(key), **headers})
    assert answer.status_code == 200, answer.text
    output: dict[str, Any] = wait_dashscope(client, base, answer.json()["output"]["task_id"], key)["output"]
    assert output["task_status"] == "FAILED", output
    return output


def test_an_upload_comes_back_byte_for_byte_with_ranges(
    client: httpx.Client, sandbox_base: str, sandbox_media: SampleMedia
) -> None:
    path = sandbox_media.files["wide"]
    with path.open("rb") as handle:
        stored = client.post(f"{sandbox_base}/v1/files", files={"file": (path.name, handle)}, headers=auth()).json()
    assert stored["object"] == "file" and stored["filename"] == "wide.png"
    assert (stored["bytes"], stored["content_type"]) == (path.stat().st_size, "image/png")
    assert stored["url"].startswith(f"{sandbox_base}/files/uploads/{stored['id']}/")
    whole = client.get(stored["url"])
    assert whole.content == path.read_bytes()
    assert whole.headers["content-type"] == "image/png"
    part = client.get(stored["url"], headers={"Range": "bytes=0-9"})
    assert (part.status_code, part.content) == (206, path.read_bytes()[:10])
    assert client.head(stored["url"]).status_code == 200


def test_data_uris_work_where_the_api_accepts_them(
    client: httpx.Client, sandbox_base: str, sandbox_media: SampleMedia
) -> None:
    """Edit takes reference images as data: URIs; the task decodes and uses them."""
    encoded = base64.b64encode(sandbox_media.files["ref_a"].read_bytes()).decode()
    body = {"model": "wan2.7-videoedit", "parameters": {"resolution": "720P", "ratio": "1:1", "duration": 2},
            "input": {"prompt": "add the cat", "media": [
                {"type": "video", "url": sandbox_media.urls["clip"]},
                {"type": "reference_image", "url": f"data:image/png;base64,{encoded}"}]}}
    answer = client.post(sandbox_base + CREATE, json=body, headers=dashscope_headers())
    done = wait_dashscope(client, sandbox_base, answer.json()["output"]["task_id"])
    assert done["output"]["task_status"] == "SUCCEEDED", done
    assert done["usage"]["output_video_duration"] == 2  # truncated from the 2.5 s source


def test_a_finished_task_keeps_none_of_its_inline_media(client: httpx.Client, start_sandbox: Any,
                                                        tmp_path: Path) -> None:
    """The attack: request after request, each carrying megabytes of inline media. A finished
    task kept its request for a day, inline media and all, in memory and in its record; now
    each data: URI is a short stand-in once the task ended (the video is made; the echo and
    the task's answer are unchanged), so memory and records do not grow with what was sent."""
    base = f"{start_sandbox(delay_scale=0.0)}/sandbox"
    noise = io.BytesIO()
    Image.frombytes("RGB", (800, 600), random.Random(7).randbytes(800 * 600 * 3)).save(noise, "PNG")
    inline = f"data:image/png;base64,{base64.b64encode(noise.getvalue()).decode()}"
    assert len(inline) > 1_500_000
    clip = upload(client, base, make_video(tmp_path / "clip.mp4", 320, 240, 2.0, seed=3))
    task_ids = []
    for n in range(3):
        body = {"model": "wan2.7-videoedit", "parameters": {"resolution": "720P", "ratio": "1:1", "duration": 2},
                "input": {"prompt": f"static number {n}", "media": [
                    {"type": "video", "url": clip}, {"type": "reference_image", "url": inline}]}}
        answer = client.post(base + CREATE, json=body, headers=dashscope_headers())
        assert answer.status_code == 200, answer.text[:300]
        task_ids.append(answer.json()["output"]["task_id"])
    for n, task_id in enumerate(task_ids):
        done = wait_dashscope(client, base, task_id)
        assert done["output"]["task_status"] == "SUCCEEDED", done
        assert done["output"]["orig_prompt"] == f"static number {n}"
    (records,) = tmp_path.glob("sandbox-*/sandbox/tasks.sqlite3")
    with sqlite3.connect(records) as db:
        documents = [row[0] for row in db.execute("SELECT document FROM tasks")]
    assert len(documents) == 3 and all(len(d) < 10_000 for d in documents), [len(d) for d in documents]
    assert all("data:image/png;dropped-after-the-task-ended=" in d for d in documents)


@pytest.fixture
def bystander() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records every request it gets."""
    hits: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Recorder) as url:
        yield url, hits


def test_other_urls_are_never_fetched(
    client: httpx.Client, sandbox_base: str, sandbox_media: SampleMedia, bystander: tuple[str, list[str]]
) -> None:
    """Loopback, private and public URLs outside the store all fail the task, with no request made."""
    elsewhere, hits = bystander
    own = sandbox_media.urls["wide"]
    path = own.split("/sandbox", 1)[1]
    for url in (f"{elsewhere}/frame.png", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/a.png",
                f"http://example.com/sandbox{path}", f"{sandbox_base}/v1/files"):
        output = failure_of(client, sandbox_base, i2v(url))
        assert output["code"] == "InvalidURL"
        assert "input.media[0].url" in output["message"]
    assert hits == []


def test_store_urls_must_exist(client: httpx.Client, sandbox_base: str, sandbox_media: SampleMedia) -> None:
    url = sandbox_media.urls["wide"].replace("wide.png", "other.png")
    output = failure_of(client, sandbox_base, i2v(url))
    assert (output["code"], "does not exist or has expired" in output["message"]) == ("InvalidURL", True)


def test_temporary_uploads_belong_to_their_key(client: httpx.Client, sandbox_base: str, tmp_path: Path) -> None:
    """An oss:// key works with the resolve header and the key that uploaded it, and only then."""
    frame = make_image(tmp_path / "frame.png", 640, 360)
    policy = client.get(f"{sandbox_base}/api/v1/uploads", params={"action": "getPolicy", "model": "wan2.7-i2v"},
                        headers=auth("sk-owner")).json()["data"]
    key = f"{policy['upload_dir']}/frame.png"
    form = {"OSSAccessKeyId": policy["oss_access_key_id"], "policy": policy["policy"],
            "Signature": policy["signature"], "key": key, "success_action_status": "200"}
    assert client.post(policy["upload_host"], data=form, files={"file": frame.read_bytes()}).status_code == 200
    body = i2v(f"oss://{key}")

    without_header = client.post(sandbox_base + CREATE, json=body, headers=dashscope_headers("sk-owner"))
    assert without_header.status_code == 400
    assert "input.media[0].url" in without_header.json()["message"]

    resolve = {"X-DashScope-OssResourceResolve": "enable"}
    # Refused at the create, where the service resolves oss:// URLs (the exact answer is ⚠, oss.py).
    stranger = client.post(sandbox_base + CREATE, json=body, headers={**dashscope_headers("sk-stranger"), **resolve})
    assert stranger.status_code == 400, stranger.text
    assert "another API key" in stranger.json()["message"]
    answer = client.post(sandbox_base + CREATE, json=body, headers={**dashscope_headers("sk-owner"), **resolve})
    done = wait_dashscope(client, sandbox_base, answer.json()["output"]["task_id"], "sk-owner")
    assert done["output"]["task_status"] == "SUCCEEDED", done


def test_media_that_breaks_the_limits_fails_the_task(client: httpx.Client, sandbox_base: str, tmp_path: Path) -> None:
    """Inputs are checked like the real service does, with the playground's own file checks."""
    tiny = upload(client, sandbox_base, make_image(tmp_path / "tiny.png", 120, 120))
    small = failure_of(client, sandbox_base, i2v(tiny))
    assert small["code"] == "InvalidParameter"
    assert "input.media[0].url (first_frame): 120x120 is too small" in small["message"]
    text = tmp_path / "notes.png"  # a PNG signature, then no picture: the store takes it, the task does not
    text.write_bytes(PNG[:8] + b"not a picture at all")
    unreadable = failure_of(client, sandbox_base, i2v(upload(client, sandbox_base, text)))
    assert unreadable["code"] == "InvalidParameter.DataInspection"
    clip_as_frame = {"model": "wan-2-7-video", "mode": "video-edit",
                     "input": {"media": [{"type": "video", "url": tiny}]}}
    created = client.post(f"{sandbox_base}/v1/videos/generations", json=clip_as_frame, headers=auth()).json()
    failed = wait_gateway(client, sandbox_base, created["task_id"])
    assert failed["error"]["code"] == "InvalidParameter"
    assert "a video is needed here" in failed["error"]["message"]


def test_results_uploads_and_tasks_expire_and_are_deleted(client: httpx.Client, start_sandbox: Any,
                                                          tmp_path: Path) -> None:
    """Past the TTL (on the sandbox's clock, moved forward), files answer 404, the task reads
    UNKNOWN, and the sweep empties the store."""
    clock = MovableClock()
    base = start_sandbox(delay_scale=0.0, ttl_s=60.0, sweep_interval_s=0.1, clock=clock) + "/sandbox"
    file_url = upload(client, base, make_image(tmp_path / "a.png", 320, 240))
    # Checked now: the render below may first wait for a render process to start.
    assert client.get(file_url).status_code == 200
    answer = client.post(base + CREATE, json={"model": "wan2.7-t2v", "input": {"prompt": "brief"},
                                              "parameters": {"resolution": "720P", "duration": 2}},
                         headers=dashscope_headers())
    task_id = answer.json()["output"]["task_id"]
    done = wait_dashscope(client, base, task_id)
    assert done["output"]["task_status"] == "SUCCEEDED"
    video_url = done["output"]["video_url"]
    assert client.get(video_url).status_code == 200
    clock.advance(61.0)
    assert client.get(file_url).status_code == 404
    assert client.get(video_url).status_code == 404
    assert wait_dashscope(client, base, task_id)["output"]["task_status"] == "UNKNOWN"
    data_dirs = sorted(tmp_path.glob("sandbox-*/sandbox"))
    assert data_dirs

    def swept() -> bool:
        return all(not any((data_dirs[0] / kind).iterdir()) for kind in ("uploads", "results", "work"))

    wait_until(swept, "the sweep to delete the expired files", timeout_s=10)


def test_disk_use_stays_under_the_cap(client: httpx.Client, start_sandbox: Any) -> None:
    """Beyond max_store_bytes the oldest files go first, even before they expire."""
    base = start_sandbox(max_store_bytes=250_000, sweep_interval_s=0.1) + "/sandbox"
    urls = []
    for index in range(5):
        upload_file = {"file": (f"f{index}.png", PNG + bytes(100_000))}
        answer = client.post(f"{base}/v1/files", files=upload_file, headers=auth())
        urls.append(answer.json()["url"])
        time.sleep(0.05)
    client.get(f"{base}/api/v1/tasks/wake", headers=auth())  # any request starts the sweeper

    def served(url: str) -> bool:
        try:
            return client.get(url).status_code == 200
        except (httpx.RemoteProtocolError, httpx.ReadError):
            # The sweep deleted the file between its lookup and its last byte: it is gone.
            return False

    deadline = time.monotonic() + 5
    while served(urls[2]) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [served(url) for url in urls]
    assert alive == [False, False, False, True, True]
