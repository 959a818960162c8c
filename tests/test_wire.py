"""Both wire formats come from the one request model and read back into it without loss."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from playground.core.profile import load_profile
from playground.core.schema import request_schema
from playground.core.wire import detect_format, parse, path_of, to_dashscope, to_gateway

WAN = load_profile()
GUIDE_MINIMAL = {
    "model": "wan-2-7-video",
    "mode": "text-to-video",
    "input": {"prompt": "A cinematic city sunrise with soft fog and moving traffic.", "duration": 5},
}
FULL: dict[str, dict[str, Any]] = {
    "text-to-video": {
        "prompt": "p",
        "negative_prompt": "n",
        "duration": 7,
        "resolution": "720P",
        "aspect_ratio": "9:16",
        "seed": 7,
        "prompt_extend": False,
        "watermark": True,
        "audio_url": "https://e.com/a.mp3",
    },
    "image-to-video": {
        "prompt": "p",
        "duration": 8,
        "resolution": "1080P",
        "seed": 1,
        "media": [
            {"type": "first_frame", "url": "https://e.com/f.png"},
            {"type": "last_frame", "url": "https://e.com/l.png"},
            {"type": "driving_audio", "url": "https://e.com/d.wav"},
        ],
    },
    "reference-to-video": {
        "prompt": "Image 1 meets Video 1",
        "duration": 10,
        "aspect_ratio": "1:1",
        "media": [
            {"type": "reference_image", "url": "https://e.com/r.png"},
            {"type": "reference_video", "url": "https://e.com/r.mp4", "reference_voice": "https://e.com/v.wav"},
        ],
    },
    "video-edit": {
        "prompt": "make it snow",
        "duration": 0,
        "audio_setting": "origin",
        "aspect_ratio": "4:3",
        "media": [
            {"type": "video", "url": "https://e.com/s.mp4"},
            {"type": "reference_image", "url": "https://e.com/r.png"},
        ],
    },
}


def test_guide_minimal_request_validates_unchanged() -> None:
    """The guide page's own minimal request is valid and normalises to itself."""
    parsed = parse(copy.deepcopy(GUIDE_MINIMAL), WAN)
    assert parsed.ok and parsed.format == "gateway"
    assert parsed.request is not None
    assert to_gateway(parsed.request, WAN) == GUIDE_MINIMAL


@pytest.mark.parametrize("mode", list(FULL))
def test_round_trip_gateway_dashscope_gateway(mode: str) -> None:
    """gateway -> model -> DashScope -> model -> gateway loses nothing, media included."""
    body = {"model": "wan-2-7-video", "mode": mode, "input": FULL[mode]}
    first = parse(body, WAN)
    assert first.ok, first.lines()
    assert first.request is not None
    native = to_dashscope(first.request, WAN)
    assert detect_format(native, WAN) == "dashscope"
    second = parse(json.loads(json.dumps(native)), WAN)
    assert second.ok and second.format == "dashscope", second.lines()
    assert second.request == first.request
    assert second.request is not None
    assert to_gateway(second.request, WAN) == body


def test_dashscope_split_matches_the_docs() -> None:
    """Prompt and media go in input; resolution, ratio, duration and switches in parameters."""
    parsed = parse({"model": "wan-2-7-video", "mode": "text-to-video", "input": FULL["text-to-video"]}, WAN)
    assert parsed.request is not None
    native = to_dashscope(parsed.request, WAN)
    assert native["model"] == "wan2.7-t2v"
    assert set(native["input"]) == {"prompt", "negative_prompt", "audio_url"}
    assert native["parameters"] == {
        "resolution": "720P",
        "ratio": "9:16",
        "duration": 7,
        "prompt_extend": False,
        "watermark": True,
        "seed": 7,
    }


@pytest.mark.parametrize(
    ("mode", "model"),
    [
        ("text-to-video", "wan2.7-t2v"),
        ("image-to-video", "wan2.7-i2v"),
        ("reference-to-video", "wan2.7-r2v"),
        ("video-edit", "wan2.7-videoedit"),
    ],
)
def test_model_id_per_mode(mode: str, model: str) -> None:
    """Each mode maps to its DashScope model id."""
    parsed = parse({"model": "wan-2-7-video", "mode": mode, "input": FULL[mode]}, WAN)
    assert parsed.request is not None
    assert to_dashscope(parsed.request, WAN)["model"] == model


def test_snapshot_model_id_is_kept() -> None:
    """A dated snapshot id survives DashScope -> model -> DashScope."""
    body = {"model": "wan2.7-t2v-2026-06-12", "input": {"prompt": "p"}, "parameters": {"duration": 5}}
    parsed = parse(body, WAN)
    assert parsed.ok and parsed.request is not None
    assert to_dashscope(parsed.request, WAN) == body


def test_paths_follow_the_format() -> None:
    """The same field has a different JSON path in each format."""
    assert path_of("gateway", ("aspect_ratio",)) == "input.aspect_ratio"
    assert path_of("dashscope", ("aspect_ratio",)) == "parameters.ratio"
    assert path_of("dashscope", ("media", 2, "url")) == "input.media[2].url"
    assert path_of("gateway", ("model_id",)) == "model"


@pytest.mark.parametrize("fmt", ["gateway", "dashscope"])
def test_schema_carries_profile_limits(fmt: str) -> None:
    """The printed JSON Schema holds the profile's choices, so it cannot disagree with validate."""
    schema = request_schema(WAN, fmt, "reference-to-video")  # type: ignore[arg-type]
    text = json.dumps(schema)
    assert '"1080P"' in text and "2147483647" in text and "reference_video" in text
    guide = json.dumps(request_schema(load_profile("guide-page"), fmt, "text-to-video"))  # type: ignore[arg-type]
    assert '"enum": [6, 10]' in guide and "1080P" not in guide


def test_profile_file_of_ones_own(tmp_path: Path) -> None:
    """A user profile can extend a built-in one and change a single limit."""
    path = tmp_path / "short.json"
    path.write_text(
        json.dumps(
            {
                "extends": "wan-2.7",
                "name": "short",
                "modes": {"text-to-video": {"duration": {"min": 2, "max": 4, "default": 3}}},
            }
        )
    )
    profile = load_profile(str(path))
    body = {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p", "duration": 5}}
    assert parse(body, WAN).ok
    lines = parse(body, profile).lines()
    assert lines == ["input.duration: 5 is above 4, the maximum for text-to-video; use 2-4"]
