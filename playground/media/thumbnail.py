"""A small picture of a media file: an image scaled down, or a video's first frame (a still)."""

from __future__ import annotations

import io
from pathlib import Path

from playground.media._sources import cover, load_still


def thumbnail_jpeg(path: Path, width: int = 192, height: int = 128) -> bytes:
    """A JPEG covering width x height (cropped evenly, like CSS object-fit: cover).

    Raises ``playground.media.probe.MediaError`` for a file that holds no picture.
    """
    picture = cover(load_still(path, at_least=(width, height)), width, height)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()
