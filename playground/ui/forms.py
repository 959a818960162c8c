"""What each mode's form holds, and how form values become a request (no Gradio here).

The form is described as data so the Gradio layer only lays it out, and the mapping from
form values to the request model can be tested without a browser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from playground.core.profile import MediaType, Mode, Profile

TAB_LABELS: dict[Mode, str] = {
    "text-to-video": "Text-to-Video",
    "image-to-video": "Image-to-Video",
    "reference-to-video": "Reference-to-Video",
    "video-edit": "Video Edit",
}
KEEP_SOURCE_RATIO = "keep source"
DEFAULT_SEED = 42  # shown in the seed box; sent only when "Random seed" is off
# The choice of an optional field that means "not set: the API's own default applies". The
# field is then left out of the request, so a request imported without it previews without it.
API_DEFAULT = "default"
SWITCH_DEFAULTS = {"prompt_extend": True, "watermark": False}  # what the API does when they are left out
AUDIO_SETTINGS = ("auto", "origin")


@dataclass(frozen=True)
class MediaSlot:
    """One place in a form that takes a file or URL(s) and becomes media items."""

    name: str  # form field name, also the api parameter name
    label: str
    media_type: MediaType | Literal["audio_url", "reference_voice"]
    kind: Literal["image", "video", "audio"]
    multiple: bool = False
    info: str = ""


_SLOTS: dict[Mode, tuple[MediaSlot, ...]] = {
    "text-to-video": (
        MediaSlot(
            "audio_url",
            "Soundtrack (optional)",
            "audio_url",
            "audio",
            info="WAV/MP3; without it the model makes its own sound",
        ),
    ),
    "image-to-video": (
        MediaSlot("first_frame", "First frame", "first_frame", "image"),
        MediaSlot("last_frame", "Last frame (optional)", "last_frame", "image"),
        MediaSlot("first_clip", "First clip (instead of a first frame)", "first_clip", "video"),
        MediaSlot("driving_audio", "Driving audio (optional)", "driving_audio", "audio", info="lip-sync or rhythm"),
    ),
    "reference-to-video": (
        MediaSlot(
            "reference_images",
            "Reference images",
            "reference_image",
            "image",
            multiple=True,
            info="Image 1, Image 2... in the prompt",
        ),
        MediaSlot(
            "reference_videos",
            "Reference videos",
            "reference_video",
            "video",
            multiple=True,
            info="Video 1, Video 2... in the prompt",
        ),
        MediaSlot("reference_voice", "Voice for Video 1 (optional)", "reference_voice", "audio"),
        MediaSlot("first_frame", "First frame (optional)", "first_frame", "image"),
    ),
    "video-edit": (
        MediaSlot("video", "Source video", "video", "video"),
        MediaSlot("reference_images", "Reference images (optional)", "reference_image", "image", multiple=True),
    ),
}


def slots(mode: Mode) -> tuple[MediaSlot, ...]:
    return _SLOTS[mode]


def field_names(mode: Mode) -> list[str]:
    """The order in which a mode's form values reach the handlers (and the API endpoints)."""
    names = ["prompt", "negative_prompt", "duration", "resolution"]
    if mode != "image-to-video":
        names.append("aspect_ratio")
    names += ["seed", "random_seed", "prompt_extend", "watermark"]
    if mode == "video-edit":
        names.append("audio_setting")
    names += [slot.name for slot in _SLOTS[mode]]
    # Last, so callers that pass the fields before it by position keep working.
    names.append("model_id")
    return names


def ratio_choices(mode: Mode, profile: Profile) -> list[str | tuple[str, str]]:
    """The ratios, after the choice that leaves the field out (video edit: keep the source's)."""
    choices: list[str | tuple[str, str]] = list(profile.aspect_ratios)
    if mode == "video-edit":
        return [(f"{KEEP_SOURCE_RATIO} (API default)", KEEP_SOURCE_RATIO), *choices]
    return [(f"API default ({profile.default_aspect_ratio})", API_DEFAULT), *choices]


def resolution_choices(profile: Profile) -> list[str | tuple[str, str]]:
    return [(f"API default ({profile.default_resolution})", API_DEFAULT), *profile.resolutions]


