"""One task's production, run in the render pool: probe the inputs, size the video, render it.

Everything here is blocking and CPU-bound; it takes and returns plain values and touches no
shared state, so any number of productions can run side by side. The codec libraries are
imported on first use, so importing the sandbox stays cheap for processes that never render.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from playground.core.geometry import nearest_ratio, output_size
from playground.core.modes import MediaLimit, Mode
from playground.media.cues import ShotCue, visible

if TYPE_CHECKING:
    from playground.media.probe import MediaInfo

FPS = 30  # the documented output frame rate
# Placeholders in a job's title for what only the probed inputs decide.
RATIO_SLOT = "<ratio>"
DURATION_SLOT = "<duration>"


@dataclass(frozen=True)
class MediaInput:
    """One input file, already inside the sandbox: its media type and where it was named."""

    type: str  # a media type, or "audio_url" / "reference_voice" (the profile's limit names)
    param: str  # its JSON path in the request, for messages
    path: Path


@dataclass(frozen=True)
class RenderJob:
    mode: Mode
    resolution: str
    ratio: str | None  # None: the output takes the aspect of the first frame, clip or source
    duration: int  # 0 keeps the source video's length (edit)
    seed: int
    title: str
    caption: str
    inputs: tuple[MediaInput, ...]
    out_path: Path
    limits: Mapping[str, MediaLimit]
    # The prompt's timed shots (shot_plan.py); reference indexes count the reference images and
    # videos among the inputs, in media order.
    shots: tuple[ShotCue, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """A finished production: the video's facts, or why the task failed."""

    width: int = 0
    height: int = 0
    duration_s: float = 0.0
    input_video_s: float = 0.0
    ratio: str = ""
    fail_code: str | None = None
    fail_message: str | None = None
    fail_param: str | None = None

    @property
    def ok(self) -> bool:
        return self.fail_code is None


def _failed(code: str, message: str, param: str | None = None) -> Outcome:
    return Outcome(fail_code=code, fail_message=message, fail_param=param)


def produce(job: RenderJob) -> Outcome:
    """Check the inputs as the real service does, then render the video to job.out_path."""
    from playground.media.checks import check_file
    from playground.media.probe import MediaError
    from playground.media.render import RenderSpec, render

    infos: dict[int, MediaInfo] = {}
    for index, item in enumerate(job.inputs):
        # The very check the playground's client runs before it uploads (media/checks.py).
        verdict = check_file(item.path, job.limits.get(item.type), ())
        if verdict.unreadable is not None:
            return _failed("InvalidParameter.DataInspection",
                           f"{item.param} ({item.type}): the file cannot be used: {verdict.unreadable}", item.param)
        if verdict.errors or verdict.info is None:
            lines = " | ".join(f"{item.param} ({item.type}): {p.message}; {p.fix}" for p in verdict.errors)
            return _failed("InvalidParameter", lines, item.param)
        infos[index] = verdict.info

    def first(kind: str) -> tuple[Path, MediaInfo] | None:
        for index, item in enumerate(job.inputs):
            if item.type == kind:
                return item.path, infos[index]
        return None

    def all_of(*kinds: str) -> list[tuple[Path, MediaInfo]]:
        return [(item.path, infos[i]) for i, item in enumerate(job.inputs) if item.type in kinds]

    # The picture whose aspect the output follows when the request gives no ratio.
    guide = first("first_frame") or first("first_clip") or first("video")
    if job.ratio is not None and not (job.mode == "reference-to-video" and first("first_frame")):
        ratio = job.ratio
    elif guide is not None and guide[1].width and guide[1].height:
        ratio = nearest_ratio(guide[1].width, guide[1].height)
    else:
        return _failed("InvalidParameter", "the output's aspect ratio cannot be determined from the media")
    width, height = output_size(job.resolution, ratio)

    duration = float(job.duration)
    input_video = 0.0
    source = first("video")
    clip = first("first_clip")
    if job.mode == "video-edit" and source is not None:
        length = source[1].duration_s or 0.0
        duration = length if job.duration == 0 else min(float(job.duration), length)
        input_video = duration
    elif clip is not None:
        input_video = clip[1].duration_s or 0.0
    elif job.mode == "reference-to-video":
        input_video = sum(info.duration_s or 0.0 for _, info in all_of("reference_video"))

    ratio_text = ratio + (" (from input)" if guide and ratio != job.ratio else "")
    duration_text = f"{duration:g} s" + (" (source)" if job.duration == 0 else "")
    try:
        spec = RenderSpec(
            width=width,
            height=height,
            duration_s=duration,
            fps=FPS,
            seed=job.seed,
            mode=job.mode,
            title=job.title.replace(RATIO_SLOT, ratio_text).replace(DURATION_SLOT, duration_text),
            caption=job.caption,
            first_frame=(first("first_frame") or (None,))[0],
            last_frame=(first("last_frame") or (None,))[0],
            first_clip=clip[0] if clip else None,
            references=tuple(path for path, _ in all_of("reference_image", "reference_video")),
            source_video=source[0] if source else None,
            shots=visible(job.shots, duration),
        )
        render(spec, job.out_path)  # atomic: the file is whole or absent
    except (MediaError, OSError, ValueError) as exc:
        return _failed("InternalError.Algo", f"the video could not be rendered: {exc}")
    return Outcome(width, height, round(duration, 3), round(input_video, 3), ratio)
