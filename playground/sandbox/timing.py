"""How long a task queues and runs, and the clock formats each surface speaks.

At delay scale 1 a 5 s 720P task queues about 3 s and runs about 10 s; a 15 s 1080P task
runs about 31 s. That is faster than the real 1-5 minutes but keeps the shape (a visible
queue, then a run that grows with duration and resolution) and keeps a live demo bearable.
The ``slow`` scenario multiplies both phases. Scale 0 removes every artificial wait, so a
task takes exactly as long as its rendering. The run phase lasts at least its artificial
delay and at least the render, whichever is longer.
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


def delays(resolution: str, duration_s: float, scenario: Scenario | None, scale: float) -> Delays:
    """The artificial waits of one task."""
    try:
        lines = int(resolution.rstrip("Pp"))
    except ValueError:
        lines = _REFERENCE_LINES
    run = RUN_BASE_S + RUN_PER_OUTPUT_SECOND_S * max(duration_s, 1.0) * lines / _REFERENCE_LINES
    queue = QUEUE_S
    if scenario is not None:
        queue *= scenario.queue_factor
        run *= scenario.run_factor
    return Delays(queue * scale, run * scale)


def dashscope_time(ts: float) -> str:
    """``2025-09-29 14:18:52.331``: UTC+8 with milliseconds, as Model Studio writes times."""
    moment = datetime.fromtimestamp(ts, _BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def iso_time(ts: float) -> str:
    """``2026-04-15T00:00:00.000Z``, as the guide page's minimal response writes times."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
