"""The text layer: mode, title and prompt drawn once with Pillow, then blended onto every frame.

Only two full-width bands carry text (title on top, prompt at the bottom), so the per-frame cost
is a blend over those rows plus a progress bar fill, never a pass over the whole picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from playground.media._yuv import Picture, Sprite, even, rgb_colour_to_yuv

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]

_PANEL = (8, 10, 16, 150)
_TEXT = (245, 246, 250, 255)
_DIM = (200, 204, 214, 190)
_TRACK = (255, 255, 255, 60)
_ELLIPSIS = "…"
_SANDBOX_NOTE = "sandbox preview"


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> Font:
    """DejaVu when the system has it (wide Latin, Greek and Cyrillic coverage), else Pillow's own."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size)


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
        face = font(candidate)
        if text_width(text, face) <= room:
            return face
    return font(smallest)


@dataclass(frozen=True)
class _Band:
    top: int
    sprite: Sprite


class Overlay:
    """Title band, prompt band and progress bar for one output size."""

    def __init__(self, width: int, height: int, *, mode: str, title: str, caption: str, accent: RGB) -> None:
        base = min(width, height)
        self._pad = max(4, even(base * 0.024))
        self._bar_height = max(2, even(base * 0.008))
        self._bar_colour = rgb_colour_to_yuv(accent)
        self._width = width
        self._bar_top = height - self._bar_height
        title_band = self._title_band(width, base, mode, " ".join(title.split()), accent)
        bottom = self._caption_band(width, height, base, " ".join(caption.split()), title_band.height)
        self._bands = [_Band(0, Sprite(np.asarray(title_band)))]
        self._bands.append(_Band(height - bottom.height, Sprite(np.asarray(bottom))))
        self.title_height = title_band.height
        self.caption_top = height - bottom.height

    def apply(self, picture: Picture, index: int, count: int) -> None:
        for band in self._bands:
            band.sprite.blend_onto(picture, 0, band.top)
        filled = even(self._width * (index + 1) / count)
        if filled:
            bar = picture.crop(0, self._bar_top, filled, self._bar_height)
            bar.y.fill(self._bar_colour[0])
            bar.u.fill(self._bar_colour[1])
            bar.v.fill(self._bar_colour[2])

    def _title_band(self, width: int, base: int, mode: str, title: str, accent: RGB) -> Image.Image:
        size = max(8, round(base * 0.04))
        pad = self._pad
        band = Image.new("RGBA", (width, even(size * 1.5 + pad * 2)), _PANEL)
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
        if text_width(title, font(size)) + note_width + size <= room:
            draw.text((width - pad, middle), _SANDBOX_NOTE, font=note_face, fill=_DIM, anchor="rm")
            room -= note_width + size
        face = _shrink_to_fit(title, size, room)
        draw.text((title_left, middle), fit_line(title, face, room), font=face, fill=_TEXT, anchor="lm")
        return band

    def _caption_band(self, width: int, height: int, base: int, caption: str, top_used: int) -> Image.Image:
        size = max(8, round(base * 0.034))
        pad = self._pad
        line_height = round(size * 1.35)
        # Keep both bands to under half the frame so the picture stays the subject.
        room = height // 2 - top_used - 2 * pad - self._bar_height
        max_lines = max(1, min(3, room // line_height))
        face = font(size)
        lines = wrap(caption, face, width - 2 * pad, max_lines) if caption else []
        text_height = len(lines) * line_height + 2 * pad if lines else 0
        band = Image.new("RGBA", (width, even(text_height + self._bar_height)), _PANEL if lines else (0, 0, 0, 0))
        draw = ImageDraw.Draw(band)
        for number, line in enumerate(lines):
            draw.text((pad, pad + number * line_height), line, font=face, fill=_TEXT)
        draw.rectangle((0, band.height - self._bar_height, width, band.height), fill=_TRACK)
        return band
