"""What a media file really is, judged from its content, and whether it fits a profile's limits.

File names lie: a text file saved as ``.png`` or an error page saved as ``.mp4`` is reported for
what it holds. Every failure is a ``MediaError`` with one line a person can act on.

Images are sized from their header before any pixel is decoded: a few hundred KB of PNG can
claim 13000x13000 pixels, and decoding that would hold the caller (often the event loop's
thread pool) for a second or more and take hundreds of MB. Such an image is refused unread.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import av.error
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.stream import Stream
from av.video.stream import VideoStream
from PIL import Image

from playground.core.modes import MediaLimit
from playground.core.problems import Loc, Problem

Kind = Literal["image", "video", "audio"]

_IMAGE_FORMATS = {"png", "jpeg", "gif", "webp", "bmp", "tiff"}
# Pillow's names for formats that are a plain image of a family it reports separately.
_PILLOW_ALIASES = {"mpo": "jpeg"}
_SUFFIX_KINDS = {
    "an image": {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"},
    "a video": {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi"},
    "an audio file": {".wav", ".mp3", ".m4a", ".aac", ".ogg", ".flac"},
}
_KIND_WORDS: dict[str, str] = {"image": "an image", "video": "a video", "audio": "an audio file"}
_HEAD_BYTES = 4096
# The sizes a BMP's second header can have; "BM" alone also starts plenty of text files.
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
# Container timestamps are rounded; a clip cut at exactly 2 s may read as 1.9995 s.
_SLACK_S = 0.001
# The most pixels an image may have before it is decoded, whoever calls: 8192x8192, just above
# the largest image a built-in profile allows (8000 px a side). Set here rather than left to
# Pillow's default (about 89 Mpx, with only a warning below twice that), which other code may change.
MAX_IMAGE_PIXELS = 8192 * 8192


class MediaError(ValueError):
    """A file cannot be used as media; the message says what it is and why."""


class OversizeImage(MediaError):
    """An image whose header already breaks the caller's side limit: a limit it breaks, not
    damage, so checks report it like any other limit (``problem`` and ``fix``), unread."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class MediaInfo:
    """The facts about one media file that the limits are checked against."""

    kind: Kind
    format: str
    bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    fps: float | None
    codec: str | None
    frames: int | None
    pix_fmt: str | None
    has_alpha: bool = False

    def summary(self) -> str:
        """One line for people, e.g. 'PNG image, 1280x720, 1.2 MB'."""
        parts = [f"{self.format.upper()} {self.kind}"]
        if self.width and self.height:
            parts.append(f"{self.width}x{self.height}")
        if self.duration_s is not None:
            parts.append(f"{_number(self.duration_s)} s")
        parts.append(human_bytes(self.bytes))
        return ", ".join(parts)


def probe(path: Path, *, max_side: int | None = None) -> MediaInfo:
    """Identify a file by its content and read its size, geometry and length.

    An image with more than :data:`MAX_IMAGE_PIXELS` pixels, or (when ``max_side`` is given) a
    side longer than ``max_side``, is a MediaError read from its header, before any decoding.
    """
    path = Path(path)
    family = identify(path)
    size = path.stat().st_size
    if family in _IMAGE_FORMATS:
        return _probe_image(path, size, max_side)
    return _probe_av(path, family, size)


def image_size(path: Path) -> tuple[int, int]:
    """Width and height of an image as it is displayed (EXIF rotation applied)."""
    info = probe(path)
    if info.kind != "image" or info.width is None or info.height is None:
        raise MediaError(f"{Path(path).name} is not an image: it holds {_KIND_WORDS[info.kind]}")
    return info.width, info.height


