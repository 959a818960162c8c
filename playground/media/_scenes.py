"""The moving picture under the text: one scene per kind of request.

Each scene hands out one new yuv420p frame per index, in order. All heavy work (scaling photos,
drawing cards, converting colours) happens in the constructors; ``frame`` is slicing, sprite
blends and, for zooms, one scale in FFmpeg's C code.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter
from PIL import Image, ImageDraw

from playground.media._overlay import font
from playground.media._sources import cover, cover_picture, fit_frame, load_still, scale, video_ticks
from playground.media._yuv import (
    CrossFade,
    FramePool,
    Picture,
    Sprite,
    even,
    frame_picture,
    picture_to_frame,
    to_yuv,
)
from playground.media.cues import ShotCue, active
from playground.media.probe import identify, is_image_format

RGB = tuple[int, int, int]
Rng = np.random.Generator

# How far the slow zoom goes; at the end the crop is shown at 1:1, so it stays sharp.
_ZOOM = 1.15


class Scene:
    """A source of frames; subclasses fill ``frame``. ``close`` frees open inputs."""

    def frame(self, index: int) -> av.VideoFrame:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to free by default."""


@dataclass(frozen=True)
class Palette:
    colours: tuple[RGB, RGB, RGB]
    accent: RGB


def palette(rng: Rng) -> Palette:
    """Three neighbouring hues for backgrounds and a contrasting accent for labels and bars."""
    hue = float(rng.random())
    colours = tuple(
        _hsv(hue + step * 0.12 + float(rng.uniform(-0.03, 0.03)), 0.75, 0.55 + 0.2 * step) for step in range(3)
    )
    return Palette((colours[0], colours[1], colours[2]), _hsv(hue + 0.5, 0.55, 1.0))


