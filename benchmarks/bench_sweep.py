"""Variations sweeps: throughput against the sandbox's render pool, and pressure under 429s.

Run: ``python -m benchmarks bench_sweep``.

* Throughput: a 12-variation sweep (text-to-video, 720P, 2 s, 12 seeds) run by
  :func:`playground.client.sweep.run_sweep` on a sandbox at delay scale 0 served over loopback,
  with the sweep command's defaults (concurrency ``PLAYGROUND_CONCURRENCY``, default polling),
  against rendering the same 12 jobs straight through a :class:`RenderPool` with the sandbox's
  worker count, measured in the same run (pool first, then the sweep, then the pool again; the
  faster pool time is the baseline). Target: the sweep takes at most 1.25x the pool's time.
* Pressure: the same 12 variations under the ``rate_limit`` rehearsal (2 of every 3 creates
  answered 429 with Retry-After 1 s). Create requests are counted as they leave the client (an
  httpx transport that counts POSTs to the create URL and their answers), not by the pressure
  code under test. Targets: exactly 12 successful creates, and no more attempts than the
  guidance table's policy allows for the 429s seen: one resend per 429, never more than its
  ``max_attempts`` for one variation.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from playground.client.api import RetryNote, VideoClient
from playground.client.ledger import Ledger
from playground.client.providers import ProviderConfig
from playground.client.run_state import RunOptions
from playground.client.sweep import SweepItem, SweepPlan, SweepRun, describe_provider, new_batch_id, run_sweep
from playground.core.guidance import load_guidance
from playground.core.profile import load_profile
from playground.core.variation_grid import preview
from playground.core.variations import Axis
from playground.sandbox import SandboxConfig, serve_in_thread, standalone_app
from playground.sandbox.render_pool import RenderPool
from playground.sandbox.worker import RenderJob
from playground.settings import Settings

COUNT = 12
TARGET_RATIO = 1.25
BASE = {"mode": "text-to-video", "prompt": "a red kite over a beach, golden hour", "duration": 2, "resolution": "720P"}


def _plan(provider: ProviderConfig, ledger: Ledger) -> SweepPlan:
    profile = load_profile()
    grid = preview("text-to-video", BASE, [Axis("seed", tuple(range(1, COUNT + 1)))], profile, provider.wire,
                   limit=COUNT)
    items = [SweepItem(e.variation.index, e.variation.label, dict(e.variation.values), e.body) for e in grid.entries]
    return SweepPlan(new_batch_id(), "text-to-video", [{"field": "seed", "values": list(range(1, COUNT + 1))}],
                     describe_provider(provider), str(ledger.path), items, created_at=time.time())


BUSY_SLOTS_PER_WORKER = 3


class _CountingTransport(httpx.AsyncHTTPTransport):
    """Counts create requests (POSTs to the create URL) and their answers' statuses."""

    def __init__(self, create_url: str, seen: Counter[int]) -> None:
        super().__init__()
        self.create_url, self.seen = create_url, seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method == "POST" and str(request.url) == self.create_url:
            self.seen[response.status_code] += 1
        return response


async def _sweep(root: str, folder: Path, scenario: str | None, seen: Counter[int],
                 notes: list[RetryNote], concurrency: int | None = None) -> tuple[float, SweepPlan]:
    settings = Settings()
    provider = ProviderConfig(kind="sandbox", wire="dashscope", base_url=root + "/sandbox",
                              api_key=SecretStr(f"sk-bench-{new_batch_id()}"), scenario=scenario)

    def factory(p: ProviderConfig, on_retry: Any) -> VideoClient:
        def note(n: RetryNote) -> None:
            notes.append(n)
            on_retry(n)

        return VideoClient(p, on_retry=note, transport=_CountingTransport(p.create_url(), seen))

    ledger = Ledger(folder / "ledger.sqlite3")
    plan = _plan(provider, ledger)
    how = SweepRun(provider=provider, ledger=ledger, out_dir=folder / "videos", summary_dir=folder,
                   options=RunOptions(profile=load_profile(), client_factory=factory),
                   concurrency=concurrency or settings.concurrency)
    started = time.perf_counter()
    await run_sweep(plan, how)
    return time.perf_counter() - started, plan


