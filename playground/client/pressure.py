"""How hard the playground presses a provider: bounded tasks in flight, and one shared backoff.

The guide's advice for many requests at once is to keep a few tasks in flight per key and, when
the provider answers 429, to back off as a whole rather than have every request retry on its
own. Two pieces do that:

* :class:`Gate`: a bounded pool of slots (first come, first served). A run holds a slot from
  just before its create request until its task ends (the runner's hook, see
  :class:`~playground.client.run_state.RunOptions`); while it waits it shows ``waiting``.
* :class:`KeyPressure`: the gate of one provider base URL and API key (by fingerprint; the key
  itself is never kept), from the process-wide :func:`pressure_for`. Its creates go one at a
  time (:meth:`KeyPressure.creating`), and a create answered 429 starts one backoff the whole
  key waits out before its next create. How long comes from the guidance table's policy for
  that answer (Retry-After included): the same numbers the client's own retries use.

The client still retries a refused create itself (a 429 starts no task, so resending is safe);
what this adds is that the other runs of the key hold back meanwhile. A create whose outcome is
unknown is never resent (the client raises OutcomeUnknown; the runner looks for the task).

Gates are not bound to an event loop: a server's loop and a test's loops can share one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from playground.client.api import RetryNote
from playground.client.errors import PlaygroundError, RateLimited
from playground.client.providers import ProviderConfig
from playground.core.guidance import load_guidance

_RATE_LIMIT_STATUS = 429


class Gate:
    """At most ``size`` holders at once; the others wait in order of arrival."""

    def __init__(self, size: int, name: str = "") -> None:
        if size < 1:
            raise ValueError("a gate needs at least one slot")
        self.size = size
        self.name = name
        self._in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._lock = threading.Lock()  # several event loops (threads) may share a gate

    @property
    def in_use(self) -> int:
        return self._in_use

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    def describe(self) -> str:
        """For a waiting run: ``2 of 2 tasks in flight for <name>, 3 waiting``."""
        where = f" for {self.name}" if self.name else ""
        return f"{self._in_use} of {self.size} tasks in flight{where}, {self.waiting} waiting"

    def free(self) -> bool:
        """Whether :meth:`hold` would get a slot at once."""
        return self._in_use < self.size and not self.waiting

    def resize(self, size: int) -> None:
        """A new bound (settings changed); holders over it keep their slots until they end."""
        if size < 1:
            raise ValueError("a gate needs at least one slot")
        with self._lock:
            self.size = size
            self._hand_over()

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """A slot for the body of the ``async with``; waits for one first."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    def try_acquire(self) -> bool:
        """Take a slot if one is free now (no waiting); pair it with :meth:`release`."""
        with self._lock:
            if self._in_use < self.size and not self._waiters:
                self._in_use += 1
                return True
            return False

    async def acquire(self) -> None:
        if self.try_acquire():
            return
        with self._lock:
            if self._in_use < self.size and not self._waiters:
                self._in_use += 1
                return
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            with self._lock:
                if waiter.done() and not waiter.cancelled():
                    self._in_use -= 1  # handed a slot just as it was cancelled: give it back
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                self._hand_over()
            raise

    def release(self) -> None:
        with self._lock:
            self._in_use = max(0, self._in_use - 1)
            self._hand_over()

    def _hand_over(self) -> None:
        # Called with the lock held: the slot goes straight to the first waiter, so nobody
        # arriving later can take it first.
        while self._waiters and self._in_use < self.size:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            self._in_use += 1
            _wake(waiter)

    # -- the create hook (a plain gate has none) ------------------------------------------------

    @contextlib.asynccontextmanager
    async def creating(self) -> AsyncIterator[None]:
        """Around one create request (its retries included)."""
        yield

    def backing_off_s(self) -> float:
        """Seconds a create through this gate must still wait (a plain gate: none)."""
        return 0.0

    def saw_retry(self, note: RetryNote) -> None:
        """The client is about to wait and resend a request of a run holding this gate."""

    def saw_failure(self, exc: PlaygroundError) -> None:
        """A create of a run holding this gate failed for good."""


class KeyPressure(Gate):
    """The gate of one provider and key: bounded tasks in flight, one create at a time, and one
    shared backoff after a 429."""

    def __init__(self, size: int, name: str = "", *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(size, name)
        self._create = Gate(1, name)
        self._clock = clock
        self.backoff_until = 0.0
        self.creates = 0  # create requests started through this key (first attempts)
        self.rate_limited = 0  # creates answered 429 (each retry's answer counts)

    def backing_off_s(self) -> float:
        """Seconds left of the shared backoff (0 when none)."""
        return max(0.0, self.backoff_until - self._clock())

    @contextlib.asynccontextmanager
    async def creating(self) -> AsyncIterator[None]:
        async with self._create.hold():
            # Re-checked after each wait: a create answered 429 meanwhile may have extended it.
            left = self.backing_off_s()
            while left > 0:
                await asyncio.sleep(left)
                left = self.backing_off_s()
            self.creates += 1
            yield

    def saw_retry(self, note: RetryNote) -> None:
        if note.op == "create" and _is_rate_limit(note.guidance_id):
            self.rate_limited += 1
            self._back_off(note.wait_s)

    def saw_failure(self, exc: PlaygroundError) -> None:
        if not isinstance(exc, RateLimited):
            return
        self.rate_limited += 1
        policy = exc.guidance.retry
        wait = policy.delay_s(max(1, exc.attempts), exc.retry_after_s)
        # A Retry-After beyond the policy's cap means "not now": the key waits it out in full.
        self._back_off(wait if wait is not None else (exc.retry_after_s or policy.cap_s))

    def _back_off(self, seconds: float) -> None:
        self.backoff_until = max(self.backoff_until, self._clock() + max(0.0, seconds))


def _wake(waiter: asyncio.Future[None]) -> None:
    loop = waiter.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        waiter.set_result(None)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(_settle, waiter)


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _is_rate_limit(guidance_id: str) -> bool:
    entry = load_guidance().entry(guidance_id)
    return _RATE_LIMIT_STATUS in entry.match.status


# -- the process-wide registry -----------------------------------------------------------------

_REGISTRY: dict[tuple[str, str], KeyPressure] = {}
_REGISTRY_LOCK = threading.Lock()


def key_fingerprint(provider: ProviderConfig) -> str:
    """Which key a provider uses, as a short sha256 (the key itself is never kept)."""
    if provider.api_key is None:
        return "no-key"
    return hashlib.sha256(provider.api_key.get_secret_value().encode()).hexdigest()[:16]


def pressure_for(provider: ProviderConfig, concurrency: int) -> KeyPressure:
    """The one :class:`KeyPressure` of this provider's base URL and key, holding ``concurrency``
    tasks in flight (a later call with another number changes the bound)."""
    key = (provider.base_url.rstrip("/"), key_fingerprint(provider))
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(key)
        if found is None:
            found = _REGISTRY[key] = KeyPressure(concurrency, f"{provider.kind} at {key[0]}")
    if found.size != concurrency:
        found.resize(concurrency)
    return found


__all__ = ["Gate", "KeyPressure", "key_fingerprint", "pressure_for"]
