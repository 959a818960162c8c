"""What one run looks like as a showcase slide: its caption and its "before" media, as plain data.

A slide is a JSON-able dict, the one shape the showcase page, the share page and the offline
deck all render (:mod:`playground.core.showcase_page`)::

    {"mode", "title", "prompt", "facts": [[label, value], ...], "video": url | None,
     "video_note": str | None, "sync": bool,
     "before": [{"kind": "image" | "video" | "audio", "label", "url": url | None, "sync": bool,
                 "note": str | None}]}

Only the parameters a viewer cares about go in the caption: no ids, keys, hosts or paths. The
caller decides every URL (a signed server link, or a file name inside a deck) and passes None
for an input it does not hold, with the reason in words. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from playground.core.profile import MODES, Mode
from playground.core.tokens import media_labels

MediaKind = Literal["image", "video", "audio"]

# What each media type is and is called beside the result. A reference's token (Image 1,
# Video 2) comes first where the mode's prompt can name it: that is how the prompt refers to it.
KIND_OF: dict[str, MediaKind] = {
    "first_frame": "image", "last_frame": "image", "reference_image": "image",
    "first_clip": "video", "reference_video": "video", "video": "video",
    "driving_audio": "audio",
}
LABEL_OF: dict[str, str] = {
    "first_frame": "First frame", "last_frame": "Last frame", "first_clip": "First clip",
    "driving_audio": "Driving audio", "reference_image": "Reference image",
    "reference_video": "Reference video", "video": "Input video",
}
SOUNDTRACK = "Soundtrack"  # text-to-video's audio_url, which is not in ``media``
# Where an input lives decides whether a deck or a page can show it; said in words.
NOT_HELD = "not shown: this input is at an address the server does not hold a copy of"
EXPIRED = "not shown: the server no longer holds this input (uploads expire)"


@dataclass(frozen=True)
class Input:
    """One "before" input of a request: where it is in the request, and how it is shown."""

    index: int  # its place in ``media`` (-1 for text-to-video's audio_url)
    media_type: str
    kind: MediaKind
    label: str
    url: str  # as the request named it; the caller maps it to something servable or to None


def inputs_of(request: Mapping[str, Any]) -> list[Input]:
    """The inputs a request's result can be shown beside, in request order."""
    mode = request.get("mode")
    found: list[Input] = []
    media = [m for m in request.get("media") or () if isinstance(m, Mapping)]
    types = [str(m.get("type", "")) for m in media]
    tokens = media_labels(cast(Mode, mode), types) if mode in MODES else [None] * len(types)
    for index, (item, media_type, token) in enumerate(zip(media, types, tokens, strict=True)):
        kind = KIND_OF.get(media_type)
        url = item.get("url")
        if kind is None or not isinstance(url, str):
            continue
        name = LABEL_OF[media_type]
        found.append(Input(index, media_type, kind, f"{token} · {name}" if token else name, url))
    audio = request.get("audio_url")
    if isinstance(audio, str) and audio:
        found.append(Input(-1, "audio_url", "audio", SOUNDTRACK, audio))
    return found


def _seconds(value: Any) -> str:
    return f"{value} s" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _yes_no(value: Any) -> str:
    return "on" if value is True else "off" if value is False else str(value)


# The parameters that matter to a viewer, in the order shown; None-valued ones are left out.
_FACTS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("duration", "Duration", _seconds),
    ("resolution", "Resolution", str),
    ("aspect_ratio", "Aspect ratio", str),
    ("seed", "Seed", str),
    ("audio_setting", "Audio", str),
    ("prompt_extend", "Prompt rewriting", _yes_no),
    ("negative_prompt", "Negative prompt", str),
)


KEPT_SOURCE = "same as the source"


def facts_of(request: Mapping[str, Any], *, measured: Mapping[str, str] | None = None,
             cost: str | None = None, keep_source: int | None = None) -> list[list[str]]:
    """Caption lines ``[label, value]``: the request's parameters, what was measured, the cost.

    ``keep_source`` is the profile's duration that means "keep the source's length" (edit: 0).
    """
    lines = [[label, show(request[key])] for key, label, show in _FACTS
             if request.get(key) not in (None, "")]
    if keep_source is not None and request.get("duration") == keep_source:
        lines = [[label, KEPT_SOURCE if label == "Duration" else value] for label, value in lines]
    lines += [[label, value] for label, value in (measured or {}).items() if value]
    if cost:
        lines.append(["Cost", cost])
    return lines


def slide(request: Mapping[str, Any], *, title: str, video_url: str | None, video_note: str | None = None,
          before_urls: Sequence[str | None] = (), before_notes: Sequence[str | None] = (),
          measured: Mapping[str, str] | None = None, cost: str | None = None,
          keep_source: int | None = None) -> dict[str, Any]:
    """One slide; ``before_urls[i]`` / ``before_notes[i]`` belong to ``inputs_of(request)[i]``."""
    inputs = inputs_of(request)
    mode = str(request.get("mode", ""))
    before = []
    for i, item in enumerate(inputs):
        url = before_urls[i] if i < len(before_urls) else None
        note = before_notes[i] if i < len(before_notes) else None
        # Video edit's source and result are the same scene: they play side by side, in step.
        sync = bool(url) and mode == "video-edit" and item.media_type == "video" and video_url is not None
        before.append({"kind": item.kind, "label": item.label, "url": url, "sync": sync,
                       "note": None if url else (note or NOT_HELD)})
    return {
        "mode": mode,
        "title": title,
        "prompt": str(request.get("prompt") or ""),
        "facts": facts_of(request, measured=measured, cost=cost, keep_source=keep_source),
        "video": video_url,
        "video_note": None if video_url else (video_note or "This run has no video to show."),
        "sync": any(b["sync"] for b in before),
        "before": before,
    }


def measured_of(media: Mapping[str, Any] | None) -> dict[str, str]:
    """What was measured of the result file (its ``media_json``), as caption lines."""
    if not media:
        return {}
    out: dict[str, str] = {}
    width, height, seconds = media.get("width"), media.get("height"), media.get("duration_s")
    if isinstance(width, int) and isinstance(height, int):
        out["Output"] = f"{width}×{height}"
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        out["Length"] = f"{seconds:.1f} s"
    return out
