"""Provider pressure (playground.client.pressure) and the runner's gate hook, over the real sandbox."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from pydantic import SecretStr

from playground.client import KeyPressure, RunState, pressure_for, runner
from playground.client.api import RetryNote
from playground.client.gate_steps import CANCELLED_WAITING
from playground.client.ledger import Ledger
from playground.client.pressure import Gate, key_fingerprint
from playground.client.run_state import RunEvent, RunOptions
from tests.fixtures_client import FAST, T2V, collect, new_key, sandbox_provider

pytestmark = pytest.mark.usefixtures("no_backoff")


def gated(*gates: Gate, batch: tuple[str, dict[str, object]] | None = None, abort: bool = True) -> RunOptions:
    return RunOptions(schedule=FAST, gates=gates, batch=batch, cancel_on_abort=abort)


def body(seed: int) -> dict[str, object]:
    return {**T2V, "input": {**T2V["input"], "seed": seed}}  # type: ignore[dict-item]


async def wait_for(check: object, what: str, timeout_s: float = 30.0) -> None:
    async def poll() -> None:
        done = bool(check())  # type: ignore[operator]
        while not done:
            await asyncio.sleep(0.02)
            done = bool(check())  # type: ignore[operator]

    try:
        await asyncio.wait_for(poll(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


# -- the gate itself ---------------------------------------------------------------------------


async def test_a_gate_lets_in_at_most_its_size_first_come_first_served() -> None:
    gate = Gate(2, "test")
    order: list[int] = []
    release = asyncio.Event()

    async def holder(n: int) -> None:
        async with gate.hold():
            order.append(n)
            await release.wait()

    tasks = [asyncio.create_task(holder(n)) for n in range(5)]
    await wait_for(lambda: gate.waiting == 3, "three waiters")
    assert gate.in_use == 2 and order == [0, 1] and not gate.free()
    assert gate.describe() == "2 of 2 tasks in flight for test, 3 waiting"
    release.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4] and gate.in_use == 0 and gate.free()


async def test_a_waiter_that_is_cancelled_gives_its_place_back() -> None:
    gate = Gate(1)
    await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await wait_for(lambda: gate.waiting == 1, "a waiter")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.release()
    assert gate.in_use == 0 and gate.waiting == 0
    async with gate.hold():
        assert gate.in_use == 1


def test_one_pressure_per_base_url_and_key_and_the_key_is_never_kept() -> None:
    key = SecretStr("sk-pressure-secret-123")
    a = sandbox_provider("http://127.0.0.1:9/sandbox", key=key)
    b = sandbox_provider("http://127.0.0.1:9/sandbox/", "gateway", scenario="rate_limit", key=key)
    other = sandbox_provider("http://127.0.0.1:9/sandbox", key=new_key())
    assert pressure_for(a, 2) is pressure_for(b, 2) and pressure_for(other, 2) is not pressure_for(a, 2)
    assert pressure_for(a, 3).size == 3  # the latest bound wins
    fingerprint = key_fingerprint(a)
    assert "sk-pressure" not in fingerprint and len(fingerprint) == 16
    assert "sk-pressure" not in repr(vars(pressure_for(a, 3)))


def test_a_429_on_a_create_backs_the_whole_key_off_for_the_policys_wait() -> None:
    now = [100.0]
    pressure = KeyPressure(2, clock=lambda: now[0])
    pressure.saw_retry(RetryNote("read", 1, 4, 5.0, "rate_limited", "429"))  # a poll: not a create
    pressure.saw_retry(RetryNote("create", 1, 3, 5.0, "server_error", "500"))  # not a 429
    assert pressure.backing_off_s() == 0
    pressure.saw_retry(RetryNote("create", 1, 4, 2.0, "rate_limited", "429"))
    pressure.saw_retry(RetryNote("create", 1, 4, 1.0, "rate_limited", "429"))  # a shorter one does not cut it
    assert pressure.backing_off_s() == 2.0 and pressure.rate_limited == 2
    now[0] += 2.5
    assert pressure.backing_off_s() == 0


# -- the runner's hook -------------------------------------------------------------------------


async def test_runs_wait_in_queue_and_hold_their_slot_until_the_task_ends(sandbox_base: str, ledger: Ledger,
                                                                           tmp_path: Path) -> None:
    gate = KeyPressure(1, "sandbox")
    provider = sandbox_provider(sandbox_base)
    streams = [runner.run(body(n), provider, ledger, tmp_path, session_id="s1",
                          options=gated(gate, batch=("batch-1", {"seed": n}))) for n in range(3)]
    results: list[list[RunEvent]] = await asyncio.gather(*(collect(s) for s in streams))
    assert [events[-1].state for events in results] == ["succeeded"] * 3
    waited = [events for events in results if any(e.state is RunState.WAITING for e in events)]
    assert len(waited) == 2 and all(e.task_id is None for ev in waited for e in ev if e.state is RunState.WAITING)
    # One slot: each create comes after the previous task ended (ledger times, in order).
    spans = []
    for events in results:
        history = ledger.events(events[-1].run_id)
        sent = next(e.at for e in history if e.state == "submitting")
        ended = next(e.at for e in history if e.state in ("downloading", "succeeded") and e.at >= sent)
        spans.append((sent, ended))
    spans.sort()
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), spans
    assert gate.in_use == 0 and gate.creates == 3
    batch = ledger.batch("batch-1")
    assert len(batch) == 3 and sorted(r.variation()["seed"] for r in batch) == [0, 1, 2]  # type: ignore[index]
    assert ledger.batches("s1") == ["batch-1"] and ledger.batches("nobody") == []


async def test_a_run_cancelled_while_waiting_sends_nothing(sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    gate = Gate(1)
    provider = sandbox_provider(sandbox_base)
    await gate.acquire()  # the queue is full
    task = asyncio.create_task(collect(runner.run(T2V, provider, ledger, tmp_path, run_id="run-w1",
                                                  options=gated(gate))))
    await wait_for(lambda: (r := ledger.get("run-w1")) is not None and r.state == "waiting", "the waiting row")
    assert await runner.cancel("run-w1", ledger, provider) is False  # a live driver ends it itself
    events = await asyncio.wait_for(task, 30)
    last = events[-1]
    assert last.state is RunState.CANCELED and last.message == CANCELLED_WAITING and last.task_id is None
    assert not any(e.state is RunState.SUBMITTING for e in events)
    record = ledger.get("run-w1")
    assert record is not None and record.finished and record.task_id is None and record.bill_json is None
    assert gate.in_use == 1 and gate.waiting == 0  # only the test's own hold is left
    gate.release()


async def test_stopping_a_waiting_run_ends_it_cancelled_with_nothing_sent(sandbox_base: str, ledger: Ledger,
                                                                          tmp_path: Path) -> None:
    gate = Gate(1)
    await gate.acquire()
    task = asyncio.create_task(collect(runner.run(T2V, sandbox_provider(sandbox_base), ledger, tmp_path,
                                                  run_id="run-w2", options=gated(gate))))
    await wait_for(lambda: (r := ledger.get("run-w2")) is not None and r.state == "waiting", "the waiting row")
    task.cancel()  # what Gradio's Stop or Ctrl-C does
    with pytest.raises(asyncio.CancelledError):
        await task
    record = ledger.get("run-w2")
    assert record is not None and record.state == "canceled" and record.finished and record.task_id is None
    assert ledger.events("run-w2")[-1].detail == CANCELLED_WAITING
    gate.release()
    assert gate.in_use == 0


async def test_a_run_left_waiting_by_a_restart_is_created_when_resumed(sandbox_base: str, ledger: Ledger,
                                                                       tmp_path: Path) -> None:
    gate = Gate(1)
    await gate.acquire()
    provider = sandbox_provider(sandbox_base)
    task = asyncio.create_task(collect(runner.run(T2V, provider, ledger, tmp_path, run_id="run-w3",
                                                  options=gated(gate, abort=False))))
    await wait_for(lambda: (r := ledger.get("run-w3")) is not None and r.state == "waiting", "the waiting row")
    task.cancel()  # a server shutting down: its runs are left for resume()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = ledger.get("run-w3")
    assert record is not None and record.state == "waiting" and not record.finished
    assert [r.run_id for r in runner.unfinished(ledger)] == ["run-w3"]
    events = await collect(runner.resume("run-w3", ledger, provider, options=gated(gate := Gate(1))))
    assert events[-1].state is RunState.SUCCEEDED and events[-1].task_id is not None
    assert [e.state for e in events].count(RunState.SUBMITTING) >= 1 and gate.in_use == 0


async def test_a_cancel_for_a_waiting_run_nobody_drives_ends_it_at_once(sandbox_base: str, ledger: Ledger,
                                                                        tmp_path: Path) -> None:
    gate = Gate(1)
    await gate.acquire()
    provider = sandbox_provider(sandbox_base)
    task = asyncio.create_task(collect(runner.run(T2V, provider, ledger, tmp_path, run_id="run-w4",
                                                  options=gated(gate, abort=False))))
    await wait_for(lambda: (r := ledger.get("run-w4")) is not None and r.state == "waiting", "the waiting row")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await runner.cancel("run-w4", ledger, provider) is True
    record = ledger.get("run-w4")
    assert record is not None and record.state == "canceled" and record.finished and record.task_id is None


async def test_under_429s_the_key_backs_off_as_one_and_every_variation_is_created_once(
        sandbox_base: str, ledger: Ledger, tmp_path: Path) -> None:
    """The rate_limit rehearsal answers 2 of every 3 creates with 429 (Retry-After 1 s): with the
    key's creates one at a time, each run needs 3 attempts, within the policy's 4."""
    pressure = KeyPressure(2, "sandbox")
    provider = sandbox_provider(sandbox_base, scenario="rate_limit")
    streams = [runner.run(body(n), provider, ledger, tmp_path, options=gated(pressure)) for n in range(4)]
    results = await asyncio.gather(*(collect(s) for s in streams))
    assert [events[-1].state for events in results] == ["succeeded"] * 4
    assert len({events[-1].task_id for events in results}) == 4
    retries = [e.retry for events in results for e in events if e.retry is not None and e.retry.op == "create"]
    assert pressure.creates == 4 and pressure.rate_limited == len(retries) == 8
    assert all(r.attempt < r.max_attempts for r in retries)
