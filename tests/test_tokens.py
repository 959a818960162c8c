"""Reference tokens (Image 1, Video 1, 图1, 视频1): finding them, mapping them to media items, and
the token warnings of the core rules (each fires on a minimal case and not on a correct one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from playground.cli import main
from playground.core.profile import load_profile
from playground.core.shots import parse as parse_shots
from playground.core.tokens import (
    Token,
    find_tokens,
    label,
    media_labels,
    resolve,
    shot_media,
    targets,
    unnamed,
)
from playground.core.wire import parse

WAN = load_profile("wan-2.7")
IMG = "https://e.com/a.png"
VID = "https://e.com/a.mp4"
R2V_TYPES = ["reference_image", "first_frame", "reference_video", "reference_image"]


def test_find_tokens_spellings_and_spans() -> None:
    prompt = "Image 1 meets video2 and @Image3; 图1和视频 2, 图片１ and Image 12"
    tokens = find_tokens(prompt)
    assert [(t.kind, t.number, t.language) for t in tokens] == [
        ("image", 1, "en"),
        ("video", 2, "en"),
        ("image", 3, "en"),
        ("image", 1, "zh"),
        ("video", 2, "zh"),
        ("image", 1, "zh"),
        ("image", 12, "en"),
    ]
    spelled = [prompt[slice(*t.span)] for t in tokens]
    assert spelled == ["Image 1", "video2", "Image3", "图1", "视频 2", "图片１", "Image 12"]
    assert tokens[1].label == "Video 2" and label("video", 2, "zh") == "视频2"


@pytest.mark.parametrize(
    "prompt", ["images 1 and 2", "Image 12345", "an image of a video", "MyImage 1", "Shot 1 [0-3s] 镜头1", ""]
)
def test_not_tokens(prompt: str) -> None:
    assert find_tokens(prompt) == []


def test_tokens_map_to_media_in_order_per_kind() -> None:
    """Images and videos are numbered separately, in media order; a first frame has no token."""
    assert targets("reference-to-video", R2V_TYPES) == {"image": [0, 3], "video": [2]}
    assert media_labels("reference-to-video", R2V_TYPES) == ["Image 1", None, "Video 1", "Image 2"]
    assert media_labels("reference-to-video", R2V_TYPES, "zh") == ["图1", None, "视频1", "图2"]
    assert media_labels("video-edit", ["video", "reference_image"]) == ["Video 1", "Image 1"]
    assert media_labels("text-to-video", []) == []
    assert media_labels("image-to-video", ["first_frame"]) == [None]
    resolved = resolve("Image 2 meets Video 1 and Image 3", "reference-to-video", R2V_TYPES)
    assert [(r.token.label, r.media_index) for r in resolved] == [("Image 2", 3), ("Video 1", 2), ("Image 3", None)]
    assert unnamed("Image 1 and 视频1", "reference-to-video", R2V_TYPES) == [3]
    assert unnamed("Image 2", "video-edit", ["video", "reference_image"]) == []  # edit refs need no name


def test_shot_media_says_which_references_each_shot_shows() -> None:
    shot_list = parse_shots(
        "Overall.\nShot 1 [0-2s] Image 1 walks\nShot 2 [2-4s] Video 1 and Image 2, Image 1\nShot 3 [4-6s]"
    )
    assert shot_media(shot_list, "reference-to-video", R2V_TYPES) == [[0], [2, 3, 0], []]
    assert find_tokens("Shot 1 [0-2s] Image 1")[0] == Token("image", 1, (14, 21))


# --- the token warnings of the core rules --------------------------------------------------------


def body(mode: str, prompt: str, *types: str, **extra: Any) -> dict[str, Any]:
    urls = {"reference_image": IMG, "first_frame": IMG, "reference_video": VID, "video": VID}
    fields: dict[str, Any] = {"prompt": prompt, **extra}
    if types:
        fields["media"] = [{"type": t, "url": urls[t]} for t in types]
    return {"model": "wan-2-7-video", "mode": mode, "input": fields}


def findings(request: dict[str, Any]) -> list[str]:
    parsed = parse(request, WAN)
    assert parsed.ok, parsed.lines()
    assert all(p.severity == "warning" for p in parsed.all_problems())
    return parsed.lines()


WARNINGS = [
    # (id, request, words of the one expected warning)
    (
        "no such image",
        body("reference-to-video", "Image 1 and Image 2 meet Image 3", "reference_image", "reference_image"),
        "Image 3 names no media item: the request has 2 reference_image items; attach 1 more reference_image "
        "item (Image 3 is the third), or name only Image 1-2",
    ),
    (
        "no such video",
        body("reference-to-video", "Image 1 dances with Video 1", "reference_image"),
        "Video 1 names no media item: the request has no reference_video",
    ),
    (
        "no such image, in Chinese",
        body("reference-to-video", "图1和图2在跳舞", "reference_image"),
        "图2 (Image 2) names no media item",
    ),
    (
        "an image never named",
        body("reference-to-video", "Image 1 waves", "reference_image", "reference_image"),
        "never names Image 2, the reference_image at media[1], so it may not appear",
    ),
    (
        "a video never named",
        body("reference-to-video", "Image 1 waves", "reference_image", "first_frame", "reference_video"),
        "never names Video 1, the reference_video at media[2]",
    ),
    (
        "nothing named, in Chinese",
        body("reference-to-video", "图1在公园里", "reference_image", "reference_image"),
        "never names 图2, the reference_image at media[1]",
    ),
    (
        "tokens in text-to-video",
        body("text-to-video", "Image 1 walks with Image 1 and Video 2"),
        "names Image 1, Video 2, but text-to-video takes no reference images or videos",
    ),
    (
        "tokens in image-to-video",
        body("image-to-video", "Image 1 smiles", "first_frame"),
        "but image-to-video takes no reference images or videos",
    ),
    (
        "no such image in video edit",
        body("video-edit", "Paint it like Image 2", "video", "reference_image"),
        "Image 2 names no media item: the request has 1 reference_image item",
    ),
]


@pytest.mark.parametrize(("request_body", "words"), [w[1:] for w in WARNINGS], ids=[w[0] for w in WARNINGS])
def test_each_token_warning_fires_on_a_minimal_case(request_body: dict[str, Any], words: str) -> None:
    lines = findings(request_body)
    assert len(lines) == 1, lines
    assert lines[0].startswith("input.prompt: ") and words in lines[0], lines


CORRECT = [
    body("reference-to-video", "Image 1 meets Image 2", "reference_image", "reference_image"),
    body("reference-to-video", "图1和视频1一起跳舞", "reference_image", "reference_video"),
    body("reference-to-video", "Image 1 waves, then Video 1 bows", "reference_image", "first_frame", "reference_video"),
    body("text-to-video", "A woman looks at an image of a video wall"),
    body("image-to-video", "The person smiles", "first_frame"),
    body("video-edit", "Paint it like Image 1", "video", "reference_image"),
    body("video-edit", "Make it snow", "video", "reference_image"),
]


@pytest.mark.parametrize("request_body", CORRECT)
def test_correct_token_use_has_no_findings(request_body: dict[str, Any]) -> None:
    assert findings(request_body) == []


def test_both_formats_name_the_prompt() -> None:
    """The DashScope body's prompt is at input.prompt too."""
    native = {"model": "wan2.7-r2v", "input": {"prompt": "Image 2", "media": [{"type": "reference_image", "url": IMG}]}}
    lines = parse(native, WAN).lines()
    assert lines and all(line.startswith("input.prompt: ") for line in lines)


def test_validate_prints_token_warnings_and_strict_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r2v.json"
    path.write_text(json.dumps(WARNINGS[0][1]))
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["mode"] == "reference-to-video"
    assert err.startswith("warning: input.prompt: Image 3 names no media item")
    assert main(["validate", str(path), "--strict"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[-1] == "error: 1 warning, and --strict accepts none"
