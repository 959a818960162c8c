"""The text layer: mode, title and prompt drawn once with Pillow, then blended onto every frame.

Only two full-width bands carry text (title on top, prompt at the bottom), so the per-frame cost
is a blend over those rows plus a progress bar fill, never a pass over the whole picture.

A prompt with timed shots gets one bottom band per shot, drawn once like the others: during a
shot's time range the band shows a solid swatch in the shot's colour (``cues.shot_colour``), the
shot's number and range, and its text; outside every shot it shows the overall description.
All of these bands have the same height, so the swatch sits at :func:`shot_swatch_box`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from playground.media._yuv import Picture, Sprite, even, rgb_colour_to_yuv
from playground.media.cues import ShotCue, active, shot_colour

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]

_PANEL = (8, 10, 16, 150)
_TEXT = (245, 246, 250, 255)
_DIM = (200, 204, 214, 190)
_TRACK = (255, 255, 255, 60)
_ELLIPSIS = "…"
_SANDBOX_NOTE = "sandbox preview"


# Faces for Chinese, Japanese and Korean text, which DejaVu cannot draw (every character would be
# the same empty box): the first of these the system has, by file name, which Pillow looks for in
# the system's font folders. They draw Latin too, so a whole prompt uses one face. Debian:
# fonts-wqy-microhei (5 MB; in the Docker image and the test command) or fonts-noto-cjk.
_WIDE_FACES = {
    False: ("wqy-microhei.ttc", "NotoSansCJK-Regular.ttc", "wqy-zenhei.ttc", "DroidSansFallbackFull.ttf"),
    True: ("NotoSansCJK-Bold.ttc", "wqy-microhei.ttc", "wqy-zenhei.ttc", "DroidSansFallbackFull.ttf"),
}


def font(size: int, bold: bool = False, text: str = "") -> Font:
    """The face to draw ``text`` in: a CJK face when the text has wide (CJK) characters and the
    system has one, else DejaVu when the system has it (wide Latin, Greek and Cyrillic
    coverage), else Pillow's own."""
    if needs_wide_face(text):
        wide = _wide_face(size, bold)
        if wide is not None:
            return wide
    return _face(size, bold)


def needs_wide_face(text: str) -> bool:
    """Whether the text has a character East Asian scripts write wide (Han, kana, Hangul, ...)."""
    return any(ord(ch) > 0x1000 and unicodedata.east_asian_width(ch) in ("W", "F", "H") for ch in text)


@lru_cache(maxsize=32)
def _face(size: int, bold: bool) -> Font:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size)


@lru_cache(maxsize=32)
def _wide_face(size: int, bold: bool) -> Font | None:
    for name in _WIDE_FACES[bold]:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return None


def text_width(text: str, face: Font) -> float:
    return float(face.getlength(text))


def fit_line(text: str, face: Font, max_width: float) -> str:
    """The text itself if it fits, else as much as fits followed by an ellipsis."""
    if text_width(text, face) <= max_width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid].rstrip() + _ELLIPSIS, face) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + _ELLIPSIS


def wrap(text: str, face: Font, max_width: float, max_lines: int) -> list[str]:
    """Word-wrap to at most max_lines; words wider than a line (URLs, CJK runs) break anywhere."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, face) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while text_width(word, face) > max_width and len(lines) <= max_lines:
            cut = _longest_prefix(word, face, max_width)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
        if len(lines) > max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = fit_line(lines[-1] + " " + _ELLIPSIS, face, max_width)
    return lines


def _longest_prefix(word: str, face: Font, max_width: float) -> int:
    lo, hi = 1, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(word[:mid], face) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _shrink_to_fit(text: str, size: int, room: float) -> Font:
    """The largest face down to 70 % of size that fits text in room; the smallest if none does."""
    smallest = max(8, round(size * 0.7))
    for candidate in range(size, smallest - 1, -1):
        face = font(candidate, text=text)
        if text_width(text, face) <= room:
            return face
    return font(smallest, text=text)


@dataclass(frozen=True)
class _Band:
    top: int
    sprite: Sprite


@dataclass(frozen=True)
class _Geometry:
    """Sizes of the text layer for one frame size (all derived from the shorter side)."""

    pad: int
    bar_height: int
    title_size: int
    title_height: int
    caption_size: int
    line_height: int
    max_lines: int

    @classmethod
    def of(cls, width: int, height: int) -> _Geometry:
        base = min(width, height)
        pad = max(4, even(base * 0.024))
        bar_height = max(2, even(base * 0.008))
        title_size = max(8, round(base * 0.04))
        title_height = even(title_size * 1.5 + pad * 2)
        caption_size = max(8, round(base * 0.034))
        line_height = round(caption_size * 1.35)
        # Keep both bands to under half the frame so the picture stays the subject.
        room = height // 2 - title_height - 2 * pad - bar_height
        max_lines = max(1, min(3, room // line_height))
        return cls(pad, bar_height, title_size, title_height, caption_size, line_height, max_lines)

    @property
    def shot_band_height(self) -> int:
        """The bottom band's height when the prompt has shots: room for every line, always."""
        return even(self.max_lines * self.line_height + 2 * self.pad + self.bar_height)

    @property
    def swatch_side(self) -> int:
        return even(min(2, self.max_lines) * self.line_height)


def shot_swatch_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Where a shot's colour swatch is drawn in a frame of this size: x, y, width, height."""
    geometry = _Geometry.of(width, height)
    top = height - geometry.shot_band_height + geometry.pad
    return geometry.pad, top, geometry.swatch_side, geometry.swatch_side


