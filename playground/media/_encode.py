"""The one H.264 encoder set-up, shared by the renderer and the benchmark's bare-encode baseline."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import av

# Chosen by measurement on 2 cores (benchmarks/bench_render.py). These previews are flat
# gradients, sprites and text, which "ultrafast" encodes about twice as fast as "superfast" with
# no visible loss at this crf; the files are somewhat larger, which does not matter locally.
PRESET = "ultrafast"
CRF = 23
# 0 lets x264 choose its thread count. On content this light it mostly keeps one core busy,
# which is why the renderer draws frames on a second thread (see _prefetch.py).
THREADS = 0
# BT.709, limited range: the matrix the renderer converts RGB with (ITU-T H.273 code points).
_BT709 = 1
_LIMITED_RANGE = 1


def encode_frames(
    frames: Iterable[av.VideoFrame],
    path: Path,
    width: int,
    height: int,
    fps: int,
    *,
    container: str = "mp4",
    done: Callable[[av.VideoFrame], None] | None = None,
) -> int:
    """Encode yuv420p frames into H.264 in an MP4 (or MOV) at exactly fps, index at the front.

    Returns the number of frames written. ``done`` receives each frame once the encoder has
    returned from it (for reuse). ``path`` is written in place; callers that need an atomic
    result write to a temporary name and rename.
    """
    options = {"movflags": "+faststart", "video_track_timescale": str(fps)}
    count = 0
    with av.open(str(path), mode="w", format=container, options=options) as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"preset": PRESET, "crf": str(CRF)}
        stream.codec_context.thread_count = THREADS
        context = stream.codec_context
        context.color_primaries = _BT709
        context.color_trc = _BT709
        context.colorspace = _BT709
        context.color_range = _LIMITED_RANGE
        time_base = Fraction(1, fps)
        for frame in frames:
            frame.pts = count
            frame.time_base = time_base
            output.mux(stream.encode(frame))
            count += 1
            if done is not None:
                done(frame)
        output.mux(stream.encode(None))
    return count
