"""Form values and requests map both ways without loss (what "Load into form" relies on)."""

from __future__ import annotations

from typing import Any

import pytest

from playground.core.profile import load_profile
from playground.ui.forms import field_names, form_from_request, request_from_form
from playground.ui.preview import build_preview

WAN = load_profile()
REQUESTS: list[dict[str, Any]] = [
    {
        "mode": "text-to-video",
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
    {
        "mode": "image-to-video",
        "prompt": "p",
        "duration": 8,
        "resolution": "1080P",
        "prompt_extend": True,
        "watermark": False,
        "media": [
            {"type": "first_frame", "url": "https://e.com/f.png"},
            {"type": "last_frame", "url": "https://e.com/l.png"},
            {"type": "driving_audio", "url": "https://e.com/d.wav"},
        ],
    },
    {
        "mode": "reference-to-video",
        "prompt": "Image 1 meets Video 1",
        "duration": 10,
        "aspect_ratio": "1:1",
        "resolution": "720P",
        "prompt_extend": True,
        "watermark": False,
        "media": [
            {"type": "reference_image", "url": "https://e.com/r1.png"},
            {"type": "reference_image", "url": "https://e.com/r2.png"},
            {"type": "reference_video", "url": "https://e.com/r.mp4", "reference_voice": "https://e.com/v.wav"},
        ],
    },
    {
        "mode": "video-edit",
        "prompt": "snow",
        "duration": 0,
        "audio_setting": "origin",
        "resolution": "720P",
        "prompt_extend": True,
        "watermark": False,
        "media": [
            {"type": "video", "url": "https://e.com/s.mp4"},
            {"type": "reference_image", "url": "https://e.com/r.png"},
        ],
    },
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r["mode"])
def test_request_to_form_and_back(request_: dict[str, Any]) -> None:
    """Every field, media included, survives request -> form -> request."""
    values = form_from_request(request_)
    assert set(field_names(request_["mode"])) <= set(values)
    assert request_from_form(request_["mode"], values) == request_


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r["mode"])
def test_form_preview_is_valid_in_both_formats(request_: dict[str, Any]) -> None:
    """The preview built from the form is the valid wire body in either format."""
    values = form_from_request(request_)
    for fmt in ("gateway", "dashscope"):
        shown = build_preview(request_["mode"], values, fmt, WAN)
        assert shown.ok, shown.lines()


def test_random_seed_leaves_the_seed_out() -> None:
    values = form_from_request({"mode": "text-to-video", "prompt": "p"})
    assert values["random_seed"] is True
    assert "seed" not in request_from_form("text-to-video", values)