class Overlay:
    """Title band, prompt band (one per shot when the prompt has timed shots) and progress bar."""

    def __init__(
        self,
        width: int,
        height: int,
        *,
        mode: str,
        title: str,
        caption: str,
        accent: RGB,
        shots: Sequence[ShotCue] = (),
        fps: int = 30,
    ) -> None:
        geometry = _Geometry.of(width, height)
        self._geometry = geometry
        self._pad = geometry.pad
        self._bar_height = geometry.bar_height
        self._bar_colour = rgb_colour_to_yuv(accent)
        self._width = width
        self._bar_top = height - self._bar_height
        self._shots = tuple(shots)
        self._fps = fps
        title_band = self._title_band(width, mode, " ".join(title.split()), accent)
        fixed = geometry.shot_band_height if self._shots else None
        bottom = self._caption_band(width, " ".join(caption.split()), fixed)
        self._bands = [_Band(0, Sprite(np.asarray(title_band)))]
        self._bands.append(_Band(height - bottom.height, Sprite(np.asarray(bottom))))
        self._shot_bands = [
            _Band(height - bottom.height, Sprite(np.asarray(self._shot_band(width, cue)))) for cue in self._shots
        ]
        self.title_height = title_band.height
        self.caption_top = height - bottom.height

    def apply(self, picture: Picture, index: int, count: int) -> None:
        shot = active(self._shots, index / self._fps) if self._shots else None
        bands = self._bands if shot is None else [self._bands[0], self._shot_bands[shot]]
        for band in bands:
            band.sprite.blend_onto(picture, 0, band.top)
        filled = even(self._width * (index + 1) / count)
        if filled:
            bar = picture.crop(0, self._bar_top, filled, self._bar_height)
            bar.y.fill(self._bar_colour[0])
            bar.u.fill(self._bar_colour[1])
            bar.v.fill(self._bar_colour[2])

    def _title_band(self, width: int, mode: str, title: str, accent: RGB) -> Image.Image:
        size = self._geometry.title_size
        pad = self._pad
        band = Image.new("RGBA", (width, self._geometry.title_height), _PANEL)
        draw = ImageDraw.Draw(band)
        middle = band.height / 2
        label_face = font(max(8, round(size * 0.8)), bold=True)
        label = mode.upper()
        label_width = text_width(label, label_face)
        pill = (pad, middle - size * 0.65, pad + label_width + size, middle + size * 0.65)
        draw.rounded_rectangle(pill, radius=size * 0.3, fill=(*accent, 255))
        draw.text((pad + size / 2, middle), label, font=label_face, fill=(12, 14, 20, 255), anchor="lm")
        note_face = font(max(8, round(size * 0.7)))
        note_width = text_width(_SANDBOX_NOTE, note_face)
        title_left = pill[2] + size * 0.6
        room = width - title_left - pad
        # The note is a courtesy; it only appears when the whole title still fits beside it.
        if text_width(title, font(size, text=title)) + note_width + size <= room:
            draw.text((width - pad, middle), _SANDBOX_NOTE, font=note_face, fill=_DIM, anchor="rm")
            room -= note_width + size
        face = _shrink_to_fit(title, size, room)
        draw.text((title_left, middle), fit_line(title, face, room), font=face, fill=_TEXT, anchor="lm")
        return band

    def _caption_band(self, width: int, caption: str, fixed_height: int | None) -> Image.Image:
        geometry = self._geometry
        pad, line_height = self._pad, geometry.line_height
        face = font(geometry.caption_size, text=caption)
        lines = wrap(caption, face, width - 2 * pad, geometry.max_lines) if caption else []
        text_height = len(lines) * line_height + 2 * pad if lines else 0
        height = fixed_height if fixed_height is not None else even(text_height + self._bar_height)
        band = Image.new("RGBA", (width, height), _PANEL if lines or fixed_height else (0, 0, 0, 0))
        draw = ImageDraw.Draw(band)
        for number, line in enumerate(lines):
            draw.text((pad, pad + number * line_height), line, font=face, fill=_TEXT)
        draw.rectangle((0, band.height - self._bar_height, width, band.height), fill=_TRACK)
        return band

    def _shot_band(self, width: int, cue: ShotCue) -> Image.Image:
        """A shot's band: its colour swatch, then ``Shot 2 · 3-6 s`` and the shot's text."""
        geometry = self._geometry
        pad, line_height, side = self._pad, geometry.line_height, geometry.swatch_side
        band = Image.new("RGBA", (width, geometry.shot_band_height), _PANEL)
        draw = ImageDraw.Draw(band)
        draw.rectangle((pad, pad, pad + side - 1, pad + side - 1), fill=(*shot_colour(cue.number), 255))
        left = pad + side + pad
        room = width - left - pad
        text = " ".join(cue.text.split())
        face = font(geometry.caption_size, text=text)
        bold = font(geometry.caption_size, bold=True, text=f"{cue.heading} {text}")
        if geometry.max_lines == 1:
            draw.text((left, pad), fit_line(f"{cue.heading}: {text}", bold, room), font=bold, fill=_TEXT)
        else:
            draw.text((left, pad), fit_line(cue.heading, bold, room), font=bold, fill=_TEXT)
            for number, line in enumerate(wrap(text, face, room, geometry.max_lines - 1) if text else [], 1):
                draw.text((left, pad + number * line_height), line, font=face, fill=_TEXT)
        draw.rectangle((0, band.height - self._bar_height, width, band.height), fill=_TRACK)
        return band