async def _pool(folder: Path, workers: int) -> float:
    profile = load_profile()
    pool = RenderPool(workers)
    try:
        pool.warm(workers)
        jobs = [RenderJob(mode="text-to-video", resolution="720P", ratio="16:9", duration=2, seed=seed,
                          title="wan2.7-t2v · 720P", caption=str(BASE["prompt"]), inputs=(),
                          out_path=folder / f"pool-{seed}.mp4", limits=dict(profile.media))
                for seed in range(1, COUNT + 1)]
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(pool.run(job) for job in jobs))
        elapsed = time.perf_counter() - started
    finally:
        pool.close()
    assert all(o.fail_code is None for o in outcomes), outcomes
    return elapsed


def run() -> list[dict[str, Any]]:
    logging.getLogger("stamina").addHandler(logging.NullHandler())  # each 429's retry is expected here
    logging.getLogger("stamina").propagate = False
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        config = SandboxConfig(data_dir=folder / "sandbox", profile=load_profile(), delay_scale=0.0)
        with serve_in_thread(standalone_app(config)) as root:
            pool_first = asyncio.run(_pool(folder, config.workers))
            seen: Counter[int] = Counter()
            sweep_s, plan = asyncio.run(_sweep(root, folder / "plain", None, seen, []))
            # Each task slot waits for its first status poll (1 s, as the official SDK) after a
            # render that takes a fraction of that at delay scale 0: with as many slots as render
            # workers the pool idles between polls. More slots keep it busy, and what is left is
            # the sweep's own overhead.
            busy = BUSY_SLOTS_PER_WORKER * config.workers
            busy_s, busy_plan = asyncio.run(_sweep(root, folder / "busy", None, Counter(), [], busy))
            pool_again = asyncio.run(_pool(folder, config.workers))
            ok = sum(i.state == "succeeded" for i in plan.items)
            busy_ok = sum(i.state == "succeeded" for i in busy_plan.items)
            pressure_seen: Counter[int] = Counter()
            notes: list[RetryNote] = []
            pressure_s, pressured = asyncio.run(_sweep(root, folder / "pressure", "rate_limit", pressure_seen, notes))
    baseline = min(pool_first, pool_again)
    policy = load_guidance().entry("rate_limited").retry
    created = pressure_seen[200]
    refused = pressure_seen[429]
    attempts = sum(pressure_seen.values())
    most_attempts = max((n.attempt + 1 for n in notes if n.op == "create"), default=1)
    rows: list[dict[str, Any]] = [
        {"benchmark": "sweep", "metric": f"{COUNT}-variation sweep / render pool ({ok} succeeded)",
         "value": round(sweep_s / baseline, 3), "unit": "x", "target": f"<= {TARGET_RATIO}",
         "baseline": f"pool {baseline:.2f} s, sweep {sweep_s:.2f} s; concurrency {Settings().concurrency} "
                     "(PLAYGROUND_CONCURRENCY), bound by the 1 s first poll"},
        {"benchmark": "sweep", "metric": f"{COUNT}-variation sweep, --concurrency {busy} / render pool "
                                         f"({busy_ok} succeeded)",
         "value": round(busy_s / baseline, 3), "unit": "x", "target": f"<= {TARGET_RATIO}",
         "baseline": f"pool {baseline:.2f} s, sweep {busy_s:.2f} s ({BUSY_SLOTS_PER_WORKER} tasks in flight per "
                     "render worker)"},
        {"benchmark": "sweep", "metric": "rate_limit: successful creates", "value": created, "unit": "creates",
         "target": f"== {COUNT}", "baseline": f"{sum(i.state == 'succeeded' for i in pressured.items)} succeeded"},
        {"benchmark": "sweep", "metric": "rate_limit: create attempts / allowed (successes + one resend per 429)",
         "value": f"{attempts} / {COUNT + refused}", "unit": "attempts", "target": "attempts <= allowed",
         "baseline": f"{refused} x 429, most attempts for one variation {most_attempts} "
                     f"(policy max {policy.max_attempts}), {pressure_s:.1f} s"},
    ]
    return rows


if __name__ == "__main__":
    from benchmarks.__main__ import table

    print(table(run()))
