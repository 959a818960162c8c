"""Who is watching a tab's slot, so a tab shows only its newest run and never an older one's
view after a newer one's.

A tab's mode (its "slot") shows the newest run sent from it; an older run's watcher stops
once a newer run took the slot. Checking before each view is not enough on its own: a view
the older watcher already handed to the UI may still be on its way when the newer run's first
view is made. So the older watcher is told at once (:attr:`SlotWatch.moved`), and the newer
one makes its first view only once the older ones have left (:meth:`SlotWatchers.handed_over`):
a watcher leaves only after the UI took its last view, so the views reach the page in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

Slot = tuple[str, str]  # (browser tab, mode)


@dataclass
class SlotWatch:
    run_id: str
    moved: asyncio.Event = field(default_factory=asyncio.Event)  # a newer run took the slot
    left: asyncio.Event = field(default_factory=asyncio.Event)  # this watcher has stopped


class SlotWatchers:
    """The watchers of every slot (one board's)."""

    def __init__(self) -> None:
        self._by_slot: dict[Slot, list[SlotWatch]] = {}

    @contextlib.contextmanager
    def watching(self, slot: Slot, run_id: str, newest: str | None) -> Iterator[SlotWatch]:
        """Register a watcher of ``run_id`` in ``slot`` for the body of the ``with``; ``newest``
        is the slot's run now (a watcher of an older run is told at once)."""
        watch = SlotWatch(run_id)
        if newest is not None and newest != run_id:
            watch.moved.set()
        self._by_slot.setdefault(slot, []).append(watch)
        try:
            yield watch
        finally:
            watch.left.set()
            found = self._by_slot.get(slot, [])
            if watch in found:
                found.remove(watch)
            if not found:
                self._by_slot.pop(slot, None)

    def taken(self, slot: Slot, run_id: str) -> None:
        """``run_id`` took the slot: every watcher of another run is told to stop."""
        for watch in self._by_slot.get(slot, []):
            if watch.run_id != run_id:
                watch.moved.set()

    async def handed_over(self, slot: Slot, run_id: str, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) until no watcher of another run is left in the slot."""
        others = [w.left.wait() for w in self._by_slot.get(slot, []) if w.run_id != run_id]
        if others:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*others), timeout_s)
