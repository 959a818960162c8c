"""Runs belong to the server, not to a browser tab: a board of running runs that tabs watch.

A browser refresh, a closed laptop lid or a dropped connection cancels Gradio's handler; if the
handler owned the run, that would cancel a paid task half way. So each run is driven by its own
background task here, and a handler only watches it: when the watcher goes away the run goes on,
finishes into the ledger and shows up in History. Cancelling is always explicit (the Cancel
button, through the ledger's flag). At start-up, runs the ledger lists as unfinished are picked
up again with :func:`playground.client.runner.resume`.

A run whose driving raises (a bug: the runner turns every expected failure into a last event)
ends ``crashed``, in the ledger and as a last event its watchers see, with guidance on how to
recover its task by id; it is never left frozen at its last status.

Each run may name its owner (the browser) and mode: :meth:`RunBoard.runs_of` lists one owner's
runs in flight (the queue panel), :meth:`RunBoard.cancel_run` cancels one of them and nobody
else's, and ``limit`` on :meth:`RunBoard.start` bounds how many one owner may have unfinished
(the runs themselves wait for a provider slot in the runner, behind the owner's gate).

No Gradio here: the board is the client's, the UI only starts and watches runs on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from playground.client import runner
from playground.client.billing import stored
from playground.client.errors import RunCrashed
from playground.client.hosts import PERMISSIVE, HostPolicy
from playground.client.ledger import Ledger, RunRecord
from playground.client.pressure import Gate
from playground.client.providers import ProviderConfig
from playground.client.run_queue import (
    NOT_SENT_STATES,
    CancelAnswer,
    QueuedRun,
    QueueFull,
    cancel_answer,
    dropped_event,
    mode_of,
    waiting_ahead,
)
from playground.client.run_state import RunEvent
from playground.client.slot_watch import SlotWatchers
from playground.core.prices import load_prices
from playground.core.profile import load_profile
from playground.core.run_states import RunState
from playground.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class _Run:
    provider: ProviderConfig | None = None  # to cancel it with; holds the key in memory only
    ledger: Ledger | None = None  # where a crash is recorded
    events: list[RunEvent] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    done: bool = False
    task: asyncio.Task[None] | None = None
    owner: str | None = None  # whose queue it is in (a browser), if anyone's
    mode: str | None = None
    started_at: float = field(default_factory=time.time)  # when it was sent (its place in the queue)
    quote: dict[str, Any] | None = None  # the quote shown at Send, until the ledger holds it
    dropped: bool = False  # cancelled before its create (cancel_run): it ends canceled, nothing sent


class RunBoard:
    """The runs this server is driving, each with the events seen so far."""

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}
        self._slots: dict[tuple[str, str], str] = {}  # (browser tab, mode) -> its latest run
        self._once: dict[tuple[str, ...], asyncio.Future[str]] = {}  # start_once's key -> its run
        self._starting: dict[str, int] = {}  # owner -> runs started whose first event is not in yet
        self.watchers = SlotWatchers()  # who shows each slot's runs (a tab shows only its newest)

    def __contains__(self, run_id: str) -> bool:
        return run_id in self._runs

    async def start(
        self, stream: AsyncIterator[RunEvent], *, slot: tuple[str, str] | None = None,
        provider: ProviderConfig | None = None, ledger: Ledger | None = None,
        owner: str | None = None, mode: str | None = None, limit: int | None = None,
        quote: dict[str, Any] | None = None,
    ) -> str:
        """Drive a run in the background; its id once the first event names it.

        ``ledger`` is the one the stream writes to: a crash is recorded there. ``owner`` and
        ``mode`` put the run in that owner's queue; with ``limit``, :class:`QueueFull` is raised
        (and the stream never started) when the owner already has that many runs unfinished.
        ``quote`` (as stored with a run) is listed until the ledger holds the run's own.
        """
        # Counted and claimed before anything is awaited: two Sends at once cannot both pass.
        if owner is not None and limit is not None and self.in_queue(owner) >= limit:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
            raise QueueFull(limit)
        entry = _Run(provider, ledger, owner=owner, mode=mode, quote=quote)
        if owner is not None:
            self._starting[owner] = self._starting.get(owner, 0) + 1
        try:
            return await self._drive(entry, stream, slot)
        finally:
            if owner is not None:
                self._starting[owner] -= 1
                if not self._starting[owner]:
                    del self._starting[owner]

    async def _drive(self, entry: _Run, stream: AsyncIterator[RunEvent], slot: tuple[str, str] | None) -> str:
        first: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def drive() -> None:
            try:
                async for event in stream:
                    if not first.done():
                        self._runs[event.run_id] = entry
                        first.set_result(event.run_id)
                    async with entry.changed:
                        entry.events.append(event)
                        entry.changed.notify_all()
            except asyncio.CancelledError:
                if not entry.dropped:
                    raise  # the server is stopping: the run is left for resume
                await _end_dropped(entry)
            except Exception as exc:  # a bug in a run must not take the server down
                log.exception("run crashed")
                if not first.done():
                    first.set_exception(exc)
                elif entry.events:
                    crashed = _crashed(entry, exc)
                    async with entry.changed:
                        entry.events.append(crashed)
                        entry.changed.notify_all()
            finally:
                async with entry.changed:
                    entry.done = True
                    entry.changed.notify_all()
                if not first.done():
                    first.set_exception(RuntimeError("the run ended before it started"))

        entry.task = asyncio.create_task(drive())
        run_id = await first
        if slot is not None:
            self._take(slot, run_id)
        return run_id

    def _take(self, slot: tuple[str, str], run_id: str) -> None:
        self._slots[slot] = run_id
        self.watchers.taken(slot, run_id)  # the older run's watcher stops before its next view

    async def start_once(
        self, key: tuple[str, ...], make: Callable[[], AsyncIterator[RunEvent]], *,
        provider: ProviderConfig | None = None, ledger: Ledger | None = None,
    ) -> str:
        """Start the run ``make()`` streams, unless one started with the same ``key`` is still
        going (or starting): its id is returned instead, so two clicks follow one run.

        The key is taken before anything is awaited, so two calls at the same moment cannot
        both start one.
        """
        held = self._once.get(key)
        if held is not None and (not held.done() or (held.exception() is None and held.result() in self.running())):
            return await asyncio.shield(held)
        claim: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._once[key] = claim
        try:
            run_id = await self.start(make(), provider=provider, ledger=ledger)
        except BaseException as exc:
            if self._once.get(key) is claim:
                del self._once[key]
            claim.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the run was not started"))
            claim.exception()  # retrieved: whoever waits on it gets it too, nobody else needs to
            raise
        claim.set_result(run_id)
        return run_id

    def latest(self, slot: tuple[str, str]) -> str | None:
        """The id of a tab's mode's latest run (started with that ``slot``), if any."""
        return self._slots.get(slot)

    async def cancel(self, slot: tuple[str, str], ledger: Ledger) -> bool:
        """Ask the provider to cancel the latest run of a tab's mode; the run reports the outcome."""
        run_id = self._slots.get(slot)
        entry = self._runs.get(run_id or "")
        if run_id is None or entry is None:
            return False
        answer = await self._cancel(run_id, entry, ledger)
        return answer.outcome in ("accepted", "dropped")

    async def watch(self, run_id: str) -> AsyncIterator[RunEvent]:
        """Every event of a run, from its first, until it ends; leaving early leaves it running."""
        entry = self._runs.get(run_id)
        if entry is None:
            return
        seen = 0

        def news() -> bool:
            return len(entry.events) > seen or entry.done

        while True:
            async with entry.changed:
                await entry.changed.wait_for(news)
                fresh = entry.events[seen:]
                finished = entry.done
            for event in fresh:
                yield event
            seen += len(fresh)
            if finished and seen == len(entry.events):
                return

    def show_in(self, slot: tuple[str, str], run_id: str) -> bool:
        """Make a run the one a tab's mode shows (and its Cancel button stops), as after a reload
        or in a second tab of the same browser; False when the board is not driving that run."""
        if run_id not in self._runs:
            return False
        self._take(slot, run_id)
        return True

    def seen(self, run_id: str) -> int:
        """How many events of a run the board holds so far (0 for a run it is not driving)."""
        entry = self._runs.get(run_id)
        return len(entry.events) if entry is not None else 0

    def running(self) -> list[str]:
        return [run_id for run_id, entry in self._runs.items() if not entry.done]

    # -- one owner's queue ---------------------------------------------------------------------

    def _unfinished_of(self, owner: str) -> list[tuple[str, _Run]]:
        found = [(run_id, e) for run_id, e in self._runs.items() if e.owner == owner and not e.done]
        return sorted(found, key=lambda item: item[1].started_at)

    def in_queue(self, owner: str) -> int:
        """How many runs an owner has unfinished (starting, waiting for a slot, or under way)."""
        return len(self._unfinished_of(owner)) + self._starting.get(owner, 0)

    def runs_of(self, owner: str, *, now: float | None = None) -> list[QueuedRun]:
        """An owner's runs in flight (waiting for a slot, or under way), oldest Send first."""
        now = time.time() if now is None else now
        mine = [(run_id, e) for run_id, e in self._unfinished_of(owner) if e.events]
        waiting = [(e.started_at, run_id) for run_id, e in mine if e.events[-1].state is RunState.WAITING]
        listed = []
        for run_id, entry in mine:
            last = entry.events[-1]
            record = entry.ledger.get(run_id) if entry.ledger is not None else None
            quote = (stored(record.quote_json) if record is not None else None) or entry.quote
            listed.append(QueuedRun(
                run_id=run_id, mode=entry.mode, state=last.state, elapsed_s=max(0.0, now - entry.started_at),
                quote=quote, task_id=last.task_id,
                ahead=waiting_ahead(waiting, entry.started_at) if last.state is RunState.WAITING else None,
            ))
        return listed

    def queue_place(self, run_id: str) -> int | None:
        """How many of its owner's runs wait ahead of a waiting run (None when it is not waiting)."""
        entry = self._runs.get(run_id)
        if entry is None or entry.owner is None or entry.done or not entry.events:
            return None
        if entry.events[-1].state is not RunState.WAITING:
            return None
        waiting = [(e.started_at, rid) for rid, e in self._unfinished_of(entry.owner)
                   if e.events and e.events[-1].state is RunState.WAITING]
        return waiting_ahead(waiting, entry.started_at)

    async def cancel_run(self, owner: str, run_id: str, ledger: Ledger) -> CancelAnswer:
        """Cancel one of ``owner``'s runs; another owner's run is answered as absent.

        A run that has sent no create yet (waiting for a slot, being checked or uploading) is
        dropped here: it ends ``canceled`` with nothing sent. Any other goes through
        :func:`runner.cancel`, whose answer is the provider's (DashScope cancels only PENDING
        tasks; the run's status then says it runs on and is billed).
        """
        entry = self._runs.get(run_id)
        if entry is None or entry.owner != owner:
            return cancel_answer("absent", run_id)
        return await self._cancel(run_id, entry, ledger)

    async def _cancel(self, run_id: str, entry: _Run, ledger: Ledger) -> CancelAnswer:
        last = entry.events[-1] if entry.events else None
        if entry.done or last is None or last.terminal:
            return cancel_answer("ended", run_id)
        if last.state in NOT_SENT_STATES and last.task_id is None and entry.task is not None:
            # From the check to the cancel nothing is awaited: the run cannot move on meanwhile,
            # and its stream is stopped where it waits (for a slot, or on a check or an upload).
            entry.dropped = True
            entry.task.cancel()
            await asyncio.wait({entry.task}, timeout=5.0)  # ended (and recorded) before the answer
            return cancel_answer("dropped", run_id, state=last.state)
        if entry.provider is None:
            return cancel_answer("refused", run_id, task_id=last.task_id)
        sent = await runner.cancel(run_id, ledger, entry.provider)
        if last.task_id is None:
            return cancel_answer("requested", run_id)
        return cancel_answer("accepted" if sent else "refused", run_id, task_id=last.task_id)

    def stop_waiting(self) -> int:
        """At shutdown: stop driving the runs still waiting in a queue (nothing sent for them).

        Their rows stay ``waiting``, and the next start creates them. Left running, a slot freed
        while the server shuts down would let one send its create to a provider (the embedded
        sandbox) that is already gone, and the run would end unreachable for good.
        """
        stopped = 0
        for entry in self._runs.values():
            if not entry.done and entry.task is not None and entry.events \
                    and entry.events[-1].state is RunState.WAITING:
                entry.task.cancel()
                stopped += 1
        return stopped

    async def resume_unfinished(
        self, ledger: Ledger, settings: Settings, key_for: Callable[[RunRecord], SecretStr | None] | None = None,
        hosts: HostPolicy = PERMISSIVE,
        gates_for: Callable[[RunRecord, ProviderConfig], tuple[Gate, ...]] | None = None,
    ) -> list[str]:
        """Pick up every run the ledger says is unfinished (after a crash or a restart).

        ``key_for`` gives the key to resume a run with, or None where the server holds none it
        may send there (a key typed in a browser tab is gone after a restart, and the server's
        own key never goes to a Base URL a page typed); without it the settings' key is used.
        ``gates_for`` gives the gates a run left waiting for a slot waits behind again (its
        browser's, and a variation's key pressure), so a restart does not let a queue jump its cap.
        """
        started = []
        # Bills are made with the server's price table (each run keeps the region it was quoted in).
        options = runner.RunOptions(profile=load_profile(settings.profile), cancel_on_abort=False,
                                    prices=load_prices(settings.prices))
        for record in runner.unfinished(ledger):
            if record.run_id in self._runs:
                continue
            key = key_for(record) if key_for else settings.api_key(record.provider)  # type: ignore[arg-type]
            if key is None:
                continue  # History lists it as unfinished; recover it by id with its key
            provider = runner.provider_for(record, settings, api_key=key, hosts=hosts)
            try:
                gated = dataclasses.replace(options, gates=gates_for(record, provider)) if gates_for else options
                resumed = runner.resume(record.run_id, ledger, provider, options=gated)
                started.append(await self.start(resumed, provider=provider, ledger=ledger,
                                                owner=record.session_id, mode=mode_of(record)))
            except Exception:  # one broken row must not keep the others (or the server) from starting
                log.exception("resuming run %s at start-up failed", record.run_id)
        return started


