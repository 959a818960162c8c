"""The gateway contract: the guide page's request and minimal response, then statuses to the end."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from playground.media.probe import probe
from tests.fixtures_sandbox import SampleMedia, auth, download, wait_gateway

GUIDE_MINIMAL = {
    "model": "wan-2-7-video",
    "mode": "text-to-video",
    "input": {"prompt": "A cinematic city sunrise with soft fog and moving traffic.", "duration": 5},
}
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def create(client: httpx.Client, base: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    answer = client.post(f"{base}/v1/videos/generations", json=body, headers=auth(**headers))
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_minimal_request_gets_the_minimal_response_then_a_1080p_video(
    client: httpx.Client, sandbox_base: str, tmp_path: Path
) -> None:
    """The guide's example: queued at once; completed with the default 1080P 16:9, 5 s video."""
    answer = client.post(f"{sandbox_base}/v1/videos/generations", json=GUIDE_MINIMAL, headers=auth())
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-request-id"]
    created = answer.json()
    assert set(created) == {"task_id", "model", "mode", "status", "created_at"}
    assert (created["model"], created["mode"], created["status"]) == ("wan-2-7-video", "text-to-video", "queued")
    assert re.fullmatch(r"task_[0-9A-HJKMNP-TV-Z]{26}", created["task_id"])
    assert ISO.fullmatch(created["created_at"])

    done = wait_gateway(client, sandbox_base, created["task_id"])
    assert done["status"] == "completed", done
    assert done["progress"] == 100
    assert "error" not in done and "queue_position" not in done
    result = done["result"]
    assert (result["type"], result["width"], result["height"], result["duration"], result["fps"]) == (
        "video", 1920, 1080, 5, 30
    )
    assert isinstance(result["seed"], int)
    lifetime = when(done["expires_at"]) - when(done["completed_at"])
    assert lifetime.total_seconds() == 24 * 3600
    assert when(done["created_at"]) <= when(done["started_at"]) <= when(done["completed_at"])
    info = probe(download(client, result["url"], tmp_path / "out.mp4"))
    assert (info.width, info.height, info.fps, info.frames, info.codec, info.pix_fmt) == (
        1920, 1080, 30, 150, "h264", "yuv420p"
    )


def test_image_to_video_follows_the_first_frame(
    client: httpx.Client, sandbox_base: str, sandbox_media: SampleMedia, tmp_path: Path
) -> None:
    """A wide first frame at 720P gives 1280x720; the first clip mode adds the clip to the output."""
    body = {"model": "wan-2-7-video", "mode": "image-to-video",
            "input": {"resolution": "720P", "duration": 2, "seed": 5,
                      "media": [{"type": "first_frame", "url": sandbox_media.urls["wide"]},
                                {"type": "driving_audio", "url": sandbox_media.urls["tone"]}]}}
    done = wait_gateway(client, sandbox_base, create(client, sandbox_base, body)["task_id"])
    assert done["status"] == "completed", done
    assert (done["result"]["width"], done["result"]["height"], done["result"]["seed"]) == (1280, 720, 5)
    info = probe(download(client, done["result"]["url"], tmp_path / "i2v.mp4"))
    assert (info.width, info.height, info.frames) == (1280, 720, 60)


def test_statuses_run_queued_then_in_progress_then_completed(
    client: httpx.Client, start_sandbox: Any
) -> None:
    """With one worker and real (scaled) delays, later tasks wait with a queue position."""
    # A queue of ~0.9 s: long enough that three creates and three reads on a loaded machine all
    # see the first task still queued (at 0.1 it could already be running).
    base = start_sandbox(delay_scale=0.3, workers=1) + "/sandbox"
    body = {"model": "wan-2-7-video", "mode": "text-to-video",
            "input": {"prompt": "queue", "resolution": "720P", "duration": 2}}
    ids = [create(client, base, body)["task_id"] for _ in range(3)]
    first_look = [client.get(f"{base}/v1/videos/generations/{i}", headers=auth()).json() for i in ids]
    assert [b["status"] for b in first_look] == ["queued"] * 3
    assert [b["queue_position"] for b in first_look] == [0, 1, 2]
    assert all(b["progress"] == 0 for b in first_look)

    seen: list[str] = []
    progress: list[int] = []
    while True:
        answer = client.get(f"{base}/v1/videos/generations/{ids[-1]}", headers=auth())
        body_now = answer.json()
        assert int(answer.headers["x-sandbox-poll-after-ms"]) >= 0
        if not seen or seen[-1] != body_now["status"]:
            seen.append(body_now["status"])
        if body_now["status"] == "in_progress":
            progress.append(body_now["progress"])
            assert "queue_position" not in body_now
        if body_now["status"] in ("completed", "failed"):
            break
        # Not flat out: a polling loop with no pause takes both cores from the (niced) render.
        time.sleep(0.02)
    assert seen == ["queued", "in_progress", "completed"]
    assert progress and all(5 <= p <= 99 for p in progress) and progress == sorted(progress)


def test_unreachable_media_fails_the_task_with_the_url_error(client: httpx.Client, sandbox_base: str) -> None:
    """A URL outside the sandbox's store fails the task (InvalidURL) and says why."""
    body = {"model": "wan-2-7-video", "mode": "image-to-video",
            "input": {"resolution": "720P", "media": [{"type": "first_frame", "url": "https://example.com/a.png"}]}}
    done = wait_gateway(client, sandbox_base, create(client, sandbox_base, body)["task_id"])
    assert done["status"] == "failed"
    assert "result" not in done and "expires_at" not in done
    error = done["error"]
    assert (error["code"], error["param"]) == ("InvalidURL", "input.media[0].url")
    assert "never fetches other URLs" in error["message"]
    assert "POST /sandbox/v1/files" in error["message"]


def test_task_reads_need_the_key_that_created_them(client: httpx.Client, sandbox_base: str) -> None:
    """Another key, an unknown id and a malformed id are refused with the documented bodies."""
    task_id = create(client, sandbox_base, GUIDE_MINIMAL | {"input": {"prompt": "mine", "resolution": "720P",
                                                                        "duration": 2}})["task_id"]
    for key, wanted in (("sk-other", 404), ("sk-test-sandbox", 200)):
        assert client.get(f"{sandbox_base}/v1/videos/generations/{task_id}", headers=auth(key)).status_code == wanted
    missing = client.get(f"{sandbox_base}/v1/videos/generations/task_01J9HA7JPQ9A0Z6JZ3V8M9W6PZ", headers=auth())
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "type": "invalid_request_error", "code": "task_not_found", "param": "task_id",
        "message": missing.json()["error"]["message"],
    }
    malformed = client.get(f"{sandbox_base}/v1/videos/generations/bad$id", headers=auth())
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "invalid_task_id"
    wait_gateway(client, sandbox_base, task_id)


def test_missing_key_is_an_authentication_error(client: httpx.Client, sandbox_base: str) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
        answer = client.post(f"{sandbox_base}/v1/videos/generations", json=GUIDE_MINIMAL, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["type"] == "authentication_error"
        assert answer.json()["error"]["code"] == "invalid_api_key"