def _hsv(hue: float, saturation: float, value: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def backdrop(
    width: int, height: int, colours: tuple[RGB, RGB, RGB], period: int | None = None
) -> npt.NDArray[np.uint8]:
    """Soft diagonal colour bands repeating every `period` pixels across (default: the width), as RGB."""
    small = Image.fromarray(_backdrop_small(width, height, colours, period))
    return np.asarray(small.resize((width, height), Image.Resampling.BILINEAR))


def backdrop_picture(width: int, height: int, colours: tuple[RGB, RGB, RGB], period: int | None = None) -> Picture:
    """The same bands straight to YUV: FFmpeg scales and converts in one pass."""
    small = av.VideoFrame.from_ndarray(_backdrop_small(width, height, colours, period), format="rgb24")
    return frame_picture(to_yuv(small, width, height))


def _backdrop_small(
    width: int, height: int, colours: tuple[RGB, RGB, RGB], period: int | None
) -> npt.NDArray[np.uint8]:
    # The field is smooth, so it is computed at a quarter of the size and scaled up.
    small_w, small_h = max(2, width // 4), max(2, height // 4)
    x = np.arange(small_w, dtype=np.float32)[None, :] * (2 * math.pi * width / (period or width) / small_w)
    y = np.linspace(0.0, 1.0, small_h, dtype=np.float32)[:, None]
    phase = x + 2.2 * y
    mix = np.zeros((small_h, small_w, 3), dtype=np.float32)
    for k, colour in enumerate(colours):
        weight = 0.5 + 0.5 * np.cos(phase - k * 2 * math.pi / 3)
        mix += weight[..., None] * np.asarray(colour, dtype=np.float32)
    shade = 0.55 + 0.45 * np.sin(math.pi * (0.15 + 0.85 * y))
    mix *= (shade / 1.5)[..., None]
    return np.clip(mix, 0, 255).astype(np.uint8)


class DriftScene(Scene):
    """Text-to-video: a scrolling colour field with soft orbs gliding over it."""

    def __init__(self, pool: FramePool, fps: int, colours: Palette, rng: Rng) -> None:
        width, height = pool.size
        self._pool = pool
        self._size = (width, height)
        self._fps = fps
        # Two periods side by side: any window `width` wide is a plain slice, no wrap-around.
        self._field = backdrop_picture(2 * width, height, colours.colours, period=width)
        self._speed = 2 * int(rng.integers(1, 3))
        self._orbs = [_Orb.make(width, height, colour, rng) for colour in (*colours.colours, colours.accent)]

    def frame(self, index: int) -> av.VideoFrame:
        width, height = self._size
        out, target = self._pool.take()
        offset = (index * self._speed) % width
        self._field.crop(offset, 0, width, height).copy_into(target)
        seconds = index / self._fps
        for orb in self._orbs:
            orb.draw(target, seconds)
        return out


@dataclass
class _Orb:
    sprite: Sprite
    radius: int
    centre: tuple[float, float]
    reach: tuple[float, float]
    period: tuple[float, float]
    phase: tuple[float, float]
    bounds: tuple[int, int]

    @classmethod
    def make(cls, width: int, height: int, colour: RGB, rng: Rng) -> _Orb:
        radius = max(4, even(min(width, height) * float(rng.uniform(0.07, 0.13))))
        cx, cy = width * float(rng.uniform(0.3, 0.7)), height * float(rng.uniform(0.35, 0.65))
        reach_x = min(cx - radius, width - radius - cx) * float(rng.uniform(0.6, 0.95))
        reach_y = min(cy - radius, height - radius - cy) * float(rng.uniform(0.5, 0.9))
        return cls(
            sprite=Sprite(_orb_rgba(radius, colour)),
            radius=radius,
            centre=(cx, cy),
            reach=(max(0.0, reach_x), max(0.0, reach_y)),
            period=(float(rng.uniform(3.0, 7.0)), float(rng.uniform(2.5, 6.0))),
            phase=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
            bounds=(width - 2 * radius, height - 2 * radius),
        )

    def draw(self, target: Picture, seconds: float) -> None:
        x = self.centre[0] + self.reach[0] * math.sin(2 * math.pi * seconds / self.period[0] + self.phase[0])
        y = self.centre[1] + self.reach[1] * math.sin(2 * math.pi * seconds / self.period[1] + self.phase[1])
        left = min(max(0, even(x - self.radius)), self.bounds[0])
        top = min(max(0, even(y - self.radius)), self.bounds[1])
        self.sprite.blend_onto(target, left, top)


def _orb_rgba(radius: int, colour: RGB) -> npt.NDArray[np.uint8]:
    size = 2 * radius
    axis = (np.arange(size, dtype=np.float32) + 0.5 - radius) / radius
    distance = np.sqrt(axis[None, :] ** 2 + axis[:, None] ** 2)
    alpha = np.clip(1 - distance**2, 0, 1) ** 1.3 * 230
    glow = (np.clip(1 - distance * 1.8, 0, 1) ** 2 * 0.7)[..., None]
    rgb = np.asarray(colour, dtype=np.float32) * (1 - glow) + 255 * glow
    return np.dstack([np.clip(rgb, 0, 255), alpha]).astype(np.uint8)


class KenBurnsScene(Scene):
    """Image-to-video: the picture, first whole, then slowly zooming in and drifting aside.

    A pan alone would be cheaper to draw and encode, but then the opening frame could not be the
    whole picture, and an image-to-video result starts on exactly the picture it was given.
    """

    def __init__(self, image: Image.Image, pool: FramePool, count: int, rng: Rng) -> None:
        width, height = pool.size
        self._pool = pool
        self._size = (width, height)
        self._source = cover_picture(image, *self.source_size(width, height))
        self._count = count
        angle = float(rng.uniform(0, 2 * math.pi))
        self._drift = (math.cos(angle) * 0.9, math.sin(angle) * 0.9)
        self._scaler = VideoReformatter()

    @staticmethod
    def source_size(width: int, height: int) -> tuple[int, int]:
        """The enlarged picture the zoom crops from; at full zoom a crop is shown at 1:1."""
        return even(width * _ZOOM), even(height * _ZOOM)

    def box(self, index: int) -> tuple[int, int, int, int]:
        """The region of the enlarged picture shown at this index: x, y, width, height."""
        progress = smoothstep(index / (self._count - 1)) if self._count > 1 else 0.0
        zoom = 1 + (_ZOOM - 1) * progress
        full_w, full_h = self._source.width, self._source.height
        box_w = min(full_w, even(full_w / zoom))
        box_h = min(full_h, even(full_h / zoom))
        centre_x = full_w / 2 + self._drift[0] * (full_w - self._size[0]) / 2 * progress
        centre_y = full_h / 2 + self._drift[1] * (full_h - self._size[1]) / 2 * progress
        left = min(max(0, even(centre_x - box_w / 2)), full_w - box_w)
        top = min(max(0, even(centre_y - box_h / 2)), full_h - box_h)
        return left, top, box_w, box_h

    def frame(self, index: int) -> av.VideoFrame:
        region = self._source.crop(*self.box(index))
        if (region.width, region.height) == self._size:
            out, target = self._pool.take()
            region.copy_into(target)
            return out
        width, height = self._size
        return scale(self._scaler, picture_to_frame(region), width, height, fast=True)


class FadeScene(Scene):
    """Another scene, cross-faded toward a still picture so the last frame is that picture."""

    def __init__(self, base: Scene, end: Picture, start: int, count: int) -> None:
        self._base = base
        self._fade = CrossFade(end)
        self._start = min(start, count - 1)
        self._count = count

    def frame(self, index: int) -> av.VideoFrame:
        out = self._base.frame(index)
        if index >= self._start:
            weight = smoothstep((index - self._start + 1) / (self._count - self._start))
            self._fade.apply(frame_picture(out), weight)
        return out

    def close(self) -> None:
        self._base.close()


class ClipScene(Scene):
    """Image-to-video from a first clip: the clip's own frames, then a slow zoom on its last one."""

    def __init__(self, path: Path, pool: FramePool, fps: int, count: int, rng: Rng) -> None:
        self._pool = pool
        self._count = count
        self._ticks: Iterator[av.VideoFrame] = video_ticks(path, fps, loop=False)
        self._last: av.VideoFrame | None = None
        self._rng = rng
        self._rest: Scene | None = None
        self._clip_frames = 0
        self._scaler = VideoReformatter()

    def frame(self, index: int) -> av.VideoFrame:
        if self._rest is None:
            source = next(self._ticks, None)
            if source is not None:
                self._last = source
                self._clip_frames = index + 1
                return fit_frame(self._scaler, source, self._pool)
            self._rest = self._continue()
        return self._rest.frame(index - self._clip_frames)

    def _continue(self) -> Scene:
        assert self._last is not None, "video_ticks yields at least one frame or raises"
        still = Image.fromarray(self._last.to_ndarray(format="rgb24"))
        return KenBurnsScene(still, self._pool, self._count - self._clip_frames, self._rng)

    def close(self) -> None:
        close = getattr(self._ticks, "close", None)
        if close is not None:
            close()


class EditScene(Scene):
    """Video edit: the source's frames, looped or cut to length, with hue and tint shifted."""

    def __init__(
        self, path: Path, pool: FramePool, fps: int, rng: Rng, thumbnails: list[tuple[int, int, Sprite]]
    ) -> None:
        width, height = pool.size
        self._pool = pool
        self._ticks: Iterator[av.VideoFrame] = video_ticks(path, fps, loop=True)
        self._recolour = Recolour(width // 2, height // 2, rng)
        self._thumbnails = thumbnails
        self._scaler = VideoReformatter()

    def frame(self, index: int) -> av.VideoFrame:
        out = fit_frame(self._scaler, next(self._ticks), self._pool)
        picture = frame_picture(out)
        self._recolour.apply(picture)
        for left, top, sprite in self._thumbnails:
            sprite.blend_onto(picture, left, top)
        return out

    def close(self) -> None:
        close = getattr(self._ticks, "close", None)
        if close is not None:
            close()


class Recolour:
    """Rotate hue, boost saturation and tint, all on the half-size chroma planes in int16."""

    _ONE = 64  # six fractional bits: 128 x 1.3 x 64 x 2 terms stays inside int16

    def __init__(self, width: int, height: int, rng: Rng) -> None:
        angle = math.radians(float(rng.uniform(70, 290)))
        gain = 1.3 * self._ONE
        self._cos, self._sin = round(gain * math.cos(angle)), round(gain * math.sin(angle))
        self._tint = (int(rng.integers(-14, 15)), int(rng.integers(-14, 15)))
        shape = (height, width)
        self._du, self._dv, self._out, self._tmp = (np.empty(shape, np.int16) for _ in range(4))

    def apply(self, picture: Picture) -> None:
        np.subtract(picture.u, np.int16(128), out=self._du)
        np.subtract(picture.v, np.int16(128), out=self._dv)
        self._rotate(picture.u, self._du, self._dv, -self._sin, self._tint[0])
        self._rotate(picture.v, self._dv, self._du, self._sin, self._tint[1])

    def _rotate(
        self,
        plane: npt.NDArray[np.uint8],
        same: npt.NDArray[np.int16],
        other: npt.NDArray[np.int16],
        cross: int,
        tint: int,
    ) -> None:
        np.multiply(same, np.int16(self._cos), out=self._out)
        np.multiply(other, np.int16(cross), out=self._tmp)
        self._out += self._tmp
        self._out >>= 6
        self._out += np.int16(128 + tint)
        np.clip(self._out, 16, 240, out=self._out)
        np.copyto(plane, self._out, casting="unsafe")


class CardsScene(Scene):
    """Reference-to-video: each reference as a labelled card, gently floating over a backdrop.

    With timed shots, a shot shows only the cards of the references it names (none when it
    names none); outside every shot, and in a prompt without shots, all the cards show.
    """

    def __init__(
        self,
        pool: FramePool,
        background: Picture,
        cards: CardSet,
        fps: int,
        shots: Sequence[ShotCue] = (),
        shot_cards: Sequence[CardSet] = (),
    ) -> None:
        self._pool = pool
        self._background = background
        self._cards = cards
        self._fps = fps
        self._shots = tuple(shots)
        self._shot_cards = list(shot_cards)

    def frame(self, index: int) -> av.VideoFrame:
        out, target = self._pool.take()
        self._background.copy_into(target)
        seconds = index / self._fps
        shot = active(self._shots, seconds) if self._shots else None
        for card in self._cards if shot is None else self._shot_cards[shot]:
            card.draw(target, seconds)
        return out


@dataclass
class _Card:
    sprite: Sprite
    home: tuple[int, int]
    sway: tuple[float, float]
    period: tuple[float, float]
    phase: tuple[float, float]
    limit: tuple[int, int]

    def draw(self, target: Picture, seconds: float) -> None:
        dx = self.sway[0] * math.sin(2 * math.pi * seconds / self.period[0] + self.phase[0])
        dy = self.sway[1] * math.sin(2 * math.pi * seconds / self.period[1] + self.phase[1])
        left = min(max(0, even(self.home[0] + dx)), self.limit[0])
        top = min(max(0, even(self.home[1] + dy)), self.limit[1])
        self.sprite.blend_onto(target, left, top)


CardSet = list[_Card]  # the cards one frame shows


def reference_labels(paths: tuple[Path, ...]) -> list[str]:
    """'Image 1', 'Video 1', ...: images and videos numbered separately, as prompts name them."""
    counts = {"Image": 0, "Video": 0}
    labels = []
    for path in paths:
        word = "Image" if is_image_format(identify(path)) else "Video"
        counts[word] += 1
        labels.append(f"{word} {counts[word]}")
    return labels


def card_rgba(image: Image.Image, width: int, height: int, label: str, accent: RGB) -> npt.NDArray[np.uint8]:
    """A rounded card: the picture filling its top, the label in a strip underneath."""
    border = max(2, even(min(width, height) * 0.03))
    strip = even(height * 0.16)
    card = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    radius = max(2, round(min(width, height) * 0.06))
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=radius, fill=(*accent, 255))
    photo = cover(image, width - 2 * border, height - strip - border)
    card.paste(photo, (border, border))
    face = font(max(8, round(strip * 0.55)), bold=True)
    draw.text((width / 2, height - strip / 2), label, font=face, fill=(12, 14, 20, 255), anchor="mm")
    return np.asarray(card)


def build_cards(
    paths: tuple[Path, ...],
    frame: tuple[int, int],
    area: tuple[int, int, int, int],
    accent: RGB,
    rng: Rng,
    labels: Sequence[str] | None = None,
) -> list[_Card]:
    """Lay the references out in a grid inside area (x, y, width, height) and give each a sway.

    ``labels`` name the cards (default: ``Image 1``, ``Video 1``... counted over ``paths``), so
    a subset of the references keeps the names the whole request gives them.
    """
    left, top, width, height = area
    count = len(paths)
    if count == 0:
        return []
    columns, rows = _grid(count, width, height)
    cell_w, cell_h = width / columns, height / rows
    # A floor keeps the border, picture and label strip drawable in tiny frames.
    card_w = max(12, even(min(cell_w * 0.8, cell_h * 0.8 * 0.75)))
    card_h = even(card_w / 0.75)
    labels = list(labels) if labels is not None else reference_labels(paths)
    cards = []
    for number, (path, label) in enumerate(zip(paths, labels, strict=True)):
        row, column = divmod(number, columns)
        in_row = min(columns, count - row * columns)
        # Centre short last rows instead of leaving them flush left.
        x = left + (width - in_row * cell_w) / 2 + (column + 0.5) * cell_w - card_w / 2
        y = top + (row + 0.5) * cell_h - card_h / 2
        sprite = Sprite(card_rgba(load_still(path, at_least=(card_w, card_h)), card_w, card_h, label, accent))
        cards.append(
            _Card(
                sprite=sprite,
                home=(even(x), even(y)),
                sway=((cell_w - card_w) * 0.4, (cell_h - card_h) * 0.4 + card_h * 0.04),
                period=(float(rng.uniform(3.5, 6.0)), float(rng.uniform(2.2, 3.6))),
                phase=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
                limit=(max(0, frame[0] - card_w), max(0, frame[1] - card_h)),
            )
        )
    return cards


def _grid(count: int, width: int, height: int) -> tuple[int, int]:
    """Columns and rows that give the biggest 3:4 cards for this many references."""
    best, best_size = (count, 1), 0.0
    for rows in range(1, count + 1):
        columns = math.ceil(count / rows)
        size = min(width / columns, height / rows * 0.75)
        if size > best_size:
            best, best_size = (columns, rows), size
    return best


def thumbnails(
    paths: tuple[Path, ...], width: int, height: int, bottom: int, accent: RGB
) -> list[tuple[int, int, Sprite]]:
    """Small static cards in the lower right corner, for references that accompany an edit."""
    if not paths:
        return []
    card_h = even(min(height * 0.22, (bottom - height * 0.2)))
    if card_h < 16:
        return []
    card_w = even(card_h * 0.75)
    gap = even(card_w * 0.12)
    fitting = min(len(paths), (width - gap) // (card_w + gap))
    # Right-aligned as a block, but in reading order: Image 1 on the left.
    start = width - fitting * (card_w + gap)
    labels = reference_labels(paths)
    placed = []
    for number in range(fitting):
        still = load_still(paths[number], at_least=(card_w, card_h))
        sprite = Sprite(card_rgba(still, card_w, card_h, labels[number], accent))
        placed.append((start + number * (card_w + gap), even(bottom - card_h - gap), sprite))
    return placed
