"""The polling schedule and the watch generator, on a fake clock: no real sleeps anywhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import bench_polling
from playground.core.polling import (
    SDK_LADDER_S,
    TERMINAL,
    Fetch,
    Observation,
    PollDeadline,
    Sample,
    Schedule,
    State,
    StatusUpdate,
    estimate_remaining_s,
    is_terminal,
    watch,
)


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def script(time: FakeTime, states: Sequence[Observation]) -> tuple[Fetch, list[float]]:
    """A fetch that returns the given observations in turn (the last one forever); and its call times."""
    calls: list[float] = []
    queue = list(states)

    async def fetch() -> Observation:
        calls.append(time.now)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return fetch, calls


async def follow(fetch: Fetch, time: FakeTime, **kw: Any) -> list[StatusUpdate]:
    return [u async for u in watch(fetch, clock=time.clock, sleep=time.sleep, **kw)]


def test_terminal_states_are_defined_once() -> None:
    """Succeeded, failed, canceled and unknown end a task; queued and running do not."""
    assert {"succeeded", "failed", "canceled", "unknown"} == TERMINAL
    assert not is_terminal("queued") and not is_terminal("running") and is_terminal("unknown")


async def test_polls_immediately_without_an_initial_state() -> None:
    """A resumed run asks at once."""
    time = FakeTime()
    fetch, calls = script(time, [Observation("succeeded")])
    updates = await follow(fetch, time, deadline_s=60)
    assert calls == [0.0]
    assert len(updates) == 1 and updates[0].terminal and updates[0].next_poll_s is None


async def test_a_fresh_task_is_not_polled_at_second_zero() -> None:
    """The create answer is the first reading; the first request waits a rung."""
    time = FakeTime()
    fetch, calls = script(time, [Observation("queued"), Observation("running"), Observation("succeeded")])
    updates = await follow(fetch, time, deadline_s=60, initial=Observation("queued"))
    assert updates[0].poll_count == 0 and updates[0].next_poll_s == 1.0
    assert calls == [1.0, 2.0, 4.0]
    assert [u.changed for u in updates] == [True, False, True, True]


async def test_without_hints_the_schedule_is_the_sdks() -> None:
    """1, 1, 2, 2, 2, 4, 4, 4, then 5 s."""
    time = FakeTime()
    fetch, _ = script(time, [Observation("running")] * 12 + [Observation("succeeded")])
    await follow(fetch, time, deadline_s=600, initial=Observation("queued"))
    assert [*SDK_LADDER_S, 5.0, 5.0, 5.0, 5.0, 5.0] == time.sleeps


async def test_progress_aims_at_half_the_time_left() -> None:
    """Steady progress of 1 % a second: the next poll comes half the estimate later."""
    time = FakeTime()

    async def fetch() -> Observation:
        p = min(100.0, time.now)
        return Observation("succeeded" if p >= 100 else "running", p)

    updates = await follow(fetch, time, deadline_s=600)
    # Until two readings show movement, the ladder; then half the remaining time, capped.
    assert time.sleeps[:2] == [1.0, 1.0]
    assert all(s <= Schedule().hint_cap_s for s in time.sleeps)
    assert 0 <= time.now - 100 <= 1.0
    assert len(updates) < 20


async def test_stuck_progress_falls_back_to_the_ladder() -> None:
    """A task parked at 99 % costs no more than the SDK would."""
    time = FakeTime()

    async def fetch() -> Observation:
        if time.now > 200:
            return Observation("succeeded", 100.0)
        return Observation("running", min(99.0, time.now))

    await follow(fetch, time, deadline_s=600)
    tail = time.sleeps[-5:]
    assert tail == [5.0] * 5


async def test_a_poll_after_hint_is_honoured_within_its_cap() -> None:
    """The provider's 'ask again in' wins, up to hint_cap_s."""
    time = FakeTime()
    fetch, _ = script(time, [Observation("running", poll_after_s=7.0), Observation("running", poll_after_s=300.0),
                      Observation("succeeded")])
    await follow(fetch, time, deadline_s=600)
    assert [7.0, Schedule().hint_cap_s] == time.sleeps


async def test_hints_can_be_switched_off() -> None:
    """use_hints=False ignores progress and poll-after alike."""
    time = FakeTime()
    fetch, _ = script(time, [Observation("running", 50.0, poll_after_s=9.0)] * 3 + [Observation("succeeded")])
    await follow(fetch, time, deadline_s=600, schedule=Schedule(use_hints=False))
    assert time.sleeps == [1.0, 1.0, 2.0]


