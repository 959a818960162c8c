"""Stand-in video rendering speed, against a bare PyAV encode of the same size and length.

Run: ``python -m benchmarks.bench_render``.

For 720P and 1080P (16:9), 5 s at 30 fps, each figure is the median wall time of 3 runs:

* render: :func:`playground.media.render.render` end to end (all four modes at 720P; text-to-video
  and the heaviest mode, image-to-video with a first and a last frame, at 1080P). Inputs are
  generated beforehand and not timed. Reported as seconds of video per wall second ("x real time");
* bare encode: the same encoder settings fed synthetic frames (a gradient sliding sideways,
  one copy per frame into one reused frame, no text, no inputs), the floor any renderer with
  these settings sits on;
* overhead: render wall time / bare-encode wall time. Bare and render runs alternate so a
  neighbour's load on a shared machine lands on both; the ratio of the fastest runs is shown too;
* for the heaviest mode, render wall time / encoding the same frames drawn beforehand: what
  drawing adds, apart from the content simply being harder to encode than the synthetic slide.

Targets: 720P renders at 3x real time or better; every render within 1.5x of the bare encode.

Also the CPU one render process costs to start (the sandbox's render pool starts one per
worker, and again after a cancelled render): the pool's own command, with its stdin closed so
it ends right after the imports it does before its first job, against the import set the
process had before it stopped importing the ASGI app (FastAPI) through
``playground/sandbox/__init__.py`` and numpy's multi-threaded OpenBLAS start. Target 0.3 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import av
import numpy as np

from playground.media._encode import CRF, PRESET, encode_frames
from playground.media._scenes import backdrop_picture, palette
from playground.media._yuv import FramePool
from playground.media.render import RenderSpec, drawn_frames, render
from playground.media.samples import make_image, make_video
from playground.sandbox.render_pool import worker_command

SECONDS = 5
FPS = 30
RUNS = 3
SIZES = {"720P": (1280, 720), "1080P": (1920, 1080)}
PROMPT = (
    "A corgi surfing a turquoise wave at golden hour, spray in the air, slow motion, "
    "shot on 35 mm film with warm colours and soft grain"
)
REALTIME_TARGET = 3.0
HEAVY = "image-to-video (first + last frame)"
OVERHEAD_TARGET = 1.5
START_RUNS = 7
START_TARGET_S = 0.3
# What a render process imported before: playground.sandbox's __init__ pulled in app.py (and
# FastAPI) and serve.py, then the worker imported the media code before its first job.
OLD_START = (
    "import playground.sandbox.app, playground.sandbox.serve, playground.sandbox.render_worker, "
    "playground.media.probe, playground.media.render"
)


def _wall(job: Callable[[], object]) -> float:
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


def _synthetic(pool: FramePool, count: int) -> Iterator[av.VideoFrame]:
    width, height = pool.size
    colours = palette(np.random.default_rng(0)).colours
    wide = backdrop_picture(2 * width, height, colours, period=width)
    for index in range(count):
        frame, target = pool.take()
        wide.crop((index * 4) % width, 0, width, height).copy_into(target)
        yield frame


def _specs(width: int, height: int, inputs: Path, *, every_mode: bool) -> dict[str, RenderSpec]:
    base = RenderSpec(width, height, SECONDS, fps=FPS, seed=42, caption=PROMPT)
    first = make_image(inputs / f"first-{height}.jpg", width, height, seed=1)
    last = make_image(inputs / f"last-{height}.jpg", width, height, seed=2)
    specs = {
        "text-to-video": base,
        HEAVY: replace(base, mode="image-to-video", first_frame=first, last_frame=last),
    }
    if every_mode:
        people = tuple(make_image(inputs / f"ref{k}.png", 720, 960, seed=10 + k) for k in range(3))
        specs["reference-to-video (3 images)"] = replace(base, mode="reference-to-video", references=people)
        source = make_video(inputs / f"source-{height}.mp4", width, height, SECONDS, seed=3)
        specs["video-edit (same-size source)"] = replace(base, mode="video-edit", source_video=source)
    return specs


def _row(metric: str, value: float, unit: str, target: str, baseline: str) -> dict[str, Any]:
    return {
        "benchmark": "render",
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "target": target,
        "baseline": baseline,
    }


def _start_cpu(command: list[str]) -> float:
    """User + system CPU seconds of one process run to its end (its stdin closed at once)."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert process.stdin is not None
    process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited with {process.returncode}")
    return usage.ru_utime + usage.ru_stime


