"""A variations batch on the server: its valid requests started as runs, and read back per browser.

Each valid variation becomes one run in the browser's queue, the same way a Send starts one
(:func:`playground.ui.runs.enqueue`), but nobody waits on it here: the board drives it, the
ledger records it with the batch id and its axis values (``RunOptions.batch``), and the contact
sheet reads the batch back from the ledger. So a batch survives a reload (the sheet is rebuilt
from the ledger for this browser) and a restart (the board resumes unfinished runs).

Pressure on the provider: every run of a batch waits behind the gates in ``RunOptions.gates``:
the browser's own queue (at most ``PLAYGROUND_MAX_RUNS_PER_BROWSER`` in flight) and the key's
:class:`~playground.client.KeyPressure` (at most ``PLAYGROUND_CONCURRENCY`` tasks per provider
and key, one shared backoff after a 429). A run waiting for a slot shows ``waiting``, nothing sent.

No Gradio here: the panels call these with the owner the signed cookie names.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from playground.client import QueueFull, RunRecord, check_budget, pressure_for
from playground.core.profile import Mode
from playground.core.variation_grid import Grid, GridEntry
from playground.core.variations import values_label
from playground.ui import quote_panel, runs
from playground.ui.connection import Connection, ConnectionError_, provider_config, run_options
from playground.ui.services import Services

# What a batch id looks like: the server makes them, so anything else names no batch.
BATCH_ID = re.compile(r"batch-[0-9a-f]{16}")
# How far back a browser's batches are looked through for a mode's latest one.
_RECENT_BATCHES = 50


class BatchRefused(ValueError):
    """The batch was not started (connection, budget): nothing was sent."""


def label(values: Mapping[str, Any] | None) -> str:
    """``seed=7 · resolution=720P``: a run's axis values in its batch (a contact sheet cell's label)."""
    return values_label(values or {}, empty="base request", limit=48)


def new_batch_id() -> str:
    return f"batch-{uuid.uuid4().hex[:16]}"


def valid_batch_id(text: object) -> str | None:
    """The batch id in ``text``, or None when it cannot be one (not text, or not the shape)."""
    found = text.strip() if isinstance(text, str) else ""
    return found if BATCH_ID.fullmatch(found) else None


def batch_of(services: Services, owner: str, batch_id: str) -> list[RunRecord]:
    """This owner's runs of a batch, oldest first; another browser's batch is as good as absent."""
    return [r for r in services.ledger().batch(batch_id) if r.session_id == owner]


def latest_batch(services: Services, owner: str, mode: Mode) -> str | None:
    """The owner's newest batch in a mode (the one a tab's contact sheet shows after a reload)."""
    ledger = services.ledger()
    for batch_id in ledger.batches(owner, limit=_RECENT_BATCHES):
        records = [r for r in ledger.batch(batch_id) if r.session_id == owner]
        if records and _mode_of(records[0]) == mode:
            return batch_id
    return None


def _mode_of(record: RunRecord) -> str | None:
    body = record.request_json or ""
    match = re.search(r'"mode":\s*"([a-z-]+)"', body)
    return match.group(1) if match else None


def refusal(services: Services, grid: Grid, connection: Connection) -> str | None:
    """Why the whole batch may not be sent (a daily budget it would pass), else None."""
    browser, server = quote_panel.budgets(services)
    if connection.provider == "sandbox" or (browser is None and server is None):
        return None
    first = next((e.quote for e in grid.entries if e.ok and e.quote is not None), None)
    total = grid.quote
    if first is None or total is None:
        return None
    whole = dataclasses.replace(first, total_min=total.total_min, total_max=total.total_max, currency=total.currency)
    refused = check_budget(whole, services.ledger(), owner=connection.owner, browser_limit=browser,
                           server_limit=server)
    return None if refused is None else f"Not sent: the whole batch ({total.headline()}) {refused.message()}"


async def start_batch(
    services: Services, connection: Connection, mode: Mode, entries: Sequence[GridEntry], batch_id: str,
) -> list[str]:
    """Start each entry as a run of the batch in this browser's queue (``runs.enqueue``, as a
    Send does); their run ids, in grid order.

    Raises :class:`BatchRefused` before anything is sent when the connection is incomplete or
    the browser's queue has no room for the whole batch.
    """
    try:
        provider = provider_config(services, connection)
    except ConnectionError_ as exc:
        raise BatchRefused(str(exc)) from None
    room = runs.queue_room(services, connection.owner)
    if room < len(entries):
        raise BatchRefused(
            f"this browser's queue has room for {room} more run{'s' * (room != 1)}, and the batch has "
            f"{len(entries)}; wait for runs in the Queue panel to finish (or cancel some), or vary fewer values")
    # Behind the browser's gate (enqueue adds it), the provider key's: bounded tasks in flight,
    # and one shared backoff after a 429.
    gates = (pressure_for(provider, services.settings.concurrency),)
    base = run_options(services)
    started: list[str] = []
    for entry in entries:
        q = entry.quote
        options = dataclasses.replace(
            base, quote=q, prices=quote_panel.prices(services),
            region=q.region if q is not None else quote_panel.region(services, connection.provider,
                                                                     connection.base_url),
            gates=gates, batch=(batch_id, dict(entry.variation.values)),
        )
        try:
            started.append(await runs.enqueue(services, connection, entry.variation.request, options=options,
                                              mode=mode))
        except QueueFull as exc:  # another tab filled the queue meanwhile: the rest is not sent
            if not started:
                raise BatchRefused(str(exc)) from None
            break
    return started
