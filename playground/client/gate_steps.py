"""The runner's queue step: wait for the run's gates (``RunOptions.gates``) before the create.

A run with gates is recorded ``waiting`` (nothing sent) and holds every gate from just before
its create request until its task ends (:func:`release_gates`); its create goes through each
gate's :meth:`~playground.client.pressure.Gate.creating` (one create at a time per key, after
any shared backoff). A run cancelled while it waits ends ``canceled`` with nothing sent and
nothing billed; a run left ``waiting`` by a restart is created when it is resumed, since
nothing was sent for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from playground.client.follow_steps import CANCEL_CHECK_S
from playground.client.ledger import STALE_AFTER_S
from playground.client.pressure import Gate
from playground.client.run_state import Run, RunEvent
from playground.core.run_states import RunState

# A waiting run keeps its ledger claim fresh well within the time after which another process
# may take it over.
HEARTBEAT_S = STALE_AFTER_S / 4
# The states in which a run's task is (or may be about to be) in flight: its gates stay held.
IN_FLIGHT = frozenset({RunState.WAITING, RunState.SUBMITTING, RunState.QUEUED, RunState.RUNNING})
CANCELLED_WAITING = "cancelled while waiting in queue: nothing was sent, nothing is billed"


async def take_gates(r: Run, creating: contextlib.AsyncExitStack) -> AsyncIterator[RunEvent]:
    """Hold every gate (into ``r.holds``) and enter every create slot (into ``creating``).

    Ends with the run ``canceled`` (its last event) when a cancel is requested meanwhile.
    """
    if _cancel_requested(r):
        yield cancelled(r)
        return
    for gate in r.options.gates:
        # Taken at once when free (no await between the look and the taking, so two runs
        # cannot both see the last slot free); otherwise the run says it waits, then waits.
        if gate.try_acquire():
            r.holds.callback(gate.release)
            continue
        yield r.emit(RunState.WAITING, f"waiting in queue: {gate.describe()}")
        if not await _wait(r, r.holds.enter_async_context(gate.hold())):
            yield cancelled(r)
            return
    for gate in r.options.gates:
        left = gate.backing_off_s()
        if left > 0:
            yield r.emit(RunState.WAITING, f"the provider asked this key to slow down (429): waiting {left:.1f} s "
                                           "before the next create", log=True)
        if not await _wait(r, creating.enter_async_context(gate.creating())):
            yield cancelled(r)
            return


async def _wait(r: Run, work: Coroutine[Any, Any, object]) -> bool:
    """Await ``work`` (a gate being entered), looking for a cancel request meanwhile; False when
    one came (the wait is given up)."""
    entering = asyncio.ensure_future(work)
    beat = r.now()
    try:
        while True:
            done, _ = await asyncio.wait({entering}, timeout=CANCEL_CHECK_S)
            if done:
                entering.result()
                return True
            if _cancel_requested(r):
                return False
            if r.recorded and r.now() - beat >= HEARTBEAT_S:
                beat = r.now()
                r.ledger.update(r.run_id, heartbeat_at=beat)
    finally:
        if not entering.done():
            entering.cancel()
            await asyncio.wait({entering})


def _cancel_requested(r: Run) -> bool:
    record = r.ledger.get(r.run_id) if r.recorded else None
    return bool(record is not None and record.cancel_requested)


def cancelled(r: Run) -> RunEvent:
    """The last event of a run cancelled before its create: nothing was sent."""
    return r.emit(RunState.CANCELED, CANCELLED_WAITING, columns={"finished": 1, "cancel_requested": 1})


async def release_gates(r: Run) -> None:
    """Give back every gate the run holds (idempotent)."""
    await r.holds.aclose()


def gates_free(gates: tuple[Gate, ...]) -> bool:
    return all(g.free() for g in gates)
