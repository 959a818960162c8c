"""Ready-made requests per mode, the guide page's minimal request first.

An example names its media as sample files the playground makes on first use (a picture, a clip),
so media examples work with no network: they are attached like an upload would be. After each
mode's own examples come the prompt-craft ones of :mod:`playground.core.prompt_examples`: a
multi-shot prompt per mode that cuts shots, and two characters named by their tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.core.profile import Mode
from playground.core.prompt_examples import PROMPT_EXAMPLES, PromptExample, SampleSpec
from playground.media.samples import make_image, make_video


@dataclass(frozen=True)
class Sample:
    """A sample file: a picture (width, height) or a clip (width, height, seconds)."""

    name: str
    width: int
    height: int
    seconds: float | None = None
    seed: int = 0

    def make(self, folder: Path) -> Path:
        path = folder / self.name
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / f".{self.name}.part{path.suffix}"
            if self.seconds is None:
                make_image(part, self.width, self.height, self.seed)
            else:
                make_video(part, self.width, self.height, self.seconds, seed=self.seed)
            part.replace(path)
        return path


@dataclass(frozen=True)
class Example:
    label: str
    fields: dict[str, Any]
    media: dict[str, tuple[Sample, ...]] = field(default_factory=dict)  # form slot -> files


PORTRAIT = Sample("portrait.png", 720, 960, seed=3)
SUNSET = Sample("sunset.png", 960, 540, seed=7)
CHARACTER = Sample("character.png", 640, 640, seed=11)
CLIP = Sample("clip.mp4", 640, 360, seconds=3.0, seed=5)

_OWN: dict[Mode, tuple[Example, ...]] = {
    "text-to-video": (
        Example(
            "Guide page: minimal request",
            {"prompt": "A cinematic city sunrise with soft fog and moving traffic.", "duration": 5},
        ),
        Example(
            "Multi-shot story, 1080P",
            {
                "prompt": "Shot 1 [0-3s] A lighthouse on a cliff at dusk, waves below. "
                "Shot 2 [3-6s] Close-up of the lamp starting to turn. Shot 3 [6-8s] The beam sweeps the sea.",
                "duration": 8,
                "resolution": "1080P",
                "aspect_ratio": "16:9",
            },
        ),
        Example(
            "Vertical clip for social",
            {
                "prompt": "A paper boat drifting down a rainy street gutter, macro, shallow depth of field.",
                "negative_prompt": "blurry, text, watermark",
                "duration": 6,
                "resolution": "720P",
                "aspect_ratio": "9:16",
            },
        ),
    ),
    "image-to-video": (
        Example(
            "Bring a portrait to life",
            {"prompt": "The person turns to the camera and smiles.", "duration": 5, "resolution": "720P"},
            {"first_frame": (PORTRAIT,)},
        ),
        Example(
            "From a first to a last frame",
            {"prompt": "A slow dolly between the two moments.", "duration": 6, "resolution": "720P"},
            {"first_frame": (SUNSET,), "last_frame": (Sample("sunset-late.png", 960, 540, seed=8),)},
        ),
    ),
    "reference-to-video": (
        Example(
            "One character in a new scene",
            {
                "prompt": "Image 1 waves at the camera in a sunny park.",
                "duration": 5,
                "resolution": "720P",
                "aspect_ratio": "16:9",
            },
            {"reference_images": (CHARACTER,)},
        ),
        Example(
            "A character and a reference video",
            {
                "prompt": "Image 1 dances next to the person in Video 1.",
                "duration": 5,
                "resolution": "720P",
                "aspect_ratio": "1:1",
            },
            {"reference_images": (CHARACTER,), "reference_videos": (CLIP,)},
        ),
    ),
    "video-edit": (
        Example(
            "Restyle a clip",
            {
                "prompt": "Turn the scene into a snowy winter evening.",
                "duration": 0,
                "resolution": "720P",
                "audio_setting": "auto",
            },
            {"video": (CLIP,)},
        ),
        Example(
            "Edit with a reference look",
            {"prompt": "Repaint the clip in the style of the reference image.", "duration": 0, "resolution": "720P"},
            {"video": (CLIP,), "reference_images": (SUNSET,)},
        ),
    ),
}


def _sample(spec: SampleSpec) -> Sample:
    return Sample(spec.name, spec.width, spec.height, spec.seconds, spec.seed)


def _example(example: PromptExample) -> Example:
    media = {slot: tuple(_sample(spec) for spec in specs) for slot, specs in example.media.items()}
    return Example(example.label, dict(example.fields), media)


EXAMPLES: dict[Mode, tuple[Example, ...]] = {
    mode: own + tuple(_example(e) for e in PROMPT_EXAMPLES.get(mode, ())) for mode, own in _OWN.items()
}


def labels(mode: Mode) -> list[str]:
    return [example.label for example in EXAMPLES[mode]]


def find(mode: Mode, label: str) -> Example | None:
    return next((e for e in EXAMPLES[mode] if e.label == label), None)
