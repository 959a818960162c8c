"""Reading the request's inputs: still pictures from images or videos, and video frames on the
output's clock (a 24 fps clip shown at 30 fps repeats frames; a 60 fps one skips them)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import av
import av.error
import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image, ImageOps

from playground.media._yuv import FramePool, Picture, even, frame_picture, rgb_to_picture
from playground.media.probe import MediaError, identify, is_image_format, open_container

# Transparent inputs are flattened onto a neutral dark grey, which reads well under the text bands.
_MATTE = (40, 42, 48)


def load_still(path: Path, at_least: tuple[int, int] | None = None) -> Image.Image:
    """An RGB picture from an image, or from a video's first frame.

    at_least is the size the caller will cover; a big JPEG is then decoded at a reduced scale
    that still covers it, which is several times faster for phone photos.
    """
    if is_image_format(identify(path)):
        return _load_image(path, at_least)
    return _first_video_frame(path)


def _load_image(path: Path, at_least: tuple[int, int] | None) -> Image.Image:
    try:
        with Image.open(path) as image:
            if at_least is not None:
                image.draft("RGB", _draft_size(image.size, at_least))
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"{path.name} is a damaged or truncated image ({exc})") from None
    if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
        rgba = upright.convert("RGBA")
        matte = Image.new("RGBA", rgba.size, (*_MATTE, 255))
        return Image.alpha_composite(matte, rgba).convert("RGB")
    return upright.convert("RGB")


def _draft_size(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    # JPEG draft keeps the result at least this big; ask for the size that covers the target
    # in either orientation, since EXIF rotation is applied after decoding.
    factor = max(target[0] / size[0], target[1] / size[1], target[1] / size[0], target[0] / size[1])
    return math.ceil(size[0] * factor), math.ceil(size[1] * factor)


def _first_video_frame(path: Path) -> Image.Image:
    with open_container(path, "a video") as container:
        if not container.streams.video:
            raise MediaError(f"{path.name} holds no video picture to use")
        try:
            for frame in container.decode(video=0):
                return Image.fromarray(frame.to_ndarray(format="rgb24"))
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path.name} is damaged or truncated: {exc}") from None
    raise MediaError(f"{path.name} holds no picture that can be decoded")


def cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale to fill width x height and crop the overflow evenly, like CSS object-fit: cover."""
    factor = max(width / image.width, height / image.height)
    box_w, box_h = width / factor, height / factor
    # Clamped because the division can land a hair outside the picture.
    left, top = max(0.0, (image.width - box_w) / 2), max(0.0, (image.height - box_h) / 2)
    box = (left, top, min(float(image.width), left + box_w), min(float(image.height), top + box_h))
    # Bicubic with a reducing gap: close to Lanczos for these sizes and much cheaper on big inputs.
    return image.resize((width, height), Image.Resampling.BICUBIC, box=box, reducing_gap=2.0)


def cover_picture(image: Image.Image, width: int, height: int) -> Picture:
    return rgb_to_picture(np.asarray(cover(image, width, height)))


def scale(
    scaler: VideoReformatter, frame: av.VideoFrame, width: int, height: int, *, fast: bool = False
) -> av.VideoFrame:
    """Resize (and convert to yuv420p) in FFmpeg's C code.

    One reformatter per scene keeps FFmpeg's scaler set-up between frames, and a single thread
    avoids starting a thread pool whenever the size changes; x264 has the other core busy anyway.
    fast trades a little precision for speed, invisible when shrinking by less than a fifth.
    """
    method = "FAST_BILINEAR" if fast else "BILINEAR"
    return scaler.reformat(frame, width=width, height=height, format="yuv420p", interpolation=method, threads=1)


def fit_frame(scaler: VideoReformatter, frame: av.VideoFrame, pool: FramePool) -> av.VideoFrame:
    """A writable yuv420p frame of the pool's size, filled the way cover() fills, never `frame` itself."""
    width, height = pool.size
    factor = max(width / frame.width, height / frame.height)
    scaled_w = max(width, even(math.ceil(frame.width * factor)))
    scaled_h = max(height, even(math.ceil(frame.height * factor)))
    scaled = scale(scaler, frame, scaled_w, scaled_h)
    if scaled is not frame and (scaled_w, scaled_h) == (width, height):
        return scaled
    # Either a crop is needed or reformat handed back the decoder's own frame, which is
    # shown again on the next tick and must not be drawn on.
    out, target = pool.take()
    x, y = even((scaled_w - width) / 2), even((scaled_h - height) / 2)
    frame_picture(scaled, writable=False).crop(x, y, width, height).copy_into(target)
    return out


def video_ticks(path: Path, fps: int, *, loop: bool) -> Iterator[av.VideoFrame]:
    """The source frame showing at each output tick (1/fps apart), from the first frame on.

    With loop the source starts over when it ends, forever; the caller stops when it has enough.
    """
    if is_image_format(identify(path)):
        raise MediaError(f"{path.name} is an image, not a video")
    while True:
        ticks = 0
        for frame in _one_pass(path, fps):
            ticks += 1
            yield frame
        if ticks == 0:
            raise MediaError(f"{path.name} holds no picture that can be decoded")
        if not loop:
            return


def _one_pass(path: Path, fps: int) -> Iterator[av.VideoFrame]:
    with open_container(path, "a video") as container:
        if not container.streams.video:
            raise MediaError(f"{path.name} holds no video picture to use")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        frame_length = 1 / float(rate) if rate else 1 / fps
        tick, start, shown, shown_at = 0, None, None, 0.0
        try:
            for number, frame in enumerate(container.decode(stream)):
                at = frame.time if frame.time is not None else number * frame_length
                start = at if start is None else start
                # Every tick before this frame's moment shows the frame decoded before it.
                while shown is not None and tick / fps < at - start - 1e-6:
                    yield shown
                    tick += 1
                shown, shown_at = frame, at - start
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path.name} is damaged or truncated: {exc}") from None
        while shown is not None and tick / fps < shown_at + frame_length - 1e-6:
            yield shown
            tick += 1
