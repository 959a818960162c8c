"""How long a video task is expected to take: a progress estimate where the provider gives none.

DashScope's native status reports no progress (the gateway format does). For such a run the UI
shows the time elapsed against the time a task of that resolution and length is expected to
take, always labelled as an estimate and never past :data:`CEILING` (only the provider can say
a task is done).

* A real provider: Model Studio says a video task usually takes one to five minutes; this
  expects 60 s plus 6 s per output second at 720P, more for more lines (5 s 720P: 90 s;
  15 s 1080P: 195 s).
* The embedded sandbox: its own timing (``playground/sandbox/timing.py``, mirrored here; a test
  keeps the two equal) at its delay scale, with the ``slow`` scenario's longer queue and run.

Pure: no I/O.
"""

from __future__ import annotations

# The sandbox's timing at delay scale 1 (playground/sandbox/timing.py: QUEUE_S, RUN_BASE_S,
# RUN_PER_OUTPUT_SECOND_S) and its scenarios' pace (playground/sandbox/scenarios.py:
# queue_factor, run_factor).
SANDBOX_QUEUE_S = 3.0
SANDBOX_RUN_BASE_S = 4.0
SANDBOX_RUN_PER_OUTPUT_SECOND_S = 1.2
SANDBOX_PACE: dict[str, tuple[float, float]] = {"slow": (15.0, 6.0)}

PROVIDER_BASE_S = 60.0
PROVIDER_PER_OUTPUT_SECOND_S = 6.0
REFERENCE_LINES = 720
DEFAULT_DURATION_S = 5.0  # a request without one (or "keep the source's length")
CEILING = 95.0


def _lines(resolution: str | None) -> int:
    try:
        return int(str(resolution or "").rstrip("Pp"))
    except ValueError:
        return REFERENCE_LINES


def expected_s(
    resolution: str | None, duration_s: float | None, *, sandbox_scale: float | None = None,
    scenario: str | None = None,
) -> float:
    """Seconds from submit to a finished task; ``sandbox_scale`` for the embedded sandbox."""
    seconds = max(float(duration_s or DEFAULT_DURATION_S), 1.0)
    lines = _lines(resolution) / REFERENCE_LINES
    if sandbox_scale is None:
        return PROVIDER_BASE_S + PROVIDER_PER_OUTPUT_SECOND_S * seconds * lines
    queue_factor, run_factor = SANDBOX_PACE.get(scenario or "", (1.0, 1.0))
    run = (SANDBOX_RUN_BASE_S + SANDBOX_RUN_PER_OUTPUT_SECOND_S * seconds * lines) * run_factor
    # At scale 0 only the render takes time: a second or so.
    return max((SANDBOX_QUEUE_S * queue_factor + run) * sandbox_scale, 1.0)


def estimate_percent(elapsed_s: float, expected: float) -> float:
    """Elapsed time as a share of the expected time, in percent, at most :data:`CEILING`."""
    if expected <= 0:
        return CEILING
    return min(CEILING, max(0.0, 100.0 * elapsed_s / expected))
