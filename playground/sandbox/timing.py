"""How long a task queues and runs, and the clock formats each surface speaks.

At delay scale 1 a 5 s 720P task queues about 3 s and runs about 10 s; a 15 s 1080P task
runs about 31 s. That is faster than the real 1-5 minutes but keeps the shape (a visible
queue, then a run that grows with duration and resolution) and keeps a live demo bearable.
The ``slow`` scenario multiplies both phases. Scale 0 removes every artificial wait, so a
task takes exactly as long as its rendering. The run phase lasts at least its artificial
delay and at least the render, whichever is longer.

Renders can outlast small artificial delays, so the sandbox also learns how long rendering
takes on this machine (:class:`RenderSpeed`) and counts it in the progress and poll hints it
gives: a client that follows the hints then polls a few times per render, not ten times a
second, which would cost the server it shares with the UI more than the render does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from playground.sandbox.scenarios import Scenario

QUEUE_S = 3.0
RUN_BASE_S = 4.0
RUN_PER_OUTPUT_SECOND_S = 1.2
# Model Studio documents its times in UTC+8 (Beijing), whatever the region.
_BEIJING = timezone(timedelta(hours=8))
_REFERENCE_LINES = 720  # run time grows with the resolution's line count relative to this


@dataclass(frozen=True)
class Delays:
    queue_s: float
    run_s: float


# Wall seconds per megapixel-frame before any render here has been timed. One 1080P render
# alone took ~2.3 ms on the 2-core development machine; two at once at low priority beside a
# busy server take two to four times that, and a guess on the long side costs only a late poll.
_FIRST_GUESS_S = 0.006
_LEARNING_RATE = 0.3


class RenderSpeed:
    """How long renders take on this machine, learnt from the ones that finished."""

    def __init__(self, seconds_per_megapixel_frame: float = _FIRST_GUESS_S) -> None:
        self.per_megapixel_frame = seconds_per_megapixel_frame

    def estimate_s(self, resolution: str, duration_s: float, fps: int = 30) -> float:
        return self.per_megapixel_frame * megapixel_frames(resolution, duration_s, fps)

    def observe(self, seconds: float, resolution: str, duration_s: float, fps: int = 30) -> None:
        work = megapixel_frames(resolution, duration_s, fps)
        if work > 0 and seconds > 0:
            # A moving average: recent renders count most, as the load on the machine changes.
            self.per_megapixel_frame += _LEARNING_RATE * (seconds / work - self.per_megapixel_frame)


def megapixel_frames(resolution: str, duration_s: float, fps: int = 30) -> float:
    """The work in a render: every ratio of a resolution has about the pixels of its 16:9 size."""
    lines = _lines(resolution)
    return lines * lines * 16 / 9 * max(duration_s, 1.0) * fps / 1e6


def delays(resolution: str, duration_s: float, scenario: Scenario | None, scale: float) -> Delays:
    """The artificial waits of one task."""
    lines = _lines(resolution)
    run = RUN_BASE_S + RUN_PER_OUTPUT_SECOND_S * max(duration_s, 1.0) * lines / _REFERENCE_LINES
    queue = QUEUE_S
    if scenario is not None:
        queue *= scenario.queue_factor
        run *= scenario.run_factor
    return Delays(queue * scale, run * scale)


def _lines(resolution: str) -> int:
    try:
        return int(resolution.rstrip("Pp"))
    except ValueError:
        return _REFERENCE_LINES


def dashscope_time(ts: float) -> str:
    """``2025-09-29 14:18:52.331``: UTC+8 with milliseconds, as Model Studio writes times."""
    moment = datetime.fromtimestamp(ts, _BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def iso_time(ts: float) -> str:
    """``2026-04-15T00:00:00.000Z``, as the guide page's minimal response writes times."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
