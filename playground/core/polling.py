"""Polling a task: the schedule and the async generator that follows a task to its end.

Pure: no I/O of its own. The caller injects ``fetch`` (one status request), ``clock`` and
``sleep``, so tests and the benchmark run simulated hours in microseconds.

The schedule (:class:`Schedule`):

* **No hints** (DashScope's native status has none): the official SDK's ladder, 1, 1, 2, 2,
  2, 4, 4, 4 s, then every 5 s. The create answer already tells us the task is queued, so a
  fresh task is not polled at second 0 (the SDK does), which saves one request per task.
* **Progress or an ETA** (the gateway format reports ``progress``): estimate the time left
  from how fast progress moves, and sleep half of it (at most ``hint_cap_s``). Each poll
  refines the estimate, so polls home in on the finish instead of sampling it every 5 s.
  Aiming at half the estimate keeps an estimate that is up to twice too long from ever
  overshooting. Once the estimate says the task should be done, fall back to the ladder,
  so a task stuck at 99 % costs no more than the SDK would.
* **A poll-after hint** from the provider wins over both (bounded by ``hint_cap_s``).

:func:`watch` polls until a terminal state, yielding a :class:`StatusUpdate` for every poll,
and at the overall deadline asks the injected ``cancel`` to stop the remote task, then raises
:class:`PollDeadline` saying whether that worked.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

State = Literal["queued", "running", "succeeded", "failed", "canceled", "unknown"]
STATES: tuple[State, ...] = ("queued", "running", "succeeded", "failed", "canceled", "unknown")
# Defined once: every other module asks is_terminal().
TERMINAL: frozenset[State] = frozenset({"succeeded", "failed", "canceled", "unknown"})

# The official SDK's waits between polls (dashscope BaseAsyncApi.wait): 1 s, doubled every
# third poll, at most 5 s.
SDK_LADDER_S: tuple[float, ...] = (1.0, 1.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0)
SDK_CAP_S = 5.0


def is_terminal(state: str) -> bool:
    """Whether a task in this state will never change again."""
    return state in TERMINAL


@dataclass(frozen=True)
class Observation:
    """One status reading, in provider-neutral terms."""

    state: State
    progress: float | None = None  # percent, 0-100, as the provider reports it
    eta_s: float | None = None  # the provider's own estimate of seconds left
    poll_after_s: float | None = None  # the provider's hint for when to ask again
    detail: Any = None  # whatever the caller wants carried along (the parsed answer)


@dataclass(frozen=True)
class Sample:
    """An observation and when it was made, in seconds since the task was submitted."""

    at_s: float
    observation: Observation


@dataclass(frozen=True)
class StatusUpdate:
    """What :func:`watch` yields after every status reading."""

    observation: Observation
    poll_count: int  # status requests this watch has made (0: the create answer)
    elapsed_s: float  # since the task was submitted
    next_poll_s: float | None  # None once the task is terminal
    changed: bool  # the state differs from the previous update's

    @property
    def state(self) -> State:
        return self.observation.state

    @property
    def progress(self) -> float | None:
        return self.observation.progress

    @property
    def terminal(self) -> bool:
        return is_terminal(self.observation.state)


class PollDeadline(Exception):
    """The deadline passed before the task ended."""

    def __init__(self, waited_s: float, cancelled: bool, last: StatusUpdate | None) -> None:
        super().__init__(f"the task did not end within {waited_s:.0f} s")
        self.waited_s = waited_s
        self.cancelled = cancelled
        self.last = last


@dataclass(frozen=True)
class Schedule:
    """When to poll next, from what the polls so far have shown."""

    ladder_s: tuple[float, ...] = SDK_LADDER_S
    cap_s: float = SDK_CAP_S
    aim_fraction: float = 0.5
    min_s: float = 1.0
    hint_cap_s: float = 30.0
    use_hints: bool = True

    def next_delay(self, samples: Sequence[Sample]) -> float:
        """Seconds until the next poll, given every sample so far (the last is the newest)."""
        if not samples:
            return 0.0
        last = samples[-1].observation
        if self.use_hints and last.poll_after_s is not None and last.poll_after_s >= 0:
            return min(last.poll_after_s, self.hint_cap_s)
        remaining = estimate_remaining_s(samples) if self.use_hints else None
        if remaining is not None and remaining * self.aim_fraction > self.min_s:
            return min(remaining * self.aim_fraction, self.hint_cap_s)
        # No estimate, or the estimate says "any moment now": climb the ladder, counted from
        # the start or from the moment the estimate ran out, whichever is later.
        return self._rung(self._ladder_index(samples))

    def _rung(self, index: int) -> float:
        return self.ladder_s[index] if index < len(self.ladder_s) else self.cap_s

    def _ladder_index(self, samples: Sequence[Sample]) -> int:
        if not self.use_hints:
            return len(samples) - 1
        # Readings since the last one that gave a usable estimate (one pass, not one per prefix).
        since_usable = len(samples)
        first: Sample | None = None
        newest: Sample | None = None
        for i, sample in enumerate(samples):
            first, newest = _advance(first, newest, sample)
            remaining = _estimate(sample, first, newest)
            if remaining is not None and remaining * self.aim_fraction > self.min_s:
                since_usable = len(samples) - 1 - i
        return since_usable - 1


def estimate_remaining_s(samples: Sequence[Sample]) -> float | None:
    """Seconds the task still needs, from the provider's ETA or its progress; None if unknown.

    The rate comes from the first reading above zero and the reading where progress last
    went up, so time spent queued does not slow the estimate, and a task parked at 99 % is
    soon seen as overdue rather than as "one more percent at the usual pace".
    """
    if not samples:
        return None
    first: Sample | None = None
    newest: Sample | None = None
    for sample in samples:
        first, newest = _advance(first, newest, sample)
    return _estimate(samples[-1], first, newest)


def _advance(first: Sample | None, newest: Sample | None, sample: Sample) -> tuple[Sample | None, Sample | None]:
    """The (first moving, last risen) readings once ``sample`` is taken into account."""
    progress = sample.observation.progress
    if progress is None or progress <= 0:
        return first, newest
    if newest is None or newest.observation.progress is None or progress > newest.observation.progress:
        return first or sample, sample
    return first, newest


def _estimate(last: Sample, first: Sample | None, newest: Sample | None) -> float | None:
    if last.observation.eta_s is not None:
        return max(0.0, last.observation.eta_s)
    if first is None or newest is None:
        return None
    assert first.observation.progress is not None and newest.observation.progress is not None
    gained = newest.observation.progress - first.observation.progress
    span = newest.at_s - first.at_s
    if gained <= 0 or span <= 0:
        return None
    left = max(0.0, 100.0 - newest.observation.progress)
    # Time since the newest moving reading already counts against what is left.
    return max(0.0, left * span / gained - (last.at_s - newest.at_s))


Fetch = Callable[[], Awaitable[Observation]]
Cancel = Callable[[], Awaitable[bool]]


@dataclass
class _Watch:
    start: float
    samples: list[Sample] = field(default_factory=list)
    polls: int = 0
    last: StatusUpdate | None = None


async def watch(
    fetch: Fetch,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    deadline_s: float,
    started_at: float | None = None,
    initial: Observation | None = None,
    schedule: Schedule | None = None,
    cancel: Cancel | None = None,
) -> AsyncGenerator[StatusUpdate, None]:
    """Poll ``fetch`` until the task is terminal, yielding an update after every reading.

    ``started_at`` is the submit time on ``clock`` (for a resumed run, the original one, so
    elapsed time and the deadline carry over). ``initial`` is the state the create answer
    reported; without it the first poll is immediate.
    """
    plan = schedule or Schedule()
    w = _Watch(start=clock() if started_at is None else started_at)
    observation = initial
    while True:
        if observation is None:
            observation = await fetch()
            w.polls += 1
        now = clock() - w.start
        w.samples.append(Sample(now, observation))
        terminal = is_terminal(observation.state)
        if not terminal and now >= deadline_s:
            cancelled = await cancel() if cancel is not None else False
            raise PollDeadline(now, cancelled, w.last)
        delay = None if terminal else max(0.0, min(plan.next_delay(w.samples), deadline_s - now))
        changed = w.last is None or w.last.state != observation.state
        w.last = StatusUpdate(observation, w.polls, now, delay, changed)
        yield w.last
        if delay is None:
            return
        await sleep(delay)
        observation = None
