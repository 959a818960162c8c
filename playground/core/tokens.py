"""Reference tokens: how a reference-to-video prompt names its inputs.

``Image 1``, ``Image 2``, ... name the request's ``reference_image`` items and ``Video 1``, ...
its ``reference_video`` items, each kind numbered separately from 1 in ``media`` order (so
``Image 1`` and ``Video 1`` can both appear). Chinese prompts write ``图1`` / ``视频1``.
A ``first_frame`` is not a reference and has no token. Sources: the Wan 2.7 reference-to-video
pages of Alibaba Model Studio and of the gateways that document it ("Image 1", "Video 1" match
the order of the assets within each type; 图1 / 视频1 in Chinese).

Video edit takes reference images too; there ``Image n`` names its n-th ``reference_image``
and ``Video 1`` the source ``video``. Text-to-video and image-to-video take no references.

:func:`find_tokens` also accepts ``image 2``, ``Image2``, ``@Image2``, ``图片2`` and full-width
digits. Pure: regular expressions only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from playground.core.profile import MediaType, Mode
from playground.core.request import VideoRequest, media_of
from playground.core.shots import ShotList

TokenKind = Literal["image", "video"]
KINDS: tuple[TokenKind, ...] = ("image", "video")

# Which media type each token kind names, per mode. A mode missing here takes no references.
TOKEN_TYPES: dict[Mode, dict[TokenKind, MediaType]] = {
    "reference-to-video": {"image": "reference_image", "video": "reference_video"},
    "video-edit": {"image": "reference_image", "video": "video"},
}
# Modes where every attached reference should be named by the prompt (a reference never named
# is a character that may not appear). Video edit's reference images guide a look instead.
MUST_NAME: dict[Mode, tuple[MediaType, ...]] = {"reference-to-video": ("reference_image", "reference_video")}

_TOKEN = re.compile(
    r"(?:(?<![A-Za-z0-9])(?P<en>(?i:image|video))[ \t]?|(?P<zh>图片|图|视频)[ \t]?)(?P<number>\d{1,3})(?!\d)"
)
_KIND: dict[str, TokenKind] = {"image": "image", "video": "video", "图": "image", "图片": "image", "视频": "video"}
_WORDS: dict[TokenKind, tuple[str, str]] = {"image": ("Image ", "图"), "video": ("Video ", "视频")}


def label(kind: TokenKind, number: int, language: Literal["en", "zh"] = "en") -> str:
    """How a prompt names one reference: ``Image 2``, or ``图2`` in Chinese."""
    english, chinese = _WORDS[kind]
    return f"{english}{number}" if language == "en" else f"{chinese}{number}"


@dataclass(frozen=True)
class Token:
    """One reference token found in a prompt: its kind, number and character span."""

    kind: TokenKind
    number: int
    span: tuple[int, int]
    language: Literal["en", "zh"] = "en"

    @property
    def label(self) -> str:
        """The canonical English name, ``Image 2``, whatever the spelling in the prompt."""
        return label(self.kind, self.number)


def find_tokens(prompt: str) -> list[Token]:
    """Every reference token of a prompt, in the order written."""
    found = []
    for match in _TOKEN.finditer(prompt):
        english = match.group("en")
        kind = _KIND[(english or match.group("zh")).lower()]
        language: Literal["en", "zh"] = "en" if english is not None else "zh"
        found.append(Token(kind, int(match.group("number")), match.span(), language))
    return found


def targets(mode: Mode, media_types: Sequence[str]) -> dict[TokenKind, list[int]]:
    """For each token kind, the ``media`` indexes it can name: ``Image n`` is ``[...][n - 1]``."""
    named = TOKEN_TYPES.get(mode, {})
    return {kind: [i for i, t in enumerate(media_types) if t == named.get(kind)] for kind in KINDS}


def media_labels(mode: Mode, media_types: Sequence[str], language: Literal["en", "zh"] = "en") -> list[str | None]:
    """Per ``media`` item, the token that names it (``Image 2``), or None for items no token names."""
    labels: list[str | None] = [None] * len(media_types)
    for kind, indexes in targets(mode, media_types).items():
        for number, index in enumerate(indexes, 1):
            labels[index] = label(kind, number, language)
    return labels


@dataclass(frozen=True)
class Resolved:
    """A token and the ``media`` index it names, or None when there is no such item."""

    token: Token
    media_index: int | None


def resolve(prompt: str, mode: Mode, media_types: Sequence[str]) -> list[Resolved]:
    """Each token of the prompt with the media item it points to."""
    places = targets(mode, media_types)
    resolved = []
    for token in find_tokens(prompt):
        indexes = places[token.kind]
        index = indexes[token.number - 1] if 1 <= token.number <= len(indexes) else None
        resolved.append(Resolved(token, index))
    return resolved


def unnamed(prompt: str, mode: Mode, media_types: Sequence[str]) -> list[int]:
    """The ``media`` indexes of references the mode wants named that no token of the prompt names."""
    must = MUST_NAME.get(mode, ())
    named = {r.media_index for r in resolve(prompt, mode, media_types)}
    return [i for i, t in enumerate(media_types) if t in must and i not in named]


def request_media_types(request: VideoRequest) -> list[str]:
    """The request's media types in order, as the functions here take them."""
    return [item.type for item in media_of(request)]


def shot_media(shot_list: ShotList, mode: Mode, media_types: Sequence[str]) -> list[list[int]]:
    """Per shot, the ``media`` indexes its text names (each once, in first-named order).

    What a rehearsal shows during a shot: the references that shot says appear in it.
    """
    per_shot = []
    for shot in shot_list.shots:
        indexes = [r.media_index for r in resolve(shot.text, mode, media_types) if r.media_index is not None]
        per_shot.append(list(dict.fromkeys(indexes)))
    return per_shot