def worker_start_rows() -> list[dict[str, Any]]:
    """Median CPU of a render-process start now and with the old import set, alternating."""
    new: list[float] = []
    old: list[float] = []
    bare: list[float] = []
    for _ in range(START_RUNS):
        new.append(_start_cpu(worker_command()))
        old.append(_start_cpu([sys.executable, "-c", OLD_START]))
        bare.append(_start_cpu([sys.executable, "-c", "pass"]))
    now, before = statistics.median(new), statistics.median(old)
    return [
        _row(
            "render process start, CPU (user + system)",
            now,
            "s",
            f"<= {START_TARGET_S:g}",
            f"old import set {before:.2f} s; bare interpreter {statistics.median(bare):.2f} s "
            f"(medians of {START_RUNS})",
        ),
        _row("render process start, new / old CPU", now / before, "x", "", "old import set = 1"),
    ]


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = worker_start_rows()
    with tempfile.TemporaryDirectory(prefix="bench-render-") as folder:
        work = Path(folder)
        for label, (width, height) in SIZES.items():
            rows += _measure(label, width, height, work)
    return rows


def _measure(label: str, width: int, height: int, work: Path) -> list[dict[str, Any]]:
    out = work / f"out-{height}.mp4"
    specs = _specs(width, height, work, every_mode=label == "720P")
    # Bare and render runs alternate, so a neighbour's load on this shared machine hits both.
    bare_times: list[float] = []
    render_times: dict[str, list[float]] = {mode: [] for mode in specs}
    # The heaviest mode's own frames, drawn beforehand: encoding them alone separates the cost
    # of the content (zoom and fade are harder to encode than a slide) from the cost of drawing.
    heavy = specs[HEAVY]
    with drawn_frames(heavy, FramePool(width, height)) as source:
        predrawn = list(source)
    own_times: list[float] = []
    for _ in range(RUNS):
        bare_times.append(_wall(partial(_bare, width, height, SECONDS * FPS, out)))
        own_times.append(_wall(partial(encode_frames, predrawn, out, width, height, FPS)))
        for mode, spec in specs.items():
            render_times[mode].append(_wall(partial(render, spec, out)))
    bare, bare_best = statistics.median(bare_times), min(bare_times)
    own = statistics.median(own_times)
    speed_target = f">= {REALTIME_TARGET:g}" if label == "720P" else ""
    rows = [
        _row(
            f"{label} bare encode, synthetic frames (libx264 {PRESET}, crf {CRF})",
            SECONDS / bare,
            "x real time",
            "",
            f"{SECONDS} s of video in {bare:.2f} s (median of {RUNS}; fastest {bare_best:.2f} s)",
        )
    ]
    for mode, times in render_times.items():
        wall, best = statistics.median(times), min(times)
        rows.append(
            _row(f"{label} render, {mode}", SECONDS / wall, "x real time", speed_target, f"bare {SECONDS / bare:.1f}x")
        )
        rows.append(
            _row(
                f"{label} render / bare encode, {mode}",
                wall / bare,
                "x",
                f"<= {OVERHEAD_TARGET:g}",
                f"{wall:.2f} s vs {bare:.2f} s (fastest runs: {best / bare_best:.2f}x)",
            )
        )
    heavy_wall = statistics.median(render_times[HEAVY])
    rows.append(
        _row(
            f"{label} render / encode of its own pre-drawn frames, {HEAVY}",
            heavy_wall / own,
            "x",
            "",
            f"{heavy_wall:.2f} s vs {own:.2f} s encoding alone",
        )
    )
    return rows


def _bare(width: int, height: int, count: int, out: Path) -> None:
    # One reused frame and one copy per frame: the least work a frame source can do.
    pool = FramePool(width, height, keep=1)
    encode_frames(_synthetic(pool, count), out, width, height, FPS, done=pool.give_back)


def main() -> int:
    from benchmarks.__main__ import table

    print(table(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