def identify(path: Path) -> str:
    """The format a file's content announces ('png', 'mp4', ...); MediaError if none or unreadable."""
    path = Path(path)
    _file_size(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise MediaError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    family = sniff(head)
    if family is None:
        raise MediaError(f"{path.name} is not {_expected(path)}: {_describe_unknown(head)}")
    return family


def is_image_format(family: str) -> bool:
    """Whether a format from identify() is a still picture (read by Pillow, not FFmpeg)."""
    return family in _IMAGE_FORMATS


def sniff(head: bytes) -> str | None:
    """The format the first bytes of a file announce, or None if they match no known format."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"BM") and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    return _sniff_av(head)


def _sniff_av(head: bytes) -> str | None:
    box = head[4:8]
    if box == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if box in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3"):
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync; layer bits 00 mean AAC in an ADTS wrapper instead.
        return "aac" if head[1] & 0x06 == 0 else "mp3"
    return None


def _file_size(path: Path) -> int:
    if not path.exists():
        raise MediaError(f"{path.name} does not exist ({path})")
    if path.is_dir():
        raise MediaError(f"{path.name} is a folder, not a file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes)")
    return size


def _expected(path: Path) -> str:
    suffix = path.suffix.lower()
    return next((words for words, suffixes in _SUFFIX_KINDS.items() if suffix in suffixes), "a media file")


def _describe_unknown(head: bytes) -> str:
    text = _as_text(head)
    if text is None:
        return "its content is not an image, video or audio format the playground can read"
    start = text.lstrip().lower()
    if start.startswith(("<!doctype html", "<html")):
        return "it holds an HTML web page (often an error page saved in place of the file)"
    if "<svg" in start[:512]:
        return "it holds an SVG drawing; convert it to PNG or JPEG"
    if start.startswith(("{", "[")):
        return "it holds JSON text"
    return "it holds text"


def _as_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    # A multi-byte character may be cut at the end of the sample; allow for that.
    for cut in range(4):
        try:
            return head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def _probe_image(path: Path, size: int, max_side: int | None) -> MediaInfo:
    try:
        # Image.open reads only the header; nothing below decodes pixels until load().
        with Image.open(path) as image:
            name = (image.format or "").lower()
            width, height = image.size
            _check_pixels(path, width, height, max_side)
            if image.getexif().get(0x0112) in (5, 6, 7, 8):
                width, height = height, width
            mode = image.mode
            alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
            frames = int(getattr(image, "n_frames", 1))
            # Decode the pixels: a file whose header is fine but whose data was cut off fails here.
            image.load()
    except MediaError:
        raise  # a refusal of ours (a ValueError too), not a damaged file
    except Image.DecompressionBombError:
        # Pillow's own guard, which fires in open() itself for a header of a huge image.
        raise MediaError(
            f"{path.name} has too many pixels to open safely (the limit is {_megapixels(MAX_IMAGE_PIXELS)})"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"{path.name} is a damaged or truncated image ({_reason(exc)})") from None
    return MediaInfo(
        kind="image",
        format=_PILLOW_ALIASES.get(name, name),
        bytes=size,
        width=width,
        height=height,
        duration_s=None,
        fps=None,
        codec=None,
        frames=frames,
        pix_fmt=mode,
        has_alpha=alpha,
    )


def _check_pixels(path: Path, width: int, height: int, max_side: int | None) -> None:
    """MediaError for an image too large to decode, judged from its header's size."""
    if max_side is not None and max(width, height) > max_side:
        raise OversizeImage(
            f"{path.name} is {width}x{height}, over the limit of {max_side} px a side",
            f"scale it down so its longer side is at most {max_side} px (it was not decoded)",
        )
    if width * height > MAX_IMAGE_PIXELS:
        raise MediaError(
            f"{path.name} is {width}x{height} ({_megapixels(width * height)}), over the "
            f"{_megapixels(MAX_IMAGE_PIXELS)} limit on decoded images; scale it down (it was not decoded)"
        )


def _megapixels(pixels: int) -> str:
    return f"{_number(pixels / 1e6, 1)} megapixels"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def open_container(path: Path, what: str) -> Iterator[InputContainer]:
    """Open a file with PyAV, turning FFmpeg's errors into a MediaError naming the file."""
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(f"{path.name} looks like {what} but cannot be read: {_av_reason(exc)}") from None
    with container:
        yield container


def _av_reason(exc: BaseException) -> str:
    text = _reason(exc).lower()
    if "moov atom not found" in text or "end of file" in text or "invalid data" in text:
        return "it is damaged or truncated"
    return _reason(exc)


def _probe_av(path: Path, family: str, size: int) -> MediaInfo:
    if family == "wav":
        _check_wav_length(path, size)
    with open_container(path, f"{family.upper()} data") as container:
        if container.streams.video:
            return _video_info(path, container, family, size)
        if container.streams.audio:
            return _audio_info(path, container, family, size)
    raise MediaError(f"{path.name} holds no video or audio stream; it may be truncated or damaged")


def _check_wav_length(path: Path, size: int) -> None:
    """FFmpeg sizes a WAV from what is on disk, so a cut-off file would pass as a short sound."""
    with path.open("rb") as handle:
        header = handle.read(_HEAD_BYTES)
    offset = 12
    while offset + 8 <= len(header):
        chunk, length = header[offset : offset + 4], int.from_bytes(header[offset + 4 : offset + 8], "little")
        if chunk == b"data":
            # Streaming writers leave 0 or 0xFFFFFFFF here; those promise nothing.
            present = size - offset - 8
            if 0 < length < 0xFFFFFFFF and present < length:
                raise MediaError(f"{path.name} is truncated: it holds {present} of its {length} bytes of sound")
            return
        offset += 8 + length + (length & 1)


def _video_info(path: Path, container: InputContainer, family: str, size: int) -> MediaInfo:
    stream = container.streams.video[0]
    packets, decoded = _walk_packets(path, container, stream)
    if not decoded:
        raise MediaError(f"{path.name} holds no picture that can be decoded")
    declared = stream.frames
    if declared and packets < declared:
        raise MediaError(f"{path.name} is truncated: it holds {packets} of its {declared} frames")
    rate = stream.average_rate or stream.guessed_rate
    context = stream.codec_context
    return MediaInfo(
        kind="video",
        format=family,
        bytes=size,
        width=context.width,
        height=context.height,
        duration_s=_duration(container, stream),
        fps=float(rate) if rate else None,
        codec=context.name,
        frames=declared or packets,
        pix_fmt=context.pix_fmt,
    )


def _walk_packets(path: Path, container: InputContainer, stream: VideoStream | AudioStream) -> tuple[int, bool]:
    """Count the stream's packets and decode until the first picture comes out."""
    packets = 0
    decoded = False
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            packets += 1
            if not decoded:
                decoded = bool(packet.decode())
        if not decoded:
            decoded = bool(stream.decode(None))
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path.name} is damaged or truncated: {_reason(exc)}") from None
    return packets, decoded


