"""50 concurrent sessions through gradio_client, each running a text-to-video task on the sandbox.

Reports how many finished, how many were lost or crossed into another session, and the wall
time, beside one session alone in the same run (the baseline).

Then the per-run overhead, with the sandbox's delays at 0 so only the renders take time: the
same 50 sessions (2 s, 720P) against a fresh app, timed against the sandbox's render pool
rendering the same 50 videos alone in this process, as many at a time as the app's sandbox
renders (its ``sandbox_workers``). The ratio is the cost of the UI, the client, the ledger and
the sandbox around the renders; target at most 1.5. Beside it: the server's CPU per run (the
app process and its render workers, from /proc, before and after), the part of it that is
not rendering (less the pool's own CPU for the same renders), and the server process's peak
memory growth per connected session. The 50 gradio_client sessions run in this benchmark's
process, on the same 2 cores as the server, as a busy demo's browsers would not.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from gradio_client import Client

import tests.load_sessions
from benchmarks.process_usage import MB, PeakSampler, cpu_seconds, steady_rss
from playground.sandbox.render_pool import RenderPool
from playground.sandbox.worker import Outcome, RenderJob
from playground.settings import Settings
from tests.fixtures_app import start_app, stop_app
from tests.load_sessions import run_sessions

SESSIONS = 50
RATIO_TARGET = 1.5
# How long a session's client waits for an answer in the delay-scale-0 phase. gradio_client's
# default is 5 s, and a burst of 50 new sessions on 2 cores (each fetching about 1 MB of
# config and API info) keeps some waiting longer; a browser on a busy demo would wait.
PATIENT_S = 120.0


@contextmanager
def _patient_clients(timeout_s: float) -> Iterator[None]:
    """tests/load_sessions.py's sessions, with their clients waiting ``timeout_s`` per request."""
    original = getattr(tests.load_sessions, "Client")  # noqa: B009
    setattr(tests.load_sessions, "Client", partial(Client, httpx_kwargs={"timeout": timeout_s}))  # noqa: B010
    try:
        yield
    finally:
        setattr(tests.load_sessions, "Client", original)  # noqa: B010


def _row(metric: str, value: float, unit: str, target: str = "", baseline: str = "") -> dict[str, Any]:
    return {"benchmark": "load", "metric": metric, "value": value, "unit": unit, "target": target,
            "baseline": baseline}


def _job(index: int, out: Path) -> RenderJob:
    """What the sandbox renders for one load session's request (2 s, 720P, 16:9, no inputs)."""
    return RenderJob(
        mode="text-to-video", resolution="720P", ratio="16:9", duration=2, seed=index,
        title=f"wan2.7-t2v 720P <ratio> <duration> seed {index} prompt_extend on",
        caption=f"load session {index} {time.time_ns()}", inputs=(), out_path=out / f"{index}.mp4", limits={},
    )


async def _renders_alone(out: Path, count: int, workers: int) -> tuple[float, float, list[Outcome]]:
    """Wall seconds and the render processes' CPU seconds for ``count`` renders, ``workers`` at a time."""
    pool = RenderPool(workers)
    slots = asyncio.Semaphore(workers)  # the sandbox's run slots: never more renders than workers

    async def one(index: int) -> Outcome:
        async with slots:
            return await pool.run(_job(index, out))

    try:
        start = time.perf_counter()
        outcomes = await asyncio.gather(*(one(i) for i in range(count)))
        wall = time.perf_counter() - start
        cpu = sum(cpu_seconds(pid) for pid in pool.pids())  # the workers stay for the next job
    finally:
        pool.close()
    return wall, cpu, outcomes


