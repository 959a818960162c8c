"""The plain names of the profile: the four modes, the media types and one media kind's limits.

Kept apart from profile.py, and free of pydantic, because the render processes need these
names and nothing else of the profile: importing profile.py builds every pydantic model at
import (about 0.09 s of CPU), which each render-process start would pay for nothing
(``python -m benchmarks bench_render`` reports the start's CPU). profile.py re-exports all of
them, so callers that already import the profile keep importing them from there.

:class:`MediaLimit` is a frozen stdlib dataclass rather than a pydantic model: pydantic still
validates it as a field of :class:`~playground.core.profile.Profile` (types checked, unknown
keys refused via ``__pydantic_config__``), and a render job pickles it without pydantic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

Mode = Literal["text-to-video", "image-to-video", "reference-to-video", "video-edit"]
MODES: tuple[Mode, ...] = ("text-to-video", "image-to-video", "reference-to-video", "video-edit")
MediaType = Literal[
    "first_frame",
    "last_frame",
    "driving_audio",
    "first_clip",
    "reference_image",
    "reference_video",
    "video",
]


@dataclass(frozen=True)
class MediaLimit:
    """Limits of one kind of media item, checked on files before anything is sent."""

    # Read by pydantic when a Profile is validated: a profile file's typo in a limit's key is
    # refused, as every other part of the profile refuses one (a plain dict: no pydantic import).
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    kind: Literal["image", "audio", "video"]
    formats: tuple[str, ...]
    max_bytes: int
    min_side: int | None = None
    max_side: int | None = None
    max_aspect: float | None = None
    min_seconds: float | None = None
    max_seconds: float | None = None
    # False where the documentation says "PNG (no alpha)" (reference images, S3/S4): a picture
    # with transparency is refused before it is uploaded, not after the task has queued.
    allows_alpha: bool = True
