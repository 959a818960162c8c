"""A browser's run queue, as the board reports it: what is in flight, and what a Cancel did.

The board (:mod:`playground.client.board`) holds the runs; this module holds the words and
shapes it answers with, so the UI panel, its API endpoint and the tests read one source:
:class:`QueuedRun` (one line of the queue), :class:`QueueFull` (a Send refused because the
browser's queue is full, nothing lost) and :class:`CancelAnswer` (what a Cancel did, in the
provider's terms: it never claims a cancel the provider did not make).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from playground.client.gate_steps import CANCELLED_WAITING
from playground.client.ledger import Ledger, RunRecord
from playground.client.run_state import RunEvent
from playground.core.run_states import RunState

log = logging.getLogger(__name__)

CancelOutcome = Literal["absent", "ended", "dropped", "requested", "accepted", "refused"]

# States in which a run has sent no create request yet: a Cancel drops it here, nothing is sent.
NOT_SENT_STATES = frozenset({RunState.VALIDATING, RunState.UPLOADING, RunState.WAITING})


class QueueFull(Exception):
    """This owner already has ``limit`` runs unfinished: the Send is refused, nothing was sent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"Not sent: this browser already has {limit} runs in flight or waiting in its queue, the most it "
            "may have; wait for one to finish, or cancel one in the Queue panel, then send again"
        )


@dataclass(frozen=True)
class QueuedRun:
    """One run in a browser's queue: waiting for a slot, or under way at the provider."""

    run_id: str
    mode: str | None
    state: RunState
    elapsed_s: float  # since its Send
    quote: dict[str, Any] | None  # as stored with the run (client/billing.quote_json)
    task_id: str | None = None
    ahead: int | None = None  # for a waiting run: how many of the browser's runs wait before it

    @property
    def label(self) -> str:
        """The state in words; a waiting run says its place."""
        if self.state is RunState.WAITING and self.ahead is not None:
            return waiting_words(self.ahead)
        return self.state.label

    @property
    def quote_text(self) -> str:
        headline = (self.quote or {}).get("headline")
        return str(headline) if headline else "—"

    def to_json(self) -> dict[str, Any]:
        """What the ``queue`` endpoint answers for this run."""
        return {
            "run_id": self.run_id, "mode": self.mode, "state": self.state.value, "label": self.label,
            "elapsed_s": round(self.elapsed_s, 1), "task_id": self.task_id, "ahead": self.ahead,
            "quote": self.quote_text if self.quote else None,
            "quote_total_max": (self.quote or {}).get("total_max"), "currency": (self.quote or {}).get("currency"),
        }


def waiting_words(ahead: int) -> str:
    """"Waiting in queue: 2 runs ahead" (the status panel and the queue say the same)."""
    runs = "run" if ahead == 1 else "runs"
    return f"{RunState.WAITING.label}: {ahead} {runs} ahead"


def waiting_ahead(waiting: Sequence[tuple[float, str]], started_at: float) -> int:
    """How many of ``waiting`` (each run's Send time, id) were sent before ``started_at``."""
    return sum(1 for at, _ in waiting if at < started_at)


@dataclass(frozen=True)
class CancelAnswer:
    """What a Cancel of one queued run did."""

    outcome: CancelOutcome
    run_id: str
    message: str

    @property
    def sent(self) -> bool:
        """Whether the provider accepted a cancel (a dropped waiting run needed none)."""
        return self.outcome == "accepted"

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "outcome": self.outcome, "message": self.message}


def cancel_answer(outcome: CancelOutcome, run_id: str, *, task_id: str | None = None,
                  state: RunState | None = None) -> CancelAnswer:
    """The answer of a Cancel, in words that claim no more than happened."""
    was = f" ({state.label.lower()})" if state is not None else ""
    message = {
        "absent": f"run_id: no run {run_id} of this browser is in flight; pick one from the Queue list",
        "ended": f"Run {run_id} has already ended; nothing to cancel",
        "dropped": f"Run {run_id} was cancelled before it reached the provider{was}: {_not_sent(state)}",
        "requested": f"Run {run_id}: cancel requested while its create request is in flight; its task is "
        "cancelled as soon as it exists, where the provider allows it. Its status says how it ends",
        "accepted": f"Cancel sent for run {run_id}: the provider accepted it for task {task_id}; its status says "
        "how it ended",
        "refused": f"Run {run_id}: the provider did not cancel task {task_id} (DashScope cancels only tasks "
        "still queued; a running task finishes and is billed). Its status says how it ends",
    }[outcome]
    return CancelAnswer(outcome, run_id, message)


def _not_sent(state: RunState | None) -> str:
    if state is RunState.UPLOADING:  # a file may be up already; no task exists, and uploads cost nothing
        return "no task was created, nothing is billed"
    return "nothing was sent, nothing is billed"


def dropped_event(last: RunEvent, ledger: Ledger | None) -> RunEvent:
    """The last event of a run cancelled before it sent a create: ``canceled``, and so in the
    ledger if the runner had recorded it (nothing was sent, so nothing is billed)."""
    now = time.time()
    detail = CANCELLED_WAITING if last.state is RunState.WAITING else (
        f"cancelled before it reached the provider ({last.state.label.lower()}): {_not_sent(last.state)}")
    if ledger is not None:
        try:
            record = ledger.get(last.run_id)
            if record is not None and not record.finished:
                ledger.event(last.run_id, RunState.CANCELED, at=now, detail=detail, finished=1, cancel_requested=1)
                ledger.release(last.run_id)
        except Exception:  # the watchers still learn the end
            log.exception("recording the cancel of run %s failed", last.run_id)
    return dataclasses.replace(last, state=RunState.CANCELED, message=detail, next_poll_s=None, at=now, retry=None,
                               timeline=(*last.timeline, (RunState.CANCELED, now)))


def mode_of(record: RunRecord) -> str | None:
    """The mode a stored run's request names (its queue line says it), if readable."""
    try:
        request = json.loads(record.request_json) if record.request_json else None
    except ValueError:
        return None
    mode = request.get("mode") if isinstance(request, dict) else None
    return mode if isinstance(mode, str) else None
