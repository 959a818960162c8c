"""Pictures as YUV 4:2:0 planes, and the few cheap operations the renderer does on them per frame.

Everything is composed in the encoder's own pixel format so no colour conversion runs per frame:
RGB inputs (photos, text, sprites) are converted once, up front, with the BT.709 limited-range
matrix the output stream is tagged with.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import ColorRange, Colorspace

Plane = npt.NDArray[np.uint8]
Wide = npt.NDArray[np.uint16]


@dataclass(frozen=True)
class Picture:
    """A 4:2:0 picture: full-size luma and half-size chroma. Sizes and offsets stay even."""

    y: Plane
    u: Plane
    v: Plane

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    def crop(self, x: int, y: int, width: int, height: int) -> Picture:
        """A view of a region; x, y, width and height must be even so chroma lines up."""
        hx, hy, hw, hh = x // 2, y // 2, width // 2, height // 2
        return Picture(
            self.y[y : y + height, x : x + width],
            self.u[hy : hy + hh, hx : hx + hw],
            self.v[hy : hy + hh, hx : hx + hw],
        )

    def copy_into(self, target: Picture) -> None:
        np.copyto(target.y, self.y)
        np.copyto(target.u, self.u)
        np.copyto(target.v, self.v)


def even(value: float) -> int:
    """The nearest even integer; chroma is subsampled by two, so geometry snaps to even pixels."""
    return 2 * round(value / 2)


def rgb_to_picture(rgb: npt.NDArray[np.uint8]) -> Picture:
    """Convert an (h, w, 3) RGB array with even sides to BT.709 limited-range 4:2:0.

    FFmpeg's scaler does the matrix in C; AREA makes each chroma sample the mean of its 2x2 block.
    """
    height, width = rgb.shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"a picture of {width}x{height} cannot be stored as 4:2:0; sides must be even")
    source = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame_picture(to_yuv(source, width, height))


def to_yuv(rgb: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
    """An RGB frame scaled to width x height and converted with the matrix the stream is tagged with."""
    return rgb.reformat(
        width=width,
        height=height,
        format="yuv420p",
        dst_colorspace=Colorspace.ITU709,
        dst_color_range=ColorRange.MPEG,
        interpolation="AREA" if (width, height) == (rgb.width, rgb.height) else "BILINEAR",
    )


def rgb_colour_to_yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """One colour through the same matrix as pictures (for flat fills such as the progress bar)."""
    pic = rgb_to_picture(np.array([[rgb, rgb], [rgb, rgb]], dtype=np.uint8))
    return int(pic.y[0, 0]), int(pic.u[0, 0]), int(pic.v[0, 0])


def new_frame(width: int, height: int) -> tuple[av.VideoFrame, Picture]:
    """A fresh yuv420p frame and writable views of its planes, so drawing needs no extra copy."""
    frame = av.VideoFrame(width, height, "yuv420p")
    return frame, frame_picture(frame)


def frame_picture(frame: av.VideoFrame, *, writable: bool = True) -> Picture:
    """Numpy views of a yuv420p frame's planes, without the row padding."""
    if writable:
        frame.make_writable()
    width, height = frame.width, frame.height
    sizes = ((width, height), (width // 2, height // 2), (width // 2, height // 2))
    planes = []
    for plane, (w, h) in zip(frame.planes, sizes, strict=True):
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        planes.append(rows[:h, :w])
    return Picture(planes[0], planes[1], planes[2])


class FramePool:
    """Output-size frames handed back after encoding, so drawing reuses memory already mapped.

    Filling a freshly allocated 1080P frame costs more in page faults than the copy itself.
    Frames come back only after the encoder has returned from them, and frame_picture's
    make_writable still copies if an encoder kept a reference, so reuse never alters a frame
    that is still wanted. Safe to share between the drawing and the encoding thread.
    """

    def __init__(self, width: int, height: int, keep: int = 12) -> None:
        self._size = (width, height)
        self._keep = keep
        self._free: deque[av.VideoFrame] = deque()

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def take(self) -> tuple[av.VideoFrame, Picture]:
        """A frame and writable views of it; it may hold an old picture, so overwrite every pixel."""
        try:
            frame = self._free.pop()
        except IndexError:
            frame = av.VideoFrame(self._size[0], self._size[1], "yuv420p")
        return frame, frame_picture(frame)

    def give_back(self, frame: av.VideoFrame) -> None:
        fits = (frame.width, frame.height) == self._size and frame.format.name == "yuv420p"
        if fits and len(self._free) < self._keep:
            self._free.append(frame)


def picture_to_frame(picture: Picture) -> av.VideoFrame:
    """Copy a picture into a new frame (for regions that are not already a frame)."""
    frame, target = new_frame(picture.width, picture.height)
    picture.copy_into(target)
    return frame


class Sprite:
    """A picture with per-pixel opacity, premultiplied once so each blend is four integer passes."""

    def __init__(self, rgba: npt.NDArray[np.uint8]) -> None:
        picture = rgb_to_picture(np.ascontiguousarray(rgba[..., :3]))
        # Alpha 0-255 stretched to 0-256 so that opaque pixels replace the background exactly.
        alpha = rgba[..., 3].astype(np.uint16)
        alpha += alpha >> 7
        quads = alpha[0::2, 0::2] + alpha[1::2, 0::2] + alpha[0::2, 1::2] + alpha[1::2, 1::2]
        half_alpha = ((quads + 2) >> 2).astype(np.uint16)
        self.width = picture.width
        self.height = picture.height
        self._layers = [
            _Layer(picture.y, alpha),
            _Layer(picture.u, half_alpha),
            _Layer(picture.v, half_alpha),
        ]

    def blend_onto(self, target: Picture, x: int, y: int) -> None:
        """Draw at (x, y), both even; the sprite must lie inside the target."""
        region = target.crop(x, y, self.width, self.height)
        for layer, plane in zip(self._layers, (region.y, region.u, region.v), strict=True):
            layer.blend(plane)


class _Layer:
    def __init__(self, colour: Plane, alpha: Wide) -> None:
        # +128 rounds the final >>8 to nearest instead of truncating.
        self.pre: Wide = colour.astype(np.uint16) * alpha + 128
        self.keep: Wide = (256 - alpha).astype(np.uint16)
        self.scratch: Wide = np.empty_like(self.keep)

    def blend(self, plane: Plane) -> None:
        np.multiply(plane, self.keep, out=self.scratch)
        np.add(self.scratch, self.pre, out=self.scratch)
        # The result is at most 255 by construction, so the narrowing write is exact.
        np.right_shift(self.scratch, 8, out=plane, casting="unsafe")


class CrossFade:
    """Blend frames toward a fixed picture with reusable integer scratch planes."""

    def __init__(self, target: Picture) -> None:
        self._target = [target.y.astype(np.int16), target.u.astype(np.int16), target.v.astype(np.int16)]
        self._scratch = [np.empty_like(p) for p in self._target]

    def apply(self, picture: Picture, weight: float) -> None:
        """weight 0 keeps the picture, 1 replaces it with the target."""
        # Seven bits of weight keep (difference x weight) inside int16: 255 x 128 < 32768.
        level = round(weight * 128)
        if level <= 0:
            return
        planes = (picture.y, picture.u, picture.v)
        for plane, goal, scratch in zip(planes, self._target, self._scratch, strict=True):
            if level >= 128:
                np.copyto(plane, goal, casting="unsafe")
                continue
            np.subtract(goal, plane, out=scratch)
            np.multiply(scratch, level, out=scratch)
            np.right_shift(scratch, 7, out=scratch)
            # plane + a fraction of (goal - plane) stays between the two, so it fits in uint8.
            np.add(scratch, plane, out=plane, casting="unsafe")
