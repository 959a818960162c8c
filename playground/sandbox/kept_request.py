"""What the sandbox keeps of a task's request, in memory and in its records.

* Prompts are cut to the documented lengths when the task is created, as the real API keeps
  them ("the API drops the rest"): the cut text is what is stored, drawn and echoed.
* Media sent inline as ``data:`` URIs are needed only to render. Once a task has ended, each is
  replaced by a short stand-in naming its type and size. Without that, every finished task held
  its inline media (up to the JSON body limit, megabytes) for its whole time to live (a day by
  default), so anyone with a sandbox key could grow the server's memory and its task records
  without bound by sending one request after another. What is echoed (the prompt) and what
  describes the task (mode, resolution, duration, shots) does not change.
"""

from __future__ import annotations

from playground.core.profile import Profile
from playground.core.request import MediaItem, VideoRequest, media_of

INLINE = "data:"


def clip_prompts(request: VideoRequest, profile: Profile) -> VideoRequest:
    """The request with its prompts cut to the documented lengths, as the real API keeps them."""
    cuts = {
        name: text[:limit]
        for name, limit in (("prompt", profile.prompt_max_chars),
                            ("negative_prompt", profile.negative_prompt_max_chars))
        if isinstance(text := getattr(request, name, None), str) and len(text) > limit
    }
    return request.model_copy(update=cuts) if cuts else request


def stand_in(url: str) -> str:
    """A short text in place of an inline ``data:`` URI: its media type and its size."""
    if not url.startswith(INLINE):
        return url
    media_type = url[len(INLINE):].split(",", 1)[0].split(";", 1)[0][:80]
    return f"data:{media_type};dropped-after-the-task-ended={len(url)}-chars,"


def drop_inline_media(request: VideoRequest) -> VideoRequest:
    """The request with every ``data:`` URI (media items, their reference voices, the
    soundtrack) replaced by its :func:`stand_in`; the same object when it has none."""
    changes: dict[str, object] = {}
    audio = getattr(request, "audio_url", None)
    if isinstance(audio, str) and audio.startswith(INLINE):
        changes["audio_url"] = stand_in(audio)
    media = media_of(request)
    if any(_inline(item) for item in media):
        changes["media"] = tuple(_item_without_inline(item) for item in media)
    return request.model_copy(update=changes) if changes else request


def _inline(item: MediaItem) -> bool:
    return item.url.startswith(INLINE) or (item.reference_voice or "").startswith(INLINE)


def _item_without_inline(item: MediaItem) -> MediaItem:
    if not _inline(item):
        return item
    voice = stand_in(item.reference_voice) if item.reference_voice else None
    return item.model_copy(update={"url": stand_in(item.url), "reference_voice": voice})