async def _end_dropped(entry: _Run) -> None:
    """A run cancelled before it sent anything ends ``canceled``, for its watchers too."""
    if entry.events:
        ended = dropped_event(entry.events[-1], entry.ledger)
        async with entry.changed:
            entry.events.append(ended)
            entry.changed.notify_all()


def _crashed(entry: _Run, exc: Exception) -> RunEvent:
    """The last event of a run whose driving raised, recorded in its ledger as ``crashed``."""
    last = entry.events[-1]
    error = RunCrashed(exc, task_id=last.task_id)
    lines = tuple(error.guidance_lines())
    now = time.time()
    if entry.ledger is not None:
        try:
            entry.ledger.event(
                last.run_id, RunState.CRASHED, at=now, detail=error.message, request_id=last.request_id,
                finished=1, guidance_id=error.guidance.id, guidance_text="\n".join(lines), error_text=error.message,
            )
            entry.ledger.release(last.run_id)
        except Exception:  # the ledger may be what broke; the watchers still learn the end
            log.exception("recording the crash of run %s failed", last.run_id)
    return dataclasses.replace(
        last, state=RunState.CRASHED, message=error.message, timeline=(*last.timeline, (RunState.CRASHED, now)),
        next_poll_s=None, guidance=lines, guidance_id=error.guidance.id, error=error, retry=None,
    )
