"""The run slots, shared fairly between API keys.

A plain semaphore serves waiters first come, first served: a key that queues a hundred tasks
would then delay every other key's next render by a hundred renders. Here the next free slot
goes to the waiting key that was served least recently (a key that had nothing running or
waiting in between counts as never served; ties go to the task submitted first), so keys take
turns: with one slot, key A's backlog of many and key B's one task run A, B, A, A... rather
than A, A, A, ..., B. Within one key, tasks keep their order.

Restored tasks that were RUNNING when the last process stopped wait ``first``: they started
before anything now waiting, so they get slots before anyone.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

_Waiter = tuple[int, "asyncio.Future[None]"]  # (task seq, woken with a slot)


class FairSlots:
    """``size`` slots, handed out in turns between owners (see the module docstring)."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._first: deque[tuple[str, asyncio.Future[None]]] = deque()
        self._queues: dict[str, deque[_Waiter]] = {}
        self._holding: Counter[str] = Counter()
        # The turn at which each owner last got a slot; kept only while it holds or waits for one.
        self._last_turn: dict[str, int] = {}
        self._turn = 0

    @asynccontextmanager
    async def slot(self, owner: str, seq: int, *, first: bool = False) -> AsyncIterator[None]:
        await self.acquire(owner, seq, first=first)
        try:
            yield
        finally:
            self.release(owner)

    async def acquire(self, owner: str, seq: int, *, first: bool = False) -> None:
        # A free slot means nobody is waiting: release() hands slots to waiters before freeing one.
        if self._free > 0:
            self._free -= 1
            self._grant(owner)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if first:
            self._first.append((owner, woken))
        else:
            self._queues.setdefault(owner, deque()).append((seq, woken))
        try:
            await woken
        except asyncio.CancelledError:
            if woken.done() and not woken.cancelled():
                self.release(owner)  # handed a slot just as it was cancelled: pass it on
            else:
                self._withdraw(owner, woken)
            raise

    def release(self, owner: str) -> None:
        self._holding[owner] -= 1
        if self._holding[owner] <= 0:
            del self._holding[owner]
        self._forget_if_idle(owner)
        while (found := self._next()) is not None:
            who, woken = found
            if not woken.done():  # one cancelled while waiting is skipped
                self._grant(who)
                woken.set_result(None)
                return
        self._free += 1

    def order(self, waiting: Iterable[tuple[str, int]]) -> list[int]:
        """The seqs of these (owner, seq) tasks in the order they would get slots if all waited now."""
        by_owner: dict[str, list[int]] = {}
        for owner, seq in sorted(waiting, key=lambda pair: pair[1]):
            by_owner.setdefault(owner, []).append(seq)
        heap = [(self._last_turn.get(owner, -1), seqs[0], owner) for owner, seqs in by_owner.items()]
        heapq.heapify(heap)
        taken = dict.fromkeys(by_owner, 0)
        turn = self._turn
        result: list[int] = []
        while heap:
            _, seq, owner = heapq.heappop(heap)
            result.append(seq)
            taken[owner] += 1
            if taken[owner] < len(by_owner[owner]):
                turn += 1
                heapq.heappush(heap, (turn, by_owner[owner][taken[owner]], owner))
        return result

    def _grant(self, owner: str) -> None:
        self._holding[owner] += 1
        self._turn += 1
        self._last_turn[owner] = self._turn

    def _next(self) -> tuple[str, asyncio.Future[None]] | None:
        """Take the next waiter: restored RUNNING tasks, then the least recently served owner's."""
        if self._first:
            return self._first.popleft()
        if not self._queues:
            return None
        owner = min(self._queues, key=lambda o: (self._last_turn.get(o, -1), self._queues[o][0][0]))
        queue = self._queues[owner]
        _, woken = queue.popleft()
        if not queue:
            del self._queues[owner]
        return owner, woken

    def _withdraw(self, owner: str, woken: asyncio.Future[None]) -> None:
        """Take a cancelled waiter out of its queue (release may already have skipped it)."""
        self._first = deque(w for w in self._first if w[1] is not woken)
        queue = self._queues.get(owner)
        if queue is not None:
            remaining = deque(w for w in queue if w[1] is not woken)
            if remaining:
                self._queues[owner] = remaining
            else:
                del self._queues[owner]
        self._forget_if_idle(owner)

    def _forget_if_idle(self, owner: str) -> None:
        # Memory stays bounded by the owners active now, however many keys come and go.
        if owner not in self._holding and owner not in self._queues:
            self._last_turn.pop(owner, None)
