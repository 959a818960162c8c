"""Every documented request rule, with a passing and a failing example; failures name the field."""

from __future__ import annotations

from typing import Any

import pytest

from playground.core.profile import load_profile
from playground.core.wire import parse

WAN = load_profile("wan-2.7")
GUIDE = load_profile("guide-page")
IMG = "https://example.com/a.png"
VID = "https://example.com/a.mp4"
WAV = "https://example.com/a.wav"


def gw(mode: str, **fields: Any) -> dict[str, Any]:
    return {"model": "wan-2-7-video", "mode": mode, "input": fields}


def media(*types: str) -> list[dict[str, str]]:
    urls = {
        "first_frame": IMG,
        "last_frame": IMG,
        "reference_image": IMG,
        "driving_audio": WAV,
        "first_clip": VID,
        "reference_video": VID,
        "video": VID,
    }
    return [{"type": t, "url": urls[t]} for t in types]


# A reference the prompt never names is a warning, so valid reference requests name theirs.
NAMES_5 = "Image 1, Image 2, Image 3, Image 4 and Image 5"
VALID = [
    pytest.param(gw("text-to-video", prompt="city sunrise", duration=5), id="guide-minimal"),
    pytest.param(
        gw(
            "text-to-video",
            prompt="p",
            duration=2,
            resolution="720P",
            aspect_ratio="3:4",
            seed=0,
            prompt_extend=False,
            watermark=True,
            audio_url=WAV,
            negative_prompt="blur",
        ),
        id="t2v-all-fields",
    ),
    pytest.param(gw("text-to-video", prompt="p", duration=15, seed=2147483647), id="t2v-max"),
    *[
        pytest.param(gw("image-to-video", media=media(*combo), duration=15), id="i2v-" + "+".join(combo))
        for combo in (
            ("first_frame",),
            ("first_frame", "driving_audio"),
            ("first_frame", "last_frame"),
            ("first_frame", "last_frame", "driving_audio"),
            ("first_clip",),
            ("first_clip", "last_frame"),
        )
    ],
    pytest.param(
        gw("reference-to-video", prompt="Image 1 waves", media=media("reference_image"), duration=15),
        id="r2v-image-15s",
    ),
    pytest.param(
        gw("reference-to-video", prompt="Video 1", media=media("reference_video"), duration=10), id="r2v-video-10s"
    ),
    pytest.param(
        gw("reference-to-video", prompt=NAMES_5, media=media(*["reference_image"] * 5, "first_frame")),
        id="r2v-5-refs-and-first-frame",
    ),
    pytest.param(
        gw(
            "reference-to-video",
            prompt="Video 1",
            media=[{"type": "reference_video", "url": VID, "reference_voice": WAV}],
        ),
        id="r2v-voice",
    ),
    pytest.param(gw("video-edit", media=media("video"), duration=0), id="edit-keep-length"),
    pytest.param(
        gw(
            "video-edit",
            prompt="p",
            media=media("video", *["reference_image"] * 4),
            duration=10,
            audio_setting="origin",
            aspect_ratio="1:1",
        ),
        id="edit-4-refs",
    ),
    pytest.param(
        gw(
            "video-edit",
            media=[*media("video"), {"type": "reference_image", "url": "data:image/png;base64,iVBORw0KGgo="}],
        ),
        id="edit-data-uri",
    ),
]


@pytest.mark.parametrize("body", VALID)
def test_valid_requests_pass(body: dict[str, Any]) -> None:
    """A request within every documented limit is valid and has no findings."""
    parsed = parse(body, WAN)
    assert parsed.ok, parsed.lines()
    assert parsed.lines() == []


