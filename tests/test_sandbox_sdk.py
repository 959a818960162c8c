"""The official dashscope SDK, pointed at the sandbox, works for all four modes end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dashscope
import httpx
import pytest
from dashscope import VideoSynthesis

from playground.media.probe import MediaInfo, probe
from tests.fixtures_sandbox import KEY, SampleMedia, download


@pytest.fixture
def sdk(sandbox_base: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[VideoSynthesis]]:
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{sandbox_base}/api/v1")
    yield VideoSynthesis


def fetch_video(response: Any, tmp_path: Path) -> MediaInfo:
    assert response.status_code == 200, (response.code, response.message)
    assert response.output.task_status == "SUCCEEDED", response.output
    with httpx.Client(timeout=30) as client:
        return probe(download(client, response.output.video_url, tmp_path / "out.mp4"))


def assert_playable(info: MediaInfo, width: int, height: int, seconds: float) -> None:
    assert (info.kind, info.codec, info.pix_fmt) == ("video", "h264", "yuv420p")
    assert (info.width, info.height) == (width, height)
    assert info.fps == 30
    assert info.frames == round(seconds * 30)
    assert info.duration_s == pytest.approx(seconds, abs=0.04)


def test_text_to_video_call_gives_documented_720p_geometry(sdk: type[VideoSynthesis], tmp_path: Path) -> None:
    """call() waits for the task; the video is 720x1280 for 9:16 at 720P, 2 s at 30 fps."""
    response = sdk.call(model="wan2.7-t2v", prompt="a paper boat on a rainy street", resolution="720P",
                        ratio="9:16", duration=2, seed=7, prompt_extend=False, api_key=KEY)
    assert_playable(fetch_video(response, tmp_path), 720, 1280, 2)
    usage = response.usage
    assert (usage.SR, usage.ratio, usage.video_count) == (720, "9:16", 1)
    assert (usage.duration, usage.input_video_duration, usage.output_video_duration) == (2, 0, 2)
    assert response.output.orig_prompt == "a paper boat on a rainy street"
    assert response.output.end_time >= response.output.scheduled_time >= response.output.submit_time


def test_image_to_video_uploads_local_files_like_the_real_service(
    sdk: type[VideoSynthesis], sandbox_media: SampleMedia, tmp_path: Path
) -> None:
    """Local paths go through getPolicy, the form upload and oss:// keys; the output follows the frame."""
    media = [
        {"type": "first_frame", "url": str(sandbox_media.files["tall"])},
        {"type": "last_frame", "url": f"file://{sandbox_media.files['last']}"},
    ]
    response = sdk.call(model="wan2.7-i2v", prompt="the picture comes alive", media=media,
                        resolution="720P", duration=3, seed=1, api_key=KEY)
    assert_playable(fetch_video(response, tmp_path), 720, 1280, 3)
    assert (response.usage.SR, response.usage.input_video_duration, response.usage.output_video_duration) == (720, 0, 3)


def test_reference_to_video_async_call_fetch_and_wait(
    sdk: type[VideoSynthesis], sandbox_media: SampleMedia, tmp_path: Path
) -> None:
    """async_call answers PENDING at once; fetch reads the task; wait returns it finished."""
    media = [
        {"type": "reference_image", "url": sandbox_media.urls["ref_a"]},
        {"type": "reference_video", "url": sandbox_media.urls["clip"]},
    ]
    created = sdk.async_call(model="wan2.7-r2v", prompt="Image 1 dances with Video 1", media=media,
                             resolution="720P", ratio="1:1", duration=2, api_key=KEY)
    assert created.status_code == 200, created.message
    assert created.output.task_status == "PENDING"
    assert created.request_id
    fetched = sdk.fetch(created, api_key=KEY)
    assert fetched.output.task_id == created.output.task_id
    assert fetched.output.task_status in ("PENDING", "RUNNING", "SUCCEEDED")
    done = sdk.wait(created, api_key=KEY)
    assert_playable(fetch_video(done, tmp_path), 960, 960, 2)
    usage = done.usage
    assert (usage.ratio, usage.output_video_duration, usage.input_video_duration) == ("1:1", 2, 2.5)
    assert usage.duration == 4.5  # R2V bills the reference video too


def test_video_edit_keeps_the_source_length_and_aspect(
    sdk: type[VideoSynthesis], sandbox_media: SampleMedia, tmp_path: Path
) -> None:
    """Edit with duration 0 (the default) keeps the 2 s source; no ratio keeps its 9:16 shape."""
    media = [
        {"type": "video", "url": sandbox_media.urls["portrait"]},
        {"type": "reference_image", "url": sandbox_media.urls["ref_b"]},
    ]
    response = sdk.call(model="wan2.7-videoedit", prompt="make it autumn", media=media,
                        resolution="720P", audio_setting="origin", api_key=KEY)
    assert_playable(fetch_video(response, tmp_path), 720, 1280, 2)
    usage = response.usage
    assert (usage.input_video_duration, usage.output_video_duration, usage.duration) == (2, 2, 4)


def test_cancel_stops_a_pending_task_only(sdk: type[VideoSynthesis]) -> None:
    """cancel() works while PENDING; the task then reads CANCELED and cannot be cancelled again."""
    created = sdk.async_call(model="wan2.7-t2v", prompt="never rendered", resolution="720P", duration=2,
                             api_key=KEY, headers={"X-Sandbox-Scenario": "slow"})
    assert created.output.task_status == "PENDING"
    canceled = sdk.cancel(created, api_key=KEY)
    assert canceled.status_code == 200, canceled.message
    assert sdk.fetch(created, api_key=KEY).output.task_status == "CANCELED"
    again = sdk.cancel(created, api_key=KEY)
    assert (again.status_code, again.code) == (400, "UnsupportedOperation")
    assert "PENDING" in again.message


def test_sdk_reads_refusals_with_their_codes(sdk: type[VideoSynthesis]) -> None:
    """The SDK sees the documented codes: it reads them only from application/json bodies."""
    refused = sdk.async_call(model="wan2.7-t2v", prompt="x", duration=20, api_key=KEY)
    assert (refused.status_code, refused.code) == (400, "InvalidParameter")
    assert "parameters.duration: 20 is above 15" in refused.message
    bad_key = sdk.async_call(model="wan2.7-t2v", prompt="x", api_key="sk-invalid-123")
    assert (bad_key.status_code, bad_key.code) == (401, "InvalidApiKey")
    unknown_model = sdk.async_call(model="wan9-t2v", prompt="x", api_key=KEY)
    assert (unknown_model.status_code, unknown_model.code) == (400, "InvalidParameter")
    assert unknown_model.message.startswith("Model not exist.")
    with pytest.raises(Exception, match="task create failed"):
        sdk.call(model="wan2.7-t2v", prompt="", api_key=KEY)


def test_fetch_of_an_unknown_task_reads_unknown(sdk: type[VideoSynthesis]) -> None:
    """An id the sandbox never issued is UNKNOWN (200), as documented, and wait() stops on it."""
    assert sdk.fetch("0385dc79-5ff8-4d82-bcb6-000000000000", api_key=KEY).output.task_status == "UNKNOWN"
    assert sdk.wait("no-such-task", api_key=KEY).output.task_status == "UNKNOWN"
