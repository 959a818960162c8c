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

No Gradio here: the board is the client's, the UI only starts and watches runs on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from pydantic import SecretStr

from playground.client import runner
from playground.client.errors import RunCrashed
from playground.client.hosts import PERMISSIVE, HostPolicy
from playground.client.ledger import Ledger, RunRecord
from playground.client.providers import ProviderConfig
from playground.client.run_state import RunEvent
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


class RunBoard:
    """The runs this server is driving, each with the events seen so far."""

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}
        self._slots: dict[tuple[str, str], str] = {}  # (browser tab, mode) -> its latest run
        self._once: dict[tuple[str, ...], asyncio.Future[str]] = {}  # start_once's key -> its run

    def __contains__(self, run_id: str) -> bool:
        return run_id in self._runs

    async def start(
        self, stream: AsyncIterator[RunEvent], *, slot: tuple[str, str] | None = None,
        provider: ProviderConfig | None = None, ledger: Ledger | None = None,
    ) -> str:
        """Drive a run in the background; its id once the first event names it.

        ``ledger`` is the one the stream writes to: a crash is recorded there.
        """
        entry = _Run(provider, ledger)
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
            self._slots[slot] = run_id
        return run_id

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
        if run_id is None or entry is None or entry.done or entry.provider is None:
            return False
        return await runner.cancel(run_id, ledger, entry.provider)

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
        self._slots[slot] = run_id
        return True

    def seen(self, run_id: str) -> int:
        """How many events of a run the board holds so far (0 for a run it is not driving)."""
        entry = self._runs.get(run_id)
        return len(entry.events) if entry is not None else 0

    def running(self) -> list[str]:
        return [run_id for run_id, entry in self._runs.items() if not entry.done]

    async def resume_unfinished(
        self, ledger: Ledger, settings: Settings, key_for: Callable[[RunRecord], SecretStr | None] | None = None,
        hosts: HostPolicy = PERMISSIVE,
    ) -> list[str]:
        """Pick up every run the ledger says is unfinished (after a crash or a restart).

        ``key_for`` gives the key to resume a run with, or None where the server holds none it
        may send there (a key typed in a browser tab is gone after a restart, and the server's
        own key never goes to a Base URL a page typed); without it the settings' key is used.
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
                resumed = runner.resume(record.run_id, ledger, provider, options=options)
                started.append(await self.start(resumed, provider=provider, ledger=ledger))
            except Exception:  # one broken row must not keep the others (or the server) from starting
                log.exception("resuming run %s at start-up failed", record.run_id)
        return started


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
