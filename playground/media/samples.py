"""Small, deterministic media files for tests and examples: a picture, a clip and a tone."""

from __future__ import annotations

import math
import wave
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from playground.media._encode import encode_frames
from playground.media._scenes import backdrop, palette
from playground.media._yuv import new_frame, rgb_to_picture

_IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}
_VIDEO_FORMATS = {".mp4": "mp4", ".mov": "mov"}


def make_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    """A colourful picture with shapes on a gradient; the format follows the suffix."""
    path = Path(path)
    kind = _IMAGE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"make_image writes {', '.join(_IMAGE_FORMATS)} files, not {path.suffix or 'no suffix'}")
    picture(width, height, seed).save(path, format=kind)
    return path


def picture(width: int, height: int, seed: int = 0) -> Image.Image:
    """The RGB image make_image saves."""
    rng = np.random.default_rng(seed)
    colours = palette(rng)
    image = Image.fromarray(backdrop(width, height, colours.colours))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        radius = float(rng.uniform(0.05, 0.2)) * min(width, height)
        fill = tuple(int(c) for c in rng.integers(30, 256, size=3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - radius, y - radius, x + radius, y + radius), fill=(fill[0], fill[1], fill[2]))
    return image


def make_video(path: Path, width: int, height: int, seconds: float, fps: int = 30, seed: int = 0) -> Path:
    """An H.264 clip (MP4 or MOV by suffix) of the sample picture with a square sliding across."""
    path = Path(path)
    container = _VIDEO_FORMATS.get(path.suffix.lower())
    if container is None:
        raise ValueError(f"make_video writes {', '.join(_VIDEO_FORMATS)} files, not {path.suffix or 'no suffix'}")
    count = max(1, round(seconds * fps))
    encode_frames(_sliding(width, height, count, seed), path, width, height, fps, container=container)
    return path


def _sliding(width: int, height: int, count: int, seed: int) -> Iterator[av.VideoFrame]:
    still = rgb_to_picture(np.asarray(picture(width, height, seed)))
    side = max(2, 2 * (min(width, height) // 8))
    for index in range(count):
        frame, target = new_frame(width, height)
        still.copy_into(target)
        left = 2 * ((index * 4) % max(2, width - side) // 2)
        square = target.crop(left, 2 * ((height - side) // 4), side, side)
        square.y.fill(235)
        square.u.fill(128)
        square.v.fill(128)
        yield frame


def make_audio(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A mono 440 Hz tone with soft ends: 16-bit WAV, or MP3 when the suffix says so."""
    path = Path(path)
    samples = _tone(max(1, round(seconds * rate)), rate)
    if path.suffix.lower() == ".mp3":
        _write_mp3(path, samples, rate)
        return path
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def _write_mp3(path: Path, samples: npt.NDArray[np.int16], rate: int) -> None:
    with av.open(str(path), mode="w", format="mp3") as output:
        stream = output.add_stream("libmp3lame", rate=rate)
        stream.layout = "mono"
        stream.format = "s16p"
        chunk = 1152
        for start in range(0, len(samples), chunk):
            piece = samples[start : start + chunk].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(piece, format="s16p", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def _tone(count: int, rate: int) -> npt.NDArray[np.int16]:
    t = np.arange(count, dtype=np.float64) / rate
    ramp = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)
    tone: npt.NDArray[np.float64] = 0.3 * np.sin(2 * math.pi * 440 * t) * ramp
    return (tone * 32767).astype(np.int16)