def _audio_info(path: Path, container: InputContainer, family: str, size: int) -> MediaInfo:
    stream = container.streams.audio[0]
    packets, decoded = _walk_packets(path, container, stream)
    if not packets or not decoded:
        raise MediaError(f"{path.name} holds no sound that can be decoded")
    if family == "mp4":
        family = "m4a"
    return MediaInfo(
        kind="audio",
        format=family,
        bytes=size,
        width=None,
        height=None,
        duration_s=_duration(container, stream),
        fps=None,
        codec=stream.codec_context.name,
        frames=None,
        pix_fmt=None,
    )


def _duration(container: InputContainer, stream: Stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def human_bytes(count: int) -> str:
    """Sizes the way the API documents them: 20 MB means 20 x 1024 x 1024 bytes."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            return f"{_number(count / scale, 1)} {unit}"
    return f"{count} bytes"


def _number(value: float, places: int = 2) -> str:
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def _length(seconds: float, bound: float) -> str:
    """Enough decimals that a length just past a bound never prints as the bound itself."""
    text = _number(seconds)
    return _number(seconds, 3) if text == _number(bound) else text


def check_media(info: MediaInfo, limit: MediaLimit, loc: Loc) -> list[Problem]:
    """Every way a probed file breaks a media limit, each with the fix."""
    if info.kind != limit.kind:
        allowed = _formats(limit)
        return [
            Problem(
                loc,
                f"this is {_KIND_WORDS[info.kind]}, but {_KIND_WORDS[limit.kind]} is needed here",
                f"use {_KIND_WORDS[limit.kind]} in {allowed} format",
            )
        ]
    found = _check_format(info, limit, loc)
    found += _check_bytes(info, limit, loc)
    found += _check_sides(info, limit, loc)
    found += _check_seconds(info, limit, loc)
    found += _check_alpha(info, limit, loc)
    return found


def _formats(limit: MediaLimit) -> str:
    names = list(dict.fromkeys(_normal_format(f).upper() for f in limit.formats))
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _normal_format(name: str) -> str:
    return "jpeg" if name.lower() in ("jpg", "jpeg") else name.lower()


def _check_format(info: MediaInfo, limit: MediaLimit, loc: Loc) -> list[Problem]:
    if _normal_format(info.format) in {_normal_format(f) for f in limit.formats}:
        return []
    return [
        Problem(
            loc,
            f"{info.format.upper()} is not accepted for this {limit.kind}",
            f"convert it to {_formats(limit)}",
        )
    ]


def _check_bytes(info: MediaInfo, limit: MediaLimit, loc: Loc) -> list[Problem]:
    if info.bytes <= limit.max_bytes:
        return []
    how = {
        "image": "save it smaller or at a lower JPEG/WEBP quality",
        "video": "shorten it or re-encode it at a lower bitrate",
        "audio": "shorten it or re-encode it at a lower bitrate",
    }[limit.kind]
    return [
        Problem(
            loc,
            f"the file is {human_bytes(info.bytes)}, over the {human_bytes(limit.max_bytes)} limit",
            f"{how} to bring it under {human_bytes(limit.max_bytes)}",
        )
    ]


def _check_sides(info: MediaInfo, limit: MediaLimit, loc: Loc) -> list[Problem]:
    width, height = info.width, info.height
    if width is None or height is None or width <= 0 or height <= 0:
        if limit.min_side or limit.max_side or limit.max_aspect:
            return [Problem(loc, "its width and height could not be read", "re-save it in a standard format")]
        return []
    size = f"{width}x{height}"
    found: list[Problem] = []
    if limit.min_side is not None and min(width, height) < limit.min_side:
        found.append(
            Problem(
                loc,
                f"{size} is too small: each side must be at least {limit.min_side} px",
                f"use {_KIND_WORDS[limit.kind]} at least {limit.min_side} px on its shorter side",
            )
        )
    if limit.max_side is not None and max(width, height) > limit.max_side:
        found.append(
            Problem(
                loc,
                f"{size} is too large: each side must be at most {limit.max_side} px",
                f"scale it down so its longer side is at most {limit.max_side} px",
            )
        )
    if limit.max_aspect is not None:
        found += _check_aspect(width, height, limit.max_aspect, loc)
    return found


def _check_aspect(width: int, height: int, max_aspect: float, loc: Loc) -> list[Problem]:
    aspect = max(width, height) / min(width, height)
    if aspect <= max_aspect + 1e-9:
        return []
    shape = "wide" if width > height else "tall"
    bound = _number(max_aspect)
    return [
        Problem(
            loc,
            f"{width}x{height} is too {shape} ({_number(aspect, 1)}:1); "
            f"the shape must stay between 1:{bound} and {bound}:1",
            f"crop it so the longer side is at most {bound} times the shorter",
        )
    ]


def _check_alpha(info: MediaInfo, limit: MediaLimit, loc: Loc) -> list[Problem]:
    # The probe reports transparency from the image's mode (RGBA, LA, PA) or a PNG/GIF palette's
    # transparent colour; the profile says where it is refused.
    if limit.allows_alpha or not info.has_alpha:
        return []
    return [
        Problem(
            loc,
            f"this {info.format.upper()} has an alpha channel (transparency), which is not accepted here",
            "flatten it onto an opaque background, or save it as JPEG",
        )
    ]


def _check_seconds(info: MediaInfo, limit: MediaLimit, loc: Loc) -> list[Problem]:
    low, high = limit.min_seconds, limit.max_seconds
    if low is None and high is None:
        return []
    seconds = info.duration_s
    if seconds is None or math.isnan(seconds):
        span = f"{_number(low or 0)}-{_number(high)} s" if high is not None else f"at least {_number(low or 0)} s"
        return [Problem(loc, "its length could not be read", f"make sure it lasts {span}", "warning")]
    if low is not None and seconds < low - _SLACK_S:
        return [
            Problem(
                loc,
                f"{_length(seconds, low)} s is shorter than the {_number(low)} s minimum",
                f"use {_KIND_WORDS[limit.kind]} at least {_number(low)} s long",
            )
        ]
    if high is not None and seconds > high + _SLACK_S:
        return [
            Problem(
                loc,
                f"{_length(seconds, high)} s is longer than the {_number(high)} s maximum",
                f"trim it to {_number(high)} s or less",
            )
        ]
    return []