def switch_choices(name: str) -> list[tuple[str, str | bool]]:
    """A switch the request may leave out: the API's default, on, or off."""
    default = "on" if SWITCH_DEFAULTS[name] else "off"
    return [(f"API default ({default})", API_DEFAULT), ("on", True), ("off", False)]


def model_choices(mode: Mode, profile: Profile) -> list[tuple[str, str]]:
    """The DashScope model id: the mode's alias (left out of the request), or a dated snapshot."""
    alias, *dated = profile.mode(mode).dashscope_models
    return [(f"{alias} (the alias: latest snapshot)", API_DEFAULT), *((d, d) for d in dated)]


def audio_setting_choices() -> list[tuple[str, str]]:
    return [("API default (auto)", API_DEFAULT), *((a, a) for a in AUDIO_SETTINGS)]


def _given(value: Any) -> bool:
    """Whether a form value says something (not empty, not "the API's default")."""
    return value is not None and value != "" and value != API_DEFAULT


def _urls(value: Any) -> list[str]:
    """URLs from a text field: one per line, blanks skipped."""
    if value is None:
        return []
    text = value if isinstance(value, str) else "\n".join(str(v) for v in value)
    return [line.strip() for line in text.splitlines() if line.strip()]


def request_from_form(mode: Mode, values: Mapping[str, Any]) -> dict[str, Any]:
    """A request-model dict from form values; empty fields are left out as the API expects."""
    data: dict[str, Any] = {"mode": mode}
    for name in ("prompt", "negative_prompt"):
        if values.get(name):
            data[name] = values[name]
    if _given(values.get("duration")):
        data["duration"] = int(values["duration"])
    if _given(values.get("resolution")):
        data["resolution"] = values["resolution"]
    ratio = values.get("aspect_ratio")
    if _given(ratio) and ratio != KEEP_SOURCE_RATIO:
        data["aspect_ratio"] = ratio
    if not values.get("random_seed", True) and values.get("seed") is not None:
        data["seed"] = int(values["seed"])
    for name in ("prompt_extend", "watermark"):
        # On, off, or left out (the API's default): a request without the switch stays without it.
        if isinstance(values.get(name), bool):
            data[name] = values[name]
    if mode == "video-edit" and _given(values.get("audio_setting")):
        data["audio_setting"] = values["audio_setting"]
    if _given(values.get("model_id")):
        data["model_id"] = values["model_id"]
    media: list[dict[str, str]] = []
    voice = _urls(values.get("reference_voice"))
    for slot in _SLOTS[mode]:
        urls = _urls(values.get(slot.name))
        if slot.media_type == "audio_url":
            if urls:
                data["audio_url"] = urls[0]
        elif slot.media_type != "reference_voice":
            media += [{"type": slot.media_type, "url": url} for url in urls]
    if voice:
        first_video = next((m for m in media if m["type"] == "reference_video"), None)
        if first_video is not None:
            first_video["reference_voice"] = voice[0]
    if media:
        data["media"] = media
    return data


def form_from_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """Form values that reproduce a request-model dict (the inverse of request_from_form).

    A field the request leaves out is shown as its "API default" choice (an empty duration box),
    never as a value, so the form sends back exactly what it was given.
    """
    mode: Mode = request["mode"]
    values: dict[str, Any] = {name: request.get(name) for name in ("prompt", "negative_prompt", "duration")}
    values["resolution"] = request.get("resolution", API_DEFAULT)
    values["aspect_ratio"] = request.get("aspect_ratio", KEEP_SOURCE_RATIO if mode == "video-edit" else API_DEFAULT)
    values["random_seed"] = request.get("seed") is None
    values["seed"] = request.get("seed", DEFAULT_SEED)
    values["prompt_extend"] = request.get("prompt_extend", API_DEFAULT)
    values["watermark"] = request.get("watermark", API_DEFAULT)
    values["audio_setting"] = request.get("audio_setting", API_DEFAULT)
    values["model_id"] = request.get("model_id", API_DEFAULT)
    media: Sequence[Mapping[str, Any]] = request.get("media", ())
    for slot in _SLOTS[mode]:
        if slot.media_type == "audio_url":
            values[slot.name] = request.get("audio_url", "")
        elif slot.media_type == "reference_voice":
            values[slot.name] = next((m["reference_voice"] for m in media if m.get("reference_voice")), "")
        else:
            values[slot.name] = "\n".join(m["url"] for m in media if m["type"] == slot.media_type)
    return values