def overhead_rows() -> list[dict[str, Any]]:
    """The delay-scale-0 phase: 50 sessions against the render pool alone, in the same run."""
    workers = Settings().sandbox_workers
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        (Path(tmp) / "alone").mkdir()
        alone_s, pool_cpu, outcomes = asyncio.run(_renders_alone(Path(tmp) / "alone", SESSIONS, workers))
        if not all(o.ok for o in outcomes):
            raise RuntimeError(f"the render pool failed: {next(o for o in outcomes if not o.ok)}")
        print(f"  {SESSIONS} renders alone: {alone_s:.1f} s", file=sys.stderr, flush=True)
        app = start_app(Path(tmp) / "app", delay_scale=0.0)
        try:
            run_sessions(app.url + "/", 1)  # first-use imports and the render workers' start
            pid = app.process.pid
            idle = steady_rss(pid)
            cpu_before = cpu_seconds(pid)
            with PeakSampler(pid, with_children=False) as server, _patient_clients(PATIENT_S):
                crowd = run_sessions(app.url + "/", SESSIONS)
            cpu_used = cpu_seconds(pid) - cpu_before
            print(f"  {crowd.succeeded} of {SESSIONS} in {crowd.wall_s:.1f} s", file=sys.stderr, flush=True)
            hasty = run_sessions(app.url + "/", SESSIONS)  # gradio_client as it comes: 5 s timeouts
        finally:
            stop_app(app)
    ratio = crowd.wall_s / alone_s
    per_run = cpu_used / SESSIONS
    failed = [f"{r.state or 'no state'}: {r.error}"[:160] for r in crowd.sessions if r.state != "succeeded"]
    hasty_failed = [r.error[:80] for r in hasty.sessions if r.state != "succeeded"]
    return [
        _row(f"delay scale 0, default gradio_client (5 s timeouts): sessions finished of {SESSIONS}",
             hasty.succeeded, "", str(SESSIONS), f"first failure: {hasty_failed[0]}" if hasty_failed else ""),
        _row(f"delay scale 0, clients waiting {PATIENT_S:g} s: sessions finished of {SESSIONS}", crowd.succeeded, "",
             str(SESSIONS), f"first failure: {failed[0]}" if failed else ""),
        _row(f"delay scale 0: {SESSIONS} sessions / the same renders in the pool alone", round(ratio, 2), "x",
             f"<= {RATIO_TARGET:g}", f"{crowd.wall_s:.1f} s vs {alone_s:.1f} s ({workers} render workers)"),
        _row("delay scale 0: server CPU per run (app + render workers)", round(per_run, 2), "s", "",
             f"the pool alone: {pool_cpu / SESSIONS:.2f} s per render"),
        _row("delay scale 0: server CPU per run beside the render", round(per_run - pool_cpu / SESSIONS, 2), "s",
             "", "app + workers less the pool's CPU for the same render"),
        _row("delay scale 0: server RSS peak growth per connected session",
             round((server.peak - idle) / SESSIONS / MB, 2), "MB", "",
             f"app process idle {idle / MB:.0f} MB, peak {server.peak / MB:.0f} MB"),
    ]


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = start_app(Path(tmp), delay_scale=0.3)
        try:
            alone = run_sessions(app.url + "/", 1)
            crowd = run_sessions(app.url + "/", SESSIONS)
        finally:
            stop_app(app)
    rows = overhead_rows()
    times = [s.seconds for s in crowd.sessions]
    lost = SESSIONS - crowd.succeeded
    return [
        {
            "benchmark": "load",
            "metric": f"sessions finished of {SESSIONS}",
            "value": crowd.succeeded,
            "unit": "",
            "target": str(SESSIONS),
            "baseline": "",
        },
        {
            "benchmark": "load",
            "metric": "runs lost or failed",
            "value": lost,
            "unit": "",
            "target": "0",
            "baseline": next((f"first failure: {r.state or 'no state'}: {r.error}"[:160]
                              for r in crowd.sessions if r.state != "succeeded"), ""),
        },
        {
            "benchmark": "load",
            "metric": "sessions that saw another's run",
            "value": crowd.crossed,
            "unit": "",
            "target": "0",
            "baseline": "",
        },
        {
            "benchmark": "load",
            "metric": "wall time, all sessions",
            "value": crowd.wall_s,
            "unit": "s",
            "target": "",
            "baseline": f"one session alone {alone.wall_s:.1f} s",
        },
        {
            "benchmark": "load",
            "metric": "median session time",
            "value": statistics.median(times),
            "unit": "s",
            "target": "",
            "baseline": f"one session alone {alone.wall_s:.1f} s",
        },
        *rows,
    ]


def main() -> int:
    from benchmarks.__main__ import table

    print(table(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