INVALID = [
    # (body, the JSON path that must be named, words the message must contain)
    (gw("text-to-video", duration=5), "input.prompt", "needs a prompt"),
    (gw("text-to-video", prompt="   "), "input.prompt", "needs a prompt"),
    (gw("text-to-video", prompt="p", duration=16), "input.duration", "above 15"),
    (gw("text-to-video", prompt="p", duration=1), "input.duration", "below 2"),
    (gw("text-to-video", prompt="p", duration="5"), "input.duration", "whole number"),
    (gw("text-to-video", prompt="p", duration=5.5), "input.duration", "whole number"),
    (gw("text-to-video", prompt="p", resolution="480P"), "input.resolution", "not a resolution"),
    (gw("text-to-video", prompt="p", resolution="720p"), "input.resolution", "capital P"),
    (gw("text-to-video", prompt="p", aspect_ratio="21:9"), "input.aspect_ratio", "not an aspect ratio"),
    (gw("text-to-video", prompt="p", seed=-1), "input.seed", "outside 0-2147483647"),
    (gw("text-to-video", prompt="p", seed=2147483648), "input.seed", "outside"),
    (gw("text-to-video", prompt="p", watermark="yes"), "input.watermark", "true or false"),
    (gw("text-to-video", prompt="p", media=media("first_frame")), "input.media", "does not take media"),
    (gw("text-to-video", prompt="p", audio_url="ftp://x/a.wav"), "input.audio_url", "not an http(s) URL"),
    (gw("text-to-video", prompt="p", ratio="16:9"), "input.ratio", "aspect_ratio"),
    (
        gw("image-to-video", media=media("first_frame"), aspect_ratio="16:9"),
        "input.aspect_ratio",
        "does not take aspect_ratio",
    ),
    (gw("image-to-video", duration=5), "input.media", "needs media"),
    (gw("image-to-video", media=media("last_frame")), "input.media", "not an allowed combination"),
    (gw("image-to-video", media=media("first_frame", "first_clip")), "input.media", "not an allowed combination"),
    (gw("image-to-video", media=media("first_clip", "driving_audio")), "input.media", "not an allowed combination"),
    (gw("image-to-video", media=media("first_frame", "first_frame")), "input.media", "more than once"),
    (gw("image-to-video", media=media("reference_image")), "input.media[0].type", "not a image-to-video media type"),
    (
        gw("image-to-video", media=[{"type": "first_frame", "url": "data:image/png;base64,AAAA"}]),
        "input.media[0].url",
        "data: URI is not accepted",
    ),
    (
        gw("image-to-video", media=[{"type": "first_frame", "url": "/tmp/a.png"}]),
        "input.media[0].url",
        "not an http(s) URL",
    ),
    (gw("image-to-video", media=[{"type": "first_frame"}]), "input.media[0].url", "missing"),
    (gw("image-to-video", media=media("first_frame"), duration=16), "input.duration", "above 15"),
    (gw("reference-to-video", media=media("reference_image")), "input.prompt", "needs a prompt"),
    (gw("reference-to-video", prompt="p", media=media("first_frame")), "input.media", "0 reference"),
    (gw("reference-to-video", prompt="p", media=media(*["reference_image"] * 6)), "input.media", "takes 1-5"),
    (
        gw("reference-to-video", prompt="p", media=media("reference_image", "first_frame", "first_frame")),
        "input.media",
        "at most 1",
    ),
    (
        gw("reference-to-video", prompt="p", media=media("reference_video"), duration=12),
        "input.duration",
        "12 is above 10, the maximum for reference-to-video with a reference video; use 2-10",
    ),
    (gw("reference-to-video", prompt="p", media=media("reference_image"), duration=16), "input.duration", "above 15"),
    (
        gw("reference-to-video", prompt="p", media=[{"type": "reference_image", "url": IMG, "reference_voice": WAV}]),
        "input.media[0].reference_voice",
        "only a reference_video",
    ),
    (gw("video-edit", prompt="p"), "input.media", "needs media"),
    (gw("video-edit", media=media("reference_image")), "input.media", "exactly 1 video"),
    (gw("video-edit", media=media("video", "video")), "input.media", "at most 1"),
    (gw("video-edit", media=media("video", *["reference_image"] * 5)), "input.media", "at most 4"),
    (gw("video-edit", media=media("video"), duration=1), "input.duration", "below 2"),
    (gw("video-edit", media=media("video"), duration=11), "input.duration", "above 10"),
    (gw("video-edit", media=media("video"), audio_setting="mute"), "input.audio_setting", "'auto' or 'origin'"),
    (
        gw("video-edit", media=[{"type": "video", "url": "data:video/mp4;base64,AAAA"}]),
        "input.media[0].url",
        "data: URI is not accepted",
    ),
    (
        gw("video-edit", media=[*media("video"), {"type": "reference_image", "url": "data:image/gif;base64,AAAA"}]),
        "input.media[1].url",
        "data:image/png",
    ),
    (
        gw("video-edit", media=[*media("video"), {"type": "reference_image", "url": "data:image/png;base64,***"}]),
        "input.media[1].url",
        "does not decode",
    ),
    ({"model": "gemini_omni", "mode": "text-to-video", "input": {"prompt": "p"}}, "model", "wan-2-7-video"),
    ({"model": "wan-2-7-video", "mode": "text2video", "input": {"prompt": "p"}}, "mode", "text-to-video"),
    ({"model": "wan-2-7-video", "input": {"prompt": "p"}}, "mode", "missing"),
    ({"mode": "text-to-video", "input": {"prompt": "p"}}, "model", "missing"),
    ({"model": "wan-2-7-video", "mode": "text-to-video", "input": "p"}, "input", "must be an object"),
    (
        {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p"}, "extra": 1},
        "extra",
        "unknown field",
    ),
    (
        {"model": "wan2.7-t2v", "input": {"prompt": "p"}, "parameters": {"duration": 20}},
        "parameters.duration",
        "above 15",
    ),
    (
        {"model": "wan2.7-t2v", "input": {"prompt": "p"}, "parameters": {"ratio": "2:1"}},
        "parameters.ratio",
        "not an aspect ratio",
    ),
    (
        {"model": "wan2.7-t2v", "input": {"prompt": "p"}, "parameters": {"aspect_ratio": "16:9"}},
        "parameters.aspect_ratio",
        "did you mean 'ratio'",
    ),
    ({"model": "wan2.8-t2v", "input": {"prompt": "p"}, "parameters": {}}, "model", "not a Wan 2.7 model"),
    (
        {"model": "wan2.7-i2v", "input": {"media": media("first_frame")}, "parameters": {"ratio": "16:9"}},
        "parameters.ratio",
        "does not take aspect_ratio",
    ),
]


@pytest.mark.parametrize(("body", "path", "words"), INVALID, ids=lambda v: v if isinstance(v, str) else None)
def test_invalid_requests_name_the_field(body: dict[str, Any], path: str, words: str) -> None:
    """A rule violation is an error whose line starts with the field's JSON path and explains it."""
    parsed = parse(body, WAN)
    assert not parsed.ok
    matching = [line for line in parsed.lines() if line.startswith(f"{path}: ")]
    assert matching, parsed.lines()
    assert any(words in line for line in matching), matching


def test_long_prompt_warns_but_stays_valid() -> None:
    """The API truncates over-long prompts silently, so the playground warns and keeps the request valid."""
    parsed = parse(gw("text-to-video", prompt="x" * 5001, negative_prompt="n" * 501), WAN)
    assert parsed.ok
    lines = parsed.lines()
    assert any(line.startswith("input.prompt: 5001 characters") for line in lines)
    assert any(line.startswith("input.negative_prompt: 501 characters") for line in lines)
    assert all(p.severity == "warning" for p in parsed.all_problems())


def test_reference_ratio_with_first_frame_warns() -> None:
    """A ratio beside a first frame is ignored by the API, which the playground says."""
    parsed = parse(
        gw("reference-to-video", prompt="p", aspect_ratio="1:1", media=media("reference_image", "first_frame")), WAN
    )
    assert parsed.ok
    assert parsed.lines() and parsed.lines()[0].startswith("input.aspect_ratio: ignored")


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"duration": 6}, True),
        ({"duration": 10}, True),
        ({"duration": 5}, False),
        ({"resolution": "720P"}, True),
        ({"resolution": "1080P"}, False),
        ({"aspect_ratio": "9:16"}, True),
        ({"aspect_ratio": "1:1"}, False),
    ],
)
def test_guide_page_profile_is_stricter(fields: dict[str, Any], ok: bool) -> None:
    """The guide-page profile allows only 6 or 10 s, 720P, and 16:9 or 9:16."""
    parsed = parse(gw("text-to-video", prompt="p", **fields), GUIDE)
    assert parsed.ok is ok, parsed.lines()
    if not ok:
        assert "guide-page" in parsed.lines()[0] or "6 or 10" in parsed.lines()[0]


def test_sdk_extras_and_empty_parameters_are_accepted() -> None:
    """What the official SDK adds (extend_prompt, function, empty parameters) is not an error."""
    body = {
        "model": "wan2.7-t2v",
        "parameters": {},
        "input": {"prompt": "hi", "extend_prompt": True, "function": "video-synthesis"},
    }
    parsed = parse(body, WAN)
    assert parsed.ok and parsed.lines() == []


def test_oss_urls_only_with_the_resolve_header() -> None:
    """oss:// URLs come from the SDK's upload flow and are valid only when the caller says so."""
    from playground.core.rules import CheckOptions

    body = gw("image-to-video", media=[{"type": "first_frame", "url": "oss://bucket/a.png"}])
    assert not parse(body, WAN).ok
    assert parse(body, WAN, options=CheckOptions(allow_oss_urls=True)).ok


@pytest.mark.parametrize("garbage", [None, [], "text", 5, {"input": []}, {"model": 5, "mode": 5, "input": {}}])
def test_garbage_never_raises(garbage: object) -> None:
    """Anything at all gives findings, never an exception."""
    parsed = parse(garbage, WAN)
    assert not parsed.ok
    assert parsed.lines()
