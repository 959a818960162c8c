"""Ready-made prompts for the two conventions that live in the prompt text: timed shots and
reference tokens, one multi-shot example per mode that cuts shots, and a reference-to-video
example naming two characters by their tokens.

Pure data in the shape of :mod:`playground.ui.examples`: form fields, and the sample files each
form slot needs, described by :class:`SampleSpec` (the UI's ``Sample`` takes the same
arguments and makes the file). Every prompt is in canonical form (``write(parse(p)) == p``) and
validates without a finding under both built-in profiles (6 or 10 s, 720P, 16:9 or 9:16).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playground.core.profile import Mode


@dataclass(frozen=True)
class SampleSpec:
    """A sample file to make: a picture (width, height) or a clip (width, height, seconds)."""

    name: str
    width: int
    height: int
    seconds: float | None = None
    seed: int = 0


@dataclass(frozen=True)
class PromptExample:
    label: str
    fields: dict[str, Any]
    media: dict[str, tuple[SampleSpec, ...]] = field(default_factory=dict)  # form slot -> files


# The same files as playground.ui.examples (same names and seeds), plus a second character.
PORTRAIT = SampleSpec("portrait.png", 720, 960, seed=3)
CHARACTER = SampleSpec("character.png", 640, 640, seed=11)
SECOND_CHARACTER = SampleSpec("character-2.png", 640, 640, seed=13)
CLIP = SampleSpec("clip.mp4", 640, 360, seconds=3.0, seed=5)

# Modes whose prompts may cut shots (Alibaba's guide: multi-shot narrative in wan2.7 t2v, i2v, r2v).
MULTI_SHOT_MODES: tuple[Mode, ...] = ("text-to-video", "image-to-video", "reference-to-video")

PROMPT_EXAMPLES: dict[Mode, tuple[PromptExample, ...]] = {
    "text-to-video": (
        PromptExample(
            "Multi-shot: three timed shots",
            {
                "prompt": "A lighthouse on a rocky coast at dusk, cinematic, soft sea mist.\n"
                "Shot 1 [0-4s] Wide shot: waves break below the cliff as the sky turns orange.\n"
                "Shot 2 [4-7s] Close-up: the great lamp begins to turn, glass glinting.\n"
                "Shot 3 [7-10s] Aerial shot: the beam sweeps across the dark sea.",
                "duration": 10,
                "resolution": "720P",
                "aspect_ratio": "16:9",
            },
        ),
        PromptExample(
            "多镜头：雨夜街头（中文）",
            {
                "prompt": "雨夜的城市街头，霓虹灯倒映在积水中，电影感。\n"
                "镜头1 [0-3秒] 全景：行人撑伞走过十字路口。\n"
                "镜头2 [3-6秒] 中景：一只橘猫躲在报亭檐下。\n"
                "镜头3 [6-10秒] 特写：猫抬起头，雨滴从胡须上滑落。",
                "duration": 10,
                "resolution": "720P",
                "aspect_ratio": "16:9",
            },
        ),
    ),
    "image-to-video": (
        PromptExample(
            "Multi-shot from a portrait",
            {
                "prompt": "The person in the picture, natural window light, calm mood.\n"
                "Shot 1 [0-2s] Medium shot: the person looks out of the window.\n"
                "Shot 2 [2-4s] Close-up: they turn towards the camera.\n"
                "Shot 3 [4-6s] Close-up: a slow smile.",
                "duration": 6,
                "resolution": "720P",
            },
            {"first_frame": (PORTRAIT,)},
        ),
    ),
    "reference-to-video": (
        PromptExample(
            "Multi-shot: a character and a reference video",
            {
                "prompt": "A rooftop at sunset, the city skyline behind, handheld camera.\n"
                "Shot 1 [0-2s] Wide shot: Image 1 steps onto the rooftop.\n"
                "Shot 2 [2-4s] Medium shot: the dancer from Video 1 joins and mirrors the moves.\n"
                "Shot 3 [4-6s] Close-up: Image 1 and Video 1 finish the routine and bow.",
                "duration": 6,
                "resolution": "720P",
                "aspect_ratio": "16:9",
            },
            {"reference_images": (CHARACTER,), "reference_videos": (CLIP,)},
        ),
        PromptExample(
            "Two characters by their tokens",
            {
                "prompt": "Two friends meet at a night market, warm lantern light.\n"
                "Shot 1 [0-4s] Wide shot: Image 1 walks between the food stalls, looking around.\n"
                "Shot 2 [4-7s] Medium shot: Image 2 waves from a noodle stand and calls out.\n"
                "Shot 3 [7-10s] Close-up: Image 1 and Image 2 laugh and share a bowl of noodles.",
                "duration": 10,
                "resolution": "720P",
                "aspect_ratio": "16:9",
            },
            {"reference_images": (CHARACTER, SECOND_CHARACTER)},
        ),
    ),
    "video-edit": (),
}


def labels(mode: Mode) -> list[str]:
    return [example.label for example in PROMPT_EXAMPLES[mode]]


def find(mode: Mode, label: str) -> PromptExample | None:
    return next((e for e in PROMPT_EXAMPLES[mode] if e.label == label), None)
