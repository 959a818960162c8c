"""The one presenting page: slides from requests (captions, before media, tokens) and the HTML
they render to (escaped, self-contained, nonce-marked)."""

from __future__ import annotations

import re

from playground.core.showcase_page import render
from playground.core.showcase_slides import NOT_HELD, inputs_of, measured_of, slide

EVIL = '<img src=x onerror="alert(1)">'


def test_inputs_carry_their_tokens_and_kinds() -> None:
    r2v = {"mode": "reference-to-video", "prompt": "Image 2 meets Video 1", "media": [
        {"type": "reference_image", "url": "u1"}, {"type": "reference_video", "url": "u2"},
        {"type": "reference_image", "url": "u3"}]}
    assert [(i.kind, i.label) for i in inputs_of(r2v)] == [
        ("image", "Image 1 · Reference image"), ("video", "Video 1 · Reference video"),
        ("image", "Image 2 · Reference image")]
    i2v = {"mode": "image-to-video", "media": [{"type": "first_frame", "url": "a"}, {"type": "last_frame", "url": "b"}]}
    assert [i.label for i in inputs_of(i2v)] == ["First frame", "Last frame"]
    edit = {"mode": "video-edit", "media": [{"type": "reference_image", "url": "r"}, {"type": "video", "url": "v"}]}
    assert [i.label for i in inputs_of(edit)] == ["Image 1 · Reference image", "Video 1 · Input video"]
    assert inputs_of({"mode": "text-to-video", "audio_url": "https://e.com/a.mp3"})[0].kind == "audio"


def test_video_edit_syncs_only_when_the_source_is_held() -> None:
    edit = {"mode": "video-edit", "prompt": "snow", "duration": 0,
            "media": [{"type": "reference_image", "url": "r"}, {"type": "video", "url": "v"}]}
    held = slide(edit, title="Video Edit", video_url="/m/out", before_urls=[None, "/m/in"], keep_source=0)
    assert held["sync"] and [b["sync"] for b in held["before"]] == [False, True]
    assert held["before"][0]["note"] == NOT_HELD
    assert ["Duration", "same as the source"] in held["facts"]
    missing = slide(edit, title="Video Edit", video_url="/m/out", before_urls=[None, None])
    assert not missing["sync"]


def test_caption_has_the_parameters_that_matter_and_nothing_else() -> None:
    request = {"mode": "text-to-video", "prompt": "p", "duration": 5, "resolution": "720P", "aspect_ratio": "16:9",
               "seed": 7, "watermark": False, "model_id": "wan2.7-t2v-2026"}
    shown = slide(request, title="Text-to-Video", video_url=None, measured=measured_of(
        {"width": 1280, "height": 720, "duration_s": 5.04}), cost="USD 0.50")
    assert shown["facts"] == [["Duration", "5 s"], ["Resolution", "720P"], ["Aspect ratio", "16:9"], ["Seed", "7"],
                              ["Output", "1280×720"], ["Length", "5.0 s"], ["Cost", "USD 0.50"]]
    assert shown["video_note"]


def test_every_text_is_escaped_and_the_page_is_self_contained() -> None:
    request = {"mode": "image-to-video", "prompt": EVIL, "resolution": EVIL,
               "media": [{"type": "first_frame", "url": "x"}]}
    shown = slide(request, title=EVIL, video_url='/media/a"onload="x', before_urls=['/in/"><script>'])
    page = render([shown, shown], title=EVIL, nonce="n0nce")
    assert EVIL not in page and "<script>" not in page.replace('<script nonce="n0nce">', "")
    assert '"onload="' not in page
    assert page.count('<script nonce="n0nce">') == 1 and page.count('<style nonce="n0nce">') == 1
    # Nothing from elsewhere: no external script, style, font or absolute URL.
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "@import" not in page and "url(" not in page
    assert 'data-count="2"' in page and page.count('class="slide"') == 2
    assert page.count(" hidden>") >= 2, "only the first slide shows until the script moves"


def test_empty_page_says_how_to_fill_it() -> None:
    page = render([], title="Showcase")
    assert "star a run" in page and "<script" not in page
