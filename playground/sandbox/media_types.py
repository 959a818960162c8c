"""What a stored file really is, read from its first bytes.

The file store takes only the media the modes use (the formats of the profile's media limits:
JPEG, PNG, BMP and WebP pictures, MP4 and MOV videos, MP3 and WAV audio in ``wan-2.7``), and
it decides by content. A client's file name and declared content type are never trusted: the
store is served from the playground's own origin, so an HTML or SVG file accepted as "a.png"
would run its scripts there (stored XSS). The type found here is stored beside the file and is
the only Content-Type it is ever served with.

A format a profile names but this module cannot recognise (say a custom profile adds ``gif``)
is not accepted: accepting by name alone is exactly the hole this closes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

# Enough for every signature below (BMP's header size field ends at byte 18, MP4's brand at 12).
HEAD_BYTES = 64
UNKNOWN = "application/octet-stream"

Kind = Literal["image", "video", "audio"]


@dataclass(frozen=True)
class MediaType:
    """A recognised format: its served MIME type, what it is, and its name in profiles."""

    mime: str
    kind: Kind
    format: str
    label: str


JPEG = MediaType("image/jpeg", "image", "jpeg", "JPEG")
PNG = MediaType("image/png", "image", "png", "PNG")
BMP = MediaType("image/bmp", "image", "bmp", "BMP")
WEBP = MediaType("image/webp", "image", "webp", "WebP")
MP4 = MediaType("video/mp4", "video", "mp4", "MP4")
MOV = MediaType("video/quicktime", "video", "mov", "MOV")
MP3 = MediaType("audio/mpeg", "audio", "mp3", "MP3")
WAV = MediaType("audio/wav", "audio", "wav", "WAV")
KNOWN: tuple[MediaType, ...] = (JPEG, PNG, BMP, WEBP, MP4, MOV, MP3, WAV)
# Only these are ever served inline; anything else is a download (see file_routes.py).
PLAYABLE = frozenset(m.mime for m in KNOWN)

_ALIASES = {"jpg": "jpeg", "qt": "mov", "wave": "wav"}
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}  # the DIB header versions
# ISO base media files that are pictures or sound, not video: they share MP4's "ftyp" box.
_NOT_VIDEO_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis",
                     b"M4A ", b"M4B ", b"M4P "}
# Top-level atoms an old QuickTime file (one without "ftyp") may start with.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def canonical(format_name: str) -> str:
    name = format_name.strip().lower().lstrip(".")
    return _ALIASES.get(name, name)


def sniff(head: bytes) -> MediaType | None:
    """The format the first bytes of a file show, or None for anything else (text, HTML, SVG...)."""
    for check in (_image, _riff, _iso_media, _mp3):
        found = check(head)
        if found is not None:
            return found
    return None


def _image(head: bytes) -> MediaType | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"BM") and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return BMP
    return None


def _riff(head: bytes) -> MediaType | None:
    if len(head) < 12 or head[:4] != b"RIFF":
        return None
    return {b"WEBP": WEBP, b"WAVE": WAV}.get(head[8:12])


def _iso_media(head: bytes) -> MediaType | None:
    if len(head) < 12:
        return None
    box = head[4:8]
    if box == b"ftyp":
        brand = head[8:12]
        if brand in _NOT_VIDEO_BRANDS:
            return None
        return MOV if brand == b"qt  " else MP4
    size = int.from_bytes(head[:4], "big")
    if box in _QUICKTIME_ATOMS and (size in (0, 1) or size >= 8):
        return MOV
    return None


def _mp3(head: bytes) -> MediaType | None:
    if head.startswith(b"ID3") and len(head) >= 4 and head[3] in (2, 3, 4):
        return MP3
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    # An MPEG audio frame header: a known version, layer III, a real bitrate and sample rate.
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    if version != 1 and layer == 1 and bitrate not in (0, 15) and rate != 3:
        return MP3
    return None


def accepted(formats: Iterable[str]) -> tuple[MediaType, ...]:
    """The recognisable formats among a profile's format names."""
    wanted = {canonical(f) for f in formats}
    return tuple(m for m in KNOWN if m.format in wanted)


def describe(types: Iterable[MediaType]) -> str:
    """``JPEG, PNG pictures; MP4 videos; WAV audio``, for messages."""
    nouns = {"image": "pictures", "video": "videos", "audio": "audio"}
    groups: dict[Kind, list[str]] = {}
    for media in types:
        groups.setdefault(media.kind, []).append(media.label)
    return "; ".join(f"{', '.join(labels)} {nouns[kind]}" for kind, labels in groups.items()) or "nothing"
