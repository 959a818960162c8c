"""Polling schedules compared on simulated tasks: status requests per task and detection lag.

Run: ``python -m benchmarks.bench_polling``.

Each nominal task length (10 s, 60 s, 300 s) is simulated as 41 tasks spread evenly over
80-120 % of it, so a schedule cannot look good by happening to poll on a round number. A
task is queued for its first 5 % and then reports whole-number progress that grows evenly
(the gateway format's ``progress``; DashScope's native status has none). The clock is fake:
no test sleeps.

Schedules: the official SDK (polls at 0 s, then waits 1, 1, 2, 2, 2, 4, 4, 4, 5, 5, ... s);
fixed 15 s polling (the providers' advice for running tasks); the playground's schedule
without hints (what it does against DashScope) and with progress hints (the gateway format).
The playground's own numbers come from running :func:`playground.core.polling.watch` itself.

Targets: no more requests than the SDK at no more lag; with progress hints, at most half the
SDK's lag.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from playground.core.polling import (
    SDK_CAP_S,
    SDK_LADDER_S,
    Observation,
    State,
    watch,
)

NOMINAL_S = (10.0, 60.0, 300.0)
SPREAD = 41
QUEUED_FRACTION = 0.05


@dataclass(frozen=True)
class Outcome:
    requests: int
    lag_s: float


def _durations(nominal: float) -> list[float]:
    return [nominal * (0.8 + 0.4 * k / (SPREAD - 1)) for k in range(SPREAD)]


def _observe(duration: float, t: float, *, hints: bool) -> Observation:
    """What the simulated provider reports at time ``t`` for a task of ``duration`` seconds."""
    if t >= duration:
        return Observation("succeeded", 100.0 if hints else None)
    queued_until = duration * QUEUED_FRACTION
    if t < queued_until:
        return Observation("queued", 0.0 if hints else None)
    state: State = "running"
    progress = math.floor(100 * (t - queued_until) / (duration - queued_until)) if hints else None
    return Observation(state, None if progress is None else float(progress))


def _sdk_waits() -> Iterator[float]:
    yield from SDK_LADDER_S
    while True:
        yield SDK_CAP_S


def _fixed_waits(every_s: float) -> Iterator[float]:
    while True:
        yield every_s


def _poll_loop(duration: float, waits: Iterator[float], *, first_at: float) -> Outcome:
    t, requests = first_at, 0
    while True:
        requests += 1
        if t >= duration:
            return Outcome(requests, t - duration)
        t += next(waits)


def _playground(duration: float, *, hints: bool) -> Outcome:
    clock = [0.0]

    async def fetch() -> Observation:
        return _observe(duration, clock[0], hints=hints)

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    async def follow() -> Outcome:
        requests = 0
        async for update in watch(
            fetch,
            clock=lambda: clock[0],
            sleep=sleep,
            deadline_s=10 * duration,
            initial=Observation("queued", 0.0 if hints else None),
        ):
            requests = update.poll_count
        return Outcome(requests, clock[0] - duration)

    return asyncio.run(follow())


Strategy = Callable[[float], Outcome]
STRATEGIES: dict[str, Strategy] = {
    "sdk": lambda d: _poll_loop(d, _sdk_waits(), first_at=0.0),
    "fixed_15s": lambda d: _poll_loop(d, _fixed_waits(15.0), first_at=15.0),
    "playground": lambda d: _playground(d, hints=False),
    "playground_hints": lambda d: _playground(d, hints=True),
}


def measure(nominal: float) -> dict[str, tuple[float, float, float]]:
    """Mean requests per task, mean lag and worst lag (s) per strategy at one nominal length."""
    result: dict[str, tuple[float, float, float]] = {}
    for name, strategy in STRATEGIES.items():
        outcomes = [strategy(d) for d in _durations(nominal)]
        result[name] = (
            sum(o.requests for o in outcomes) / len(outcomes),
            sum(o.lag_s for o in outcomes) / len(outcomes),
            max(o.lag_s for o in outcomes),
        )
    return result


def run() -> list[dict[str, Any]]:
    """One row per schedule, task length and metric."""
    rows: list[dict[str, Any]] = []
    for nominal in NOMINAL_S:
        figures = measure(nominal)
        sdk_requests, sdk_lag, sdk_worst = figures["sdk"]
        for name, (requests, lag, worst) in figures.items():
            targets = _targets(name, sdk_requests, sdk_lag)
            rows.append(_row(nominal, name, "status requests per task", requests, "requests", targets[0], sdk_requests))
            rows.append(_row(nominal, name, "detection lag (mean)", lag, "s", targets[1], sdk_lag))
            rows.append(_row(nominal, name, "detection lag (worst)", worst, "s", "", sdk_worst))
    return rows


def _targets(name: str, sdk_requests: float, sdk_lag: float) -> tuple[str, str]:
    if name == "playground":
        return f"<= {sdk_requests:.3g}", f"<= {sdk_lag:.3g}"
    if name == "playground_hints":
        return f"<= {sdk_requests:.3g}", f"<= {sdk_lag / 2:.3g}"
    return "", ""


def _row(
    nominal: float, name: str, metric: str, value: float, unit: str, target: str, baseline: float
) -> dict[str, Any]:
    return {
        "benchmark": f"polling {name}, {nominal:g} s tasks",
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "target": target,
        "baseline": f"sdk {baseline:.3g}",
    }


def main() -> int:
    from benchmarks.__main__ import table

    print(table(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
