"""Output geometry: the documented pixel size for each resolution and aspect ratio."""

from __future__ import annotations

import math

# The Wan 2.7 API reference's table (text-to-video, reference-to-video and edit pages agree).
# Some resellers list 1088x832 for 4:3; that is the 2.6-era size, not 2.7's.
_SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "720P": {
        "16:9": (1280, 720),
        "9:16": (720, 1280),
        "1:1": (960, 960),
        "4:3": (1104, 832),
        "3:4": (832, 1104),
    },
    "1080P": {
        "16:9": (1920, 1080),
        "9:16": (1080, 1920),
        "1:1": (1440, 1440),
        "4:3": (1648, 1248),
        "3:4": (1248, 1648),
    },
}

RESOLUTIONS: tuple[str, ...] = tuple(_SIZES)
RATIOS: tuple[str, ...] = tuple(_SIZES["720P"])


class GeometryError(ValueError):
    """No documented size exists for that resolution and ratio."""


def output_size(resolution: str, ratio: str) -> tuple[int, int]:
    """Width and height in pixels of a video at this resolution and aspect ratio."""
    try:
        return _SIZES[resolution][ratio]
    except KeyError:
        raise GeometryError(
            f"no documented size for resolution {resolution!r} and ratio {ratio!r}; "
            f"resolutions are {', '.join(RESOLUTIONS)} and ratios {', '.join(RATIOS)}"
        ) from None


def nearest_ratio(width: int, height: int) -> str:
    """The documented ratio closest to a picture's own aspect (compared on a log scale)."""
    if width <= 0 or height <= 0:
        raise GeometryError(f"a picture of {width}x{height} has no aspect ratio")
    aspect = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = (int(part) for part in ratio.split(":"))
        return abs(math.log(w / h) - aspect)

    return min(RATIOS, key=distance)


def size_for_media(resolution: str, width: int, height: int) -> tuple[int, int]:
    """Output size when the aspect follows an input picture (image-to-video, a first frame)."""
    return output_size(resolution, nearest_ratio(width, height))