async def test_the_deadline_cancels_and_says_so() -> None:
    """At the deadline the last poll happens exactly then, cancel is asked, and the result is raised."""
    time = FakeTime()
    asked: list[float] = []

    async def cancel() -> bool:
        asked.append(time.now)
        return True

    fetch, calls = script(time, [Observation("running")])
    with pytest.raises(PollDeadline) as caught:
        await follow(fetch, time, deadline_s=10, cancel=cancel)
    assert 10.0 == calls[-1] == asked[0]
    assert caught.value.cancelled and caught.value.waited_s == 10.0
    assert caught.value.last is not None and caught.value.last.state == "running"


async def test_the_deadline_without_a_cancel_says_not_cancelled() -> None:
    """A provider without a cancel leaves the task running, and the error says so."""
    time = FakeTime()
    fetch, _ = script(time, [Observation("queued")])
    with pytest.raises(PollDeadline) as caught:
        await follow(fetch, time, deadline_s=3)
    assert not caught.value.cancelled


async def test_a_resumed_watch_counts_from_the_submit_time() -> None:
    """Elapsed time and the deadline carry over from before the restart."""
    time = FakeTime()
    time.now = 100.0
    fetch, _ = script(time, [Observation("running"), Observation("succeeded")])
    updates = await follow(fetch, time, deadline_s=600, started_at=40.0)
    assert updates[0].elapsed_s == 60.0


async def test_a_terminal_first_reading_ends_at_once() -> None:
    """No sleeping after a terminal state, even past the deadline."""
    time = FakeTime()
    time.now = 1000.0
    fetch, calls = script(time, [Observation("failed")])
    updates = await follow(fetch, time, deadline_s=10, started_at=0.0)
    assert len(calls) == 1 and updates[-1].state == "failed" and time.sleeps == []


def test_estimate_uses_the_providers_eta_first() -> None:
    """A reported ETA beats any estimate from progress."""
    samples = [Sample(0, Observation("running", 10.0)), Sample(10, Observation("running", 20.0, eta_s=3.0))]
    assert estimate_remaining_s(samples) == 3.0


def test_estimate_ignores_time_spent_queued() -> None:
    """Progress rate is measured from the first reading that moved."""
    samples = [Sample(0, Observation("queued", 0.0)), Sample(50, Observation("running", 10.0)),
               Sample(60, Observation("running", 20.0))]
    assert pytest.approx(80.0) == estimate_remaining_s(samples)


def test_estimate_needs_movement() -> None:
    """One moving reading, or none, gives no estimate."""
    assert estimate_remaining_s([]) is None
    assert estimate_remaining_s([Sample(0, Observation("running", 5.0))]) is None
    still = [Sample(0, Observation("running", 5.0)), Sample(5, Observation("running", 5.0))]
    assert estimate_remaining_s(still) is None


observations = st.builds(
    Observation,
    state=st.sampled_from(["queued", "running"]),
    progress=st.one_of(st.none(), st.floats(min_value=0, max_value=100)),
    eta_s=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
    poll_after_s=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
)


@given(st.lists(st.tuples(st.floats(min_value=0.01, max_value=100), observations), min_size=1, max_size=30))
def test_next_delay_is_always_bounded(steps: list[tuple[float, Observation]]) -> None:
    """Whatever a provider reports, the next poll is within [0, max(cap, hint cap)]."""
    schedule = Schedule()
    at = 0.0
    samples = []
    for gap, obs in steps:
        at += gap
        samples.append(Sample(at, obs))
    delay = schedule.next_delay(samples)
    assert 0.0 <= delay <= max(schedule.cap_s, schedule.hint_cap_s)


@given(st.lists(st.sampled_from(["queued", "running"]), min_size=0, max_size=40))
async def test_watch_yields_every_reading_in_order(states: list[State]) -> None:
    """One update per reading, poll counts in order, and the last one is terminal."""
    time = FakeTime()
    fetch, calls = script(time, [*(Observation(s) for s in states), Observation("succeeded")])
    updates = await follow(fetch, time, deadline_s=1e9)
    assert [u.poll_count for u in updates] == list(range(1, len(calls) + 1))
    assert updates[-1].terminal and not any(u.terminal for u in updates[:-1])


def test_benchmark_targets_are_met() -> None:
    """No more requests than the SDK at no more lag; with progress hints, at most half its lag."""
    for nominal in bench_polling.NOMINAL_S:
        figures = bench_polling.measure(nominal)
        sdk_requests, sdk_lag, _ = figures["sdk"]
        plain_requests, plain_lag, _ = figures["playground"]
        hinted_requests, hinted_lag, _ = figures["playground_hints"]
        assert plain_requests <= sdk_requests and plain_lag <= sdk_lag + 1e-9, nominal
        assert hinted_requests <= sdk_requests and hinted_lag <= sdk_lag / 2, nominal


def test_benchmark_rows_have_the_shared_shape() -> None:
    """run() returns the keys python -m benchmarks prints."""
    rows = bench_polling.run()
    assert rows and all(set(r) == {"benchmark", "metric", "value", "unit", "target", "baseline"} for r in rows)
