"""The request model: one pydantic model per mode, joined in a union discriminated by ``mode``.

The models hold structure and types only. Limits that a profile can change (durations,
resolutions, ratios, media counts) are checked by :mod:`playground.core.rules`, so the same
request can be judged against the documented limits or a stricter profile.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, TypeAdapter

from playground.core.profile import MediaType, Mode


class _Strict(BaseModel):
    # Strict: "5" is not a duration and 1 is not a bool; the API would refuse both.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class MediaItem(_Strict):
    """One media input: a picture, clip or sound, by URL."""

    type: MediaType
    url: StrictStr
    reference_voice: StrictStr | None = None


class _Common(_Strict):
    prompt: StrictStr | None = None
    negative_prompt: StrictStr | None = None
    duration: StrictInt | None = None
    resolution: StrictStr | None = None
    seed: StrictInt | None = None
    prompt_extend: StrictBool | None = None
    watermark: StrictBool | None = None
    # A dated DashScope snapshot id (wan2.7-t2v-2026-06-12); None means the mode's alias.
    model_id: StrictStr | None = None


class TextToVideo(_Common):
    """Text-to-video: a prompt, optionally a soundtrack."""

    mode: Literal["text-to-video"] = "text-to-video"
    aspect_ratio: StrictStr | None = None
    audio_url: StrictStr | None = None


class ImageToVideo(_Common):
    """Image-to-video: a first frame or first clip, optionally a last frame and driving audio."""

    mode: Literal["image-to-video"] = "image-to-video"
    media: tuple[MediaItem, ...] = Field(default=(), strict=False)  # a JSON list


class ReferenceToVideo(_Common):
    """Reference-to-video: characters from reference images or videos, placed by the prompt."""

    mode: Literal["reference-to-video"] = "reference-to-video"
    aspect_ratio: StrictStr | None = None
    media: tuple[MediaItem, ...] = Field(default=(), strict=False)  # a JSON list


class VideoEdit(_Common):
    """Video edit: one source video, restyled by the prompt and up to four reference images."""

    mode: Literal["video-edit"] = "video-edit"
    aspect_ratio: StrictStr | None = None
    media: tuple[MediaItem, ...] = Field(default=(), strict=False)  # a JSON list
    audio_setting: Literal["auto", "origin"] | None = None


VideoRequest = Annotated[TextToVideo | ImageToVideo | ReferenceToVideo | VideoEdit, Field(discriminator="mode")]
REQUEST_ADAPTER: TypeAdapter[VideoRequest] = TypeAdapter(VideoRequest)

MODEL_FOR_MODE: dict[Mode, type[_Common]] = {
    "text-to-video": TextToVideo,
    "image-to-video": ImageToVideo,
    "reference-to-video": ReferenceToVideo,
    "video-edit": VideoEdit,
}


def fields_of(mode: Mode) -> frozenset[str]:
    """The request fields a mode accepts (besides ``mode`` itself)."""
    return frozenset(MODEL_FOR_MODE[mode].model_fields) - {"mode"}


def media_of(request: VideoRequest) -> tuple[MediaItem, ...]:
    """The request's media items; text-to-video has none."""
    return getattr(request, "media", ())
