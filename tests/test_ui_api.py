"""Every named Gradio endpoint, called the way a script would: through gradio_client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from playground.media.samples import make_audio, make_image, make_video

pytestmark = pytest.mark.slow

CONNECTION = ["sandbox", "dashscope", "", "none"]
COMMON = [None, 5, "720P"]  # negative prompt, duration, resolution
SWITCHES = [42, True, True, False]  # seed, random seed, prompt extend, watermark


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    return {
        "image": make_image(folder / "a.png", 480, 480),
        "video": make_video(folder / "a.mp4", 320, 240, 2.0),
        "audio": make_audio(folder / "a.wav", 3.0),
    }


def test_every_endpoint_is_named(ui_client: Client) -> None:
    """The README's endpoint list is what the server offers."""
    names = set(ui_client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    for name in names - {"/new_session"}:
        assert f"`{name}`" in readme, f"{name} is not documented in the README"


@pytest.mark.parametrize(
    ("api", "args", "model"),
    [
        ("/preview_text_to_video", ["p", *COMMON, "16:9", *SWITCHES, ""], "wan2.7-t2v"),
        ("/preview_image_to_video", ["p", *COMMON, *SWITCHES, "https://e.com/f.png", "", "", ""], "wan2.7-i2v"),
        (
            "/preview_reference_to_video",
            ["Image 1", *COMMON, "1:1", *SWITCHES, "https://e.com/r.png", "", "", ""],  # names its reference
            "wan2.7-r2v",
        ),
        (
            "/preview_video_edit",
            ["p", *COMMON, "keep source", *SWITCHES, "auto", "https://e.com/v.mp4", ""],
            "wan2.7-videoedit",
        ),
    ],
)
def test_preview_endpoints(ui_client: Client, api: str, args: list[Any], model: str) -> None:
    """Preview returns the exact DashScope body and a valid verdict for a valid form.

    As for DashScope, which fetches public URLs; the sandbox flags them (it reads only its own files).
    """
    body, verdict, counter = ui_client.predict("dashscope", "dashscope", *args, api_name=api)
    assert json.loads(body)["model"] == model
    assert "Valid request" in verdict
    assert f"{len(args[0])} / 5000" in counter


def test_preview_in_gateway_format(ui_client: Client) -> None:
    body, _, _ = ui_client.predict(
        "sandbox", "gateway", "p", *COMMON, "16:9", *SWITCHES, "", api_name="/preview_text_to_video"
    )
    assert json.loads(body) == {
        "model": "wan-2-7-video",
        "mode": "text-to-video",
        "input": {
            "prompt": "p",
            "duration": 5,
            "resolution": "720P",
            "aspect_ratio": "16:9",
            "prompt_extend": True,
            "watermark": False,
        },
    }


ATTACH = [
    ("/attach_text_to_video_audio_url", "audio"),
    ("/attach_image_to_video_first_frame", "image"),
    ("/attach_image_to_video_last_frame", "image"),
    ("/attach_image_to_video_first_clip", "video"),
    ("/attach_image_to_video_driving_audio", "audio"),
    ("/attach_reference_to_video_reference_images", "image"),
    ("/attach_reference_to_video_reference_videos", "video"),
    ("/attach_reference_to_video_reference_voice", "audio"),
    ("/attach_reference_to_video_first_frame", "image"),
    ("/attach_video_edit_video", "video"),
    ("/attach_video_edit_reference_images", "image"),
]


@pytest.mark.parametrize(("api", "kind"), ATTACH)
def test_attach_endpoints_store_the_file(ui_client: Client, media: dict[str, Path], api: str, kind: str) -> None:
    """An attached file is probed and uploaded as the request's format uploads it: DashScope's
    temporary upload (an oss:// URL bound to this key and the mode's model, as the real service
    gives), and for the gateway format the sandbox's file store (a plain URL)."""
    upload = handle_file(str(media[kind]))
    files = [upload] if "reference_images" in api or "reference_videos" in api else upload
    url, cleared = ui_client.predict(files, "", *CONNECTION, api_name=api)
    assert url.startswith("oss://dashscope-instant/"), url
    assert cleared is None
    url, _ = ui_client.predict(files, "", "sandbox", "gateway", "", "none", api_name=api)
    assert url.startswith("http://127.0.0.1:") and "/sandbox/files/" in url


def test_attach_refuses_a_file_that_lies(ui_client: Client, tmp_path: Path) -> None:
    """Text named .png is probed, found out and not attached; the URL box keeps its value."""
    liar = tmp_path / "liar.png"
    liar.write_text("this is not a picture")
    url, _ = ui_client.predict(
        handle_file(str(liar)), "https://kept.example/a.png", *CONNECTION, api_name="/attach_image_to_video_first_frame"
    )
    assert url == "https://kept.example/a.png"


def test_attach_refuses_the_wrong_type(ui_client: Client, media: dict[str, Path]) -> None:
    """An audio file offered as a first frame is refused before the handler runs."""
    with pytest.raises(AppError, match="Invalid file type"):
        ui_client.predict(handle_file(str(media["audio"])), "", *CONNECTION,
                          api_name="/attach_image_to_video_first_frame")


def test_duration_range_follows_reference_video(ui_client: Client) -> None:
    """The box says the new range; a value outside it is kept as typed (the preview names it)."""
    update = ui_client.predict("https://e.com/v.mp4", 12, api_name="/duration_range_reference_to_video")
    assert update["info"].startswith("2-10 seconds") and "value" not in update
    update = ui_client.predict("", 8, api_name="/duration_range_reference_to_video")
    assert update["info"].startswith("2-15 seconds") and "value" not in update


def test_key_and_provider_endpoints_never_echo_the_key(ui_client: Client) -> None:
    """Setting a key answers with a note that does not contain any of it."""
    note = ui_client.predict("sk-canary-0123456789", "dashscope", api_name="/set_api_key")
    assert "canary" not in note and "0123456789" not in note and "browser tab" in note
    wire, note = ui_client.predict("gateway", api_name="/set_provider")
    assert wire["value"] == "gateway" and "canary" not in note


def _send(ui_client: Client, api: str, args: list[Any]) -> tuple[Any, ...]:
    result: tuple[Any, ...] = ui_client.predict(*CONNECTION, *args, api_name=api)
    return result


def test_send_endpoints_run_each_mode(ui_client: Client, media: dict[str, Path]) -> None:
    """Each mode's send runs to a downloaded video through the API alone."""
    (image,) = ui_client.predict(
        [handle_file(str(media["image"]))], "", *CONNECTION, api_name="/attach_reference_to_video_reference_images"
    )[:1]
    (video,) = ui_client.predict(handle_file(str(media["video"])), "", *CONNECTION,
                                 api_name="/attach_video_edit_video")[:1]
    runs = {
        "/send_text_to_video": ["A city", *COMMON, "16:9", *SWITCHES, ""],
        "/send_image_to_video": ["", *COMMON, *SWITCHES, image, "", "", ""],
        "/send_reference_to_video": ["Image 1 waves", *COMMON, "16:9", *SWITCHES, image, "", "", ""],
        "/send_video_edit": ["snow", None, 0, "720P", "keep source", *SWITCHES, "auto", video, ""],
    }
    for api, args in runs.items():
        status, guidance, video_out, measured, response = _send(ui_client, api, args)
        assert 'data-state="succeeded"' in status, (api, status, guidance)
        assert Path(video_out["video"] if isinstance(video_out, dict) and "video" in video_out else video_out).exists()
        assert "Measured output" in measured and json.loads(response)


def test_invalid_form_is_not_sent(ui_client: Client) -> None:
    """Send with a broken form: the guidance lists the field, nothing reaches the provider."""
    status, guidance, video, _, _ = _send(
        ui_client, "/send_reference_to_video", ["", *COMMON, "16:9", *SWITCHES, "", "", "", ""]
    )
    assert 'data-state="invalid"' in status and video is None
    assert "input.prompt" in guidance and "input.media" in guidance


def test_cancel_endpoints_answer(ui_client: Client) -> None:
    """Cancel with nothing running is harmless."""
    for mode in ("text_to_video", "image_to_video", "reference_to_video", "video_edit"):
        assert ui_client.predict(api_name=f"/cancel_{mode}") in (None, ())


@pytest.mark.parametrize("mode", ["text_to_video", "image_to_video", "reference_to_video", "video_edit"])
def test_every_example_loads_and_validates(ui_client: Client, mode: str) -> None:
    """Each example fills the form (its sample media attached) with a request the preview calls valid."""
    from playground.core.profile import MODES
    from playground.ui.examples import labels

    full = next(m for m in MODES if m.replace("-", "_") == mode)
    for label in labels(full):
        values = ui_client.predict(label, *CONNECTION, api_name=f"/example_{mode}")
        body, verdict, _ = ui_client.predict("sandbox", "dashscope", *values, api_name=f"/preview_{mode}")
        assert "Valid request" in verdict, (label, verdict)
        assert json.loads(body)["model"].startswith("wan2.7-")
    first = labels("text-to-video")[0]
    assert first == "Guide page: minimal request"
