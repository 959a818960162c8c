"""The state of one run while it is driven, and the events it yields.

:class:`Run` carries what the steps share (the client, the ledger, the timeline) and turns
each step into a :class:`RunEvent`, writing new states to the ledger as it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from playground.client.api import RetryNote, VideoClient
from playground.client.errors import (
    ApiRefused,
    DeadlinePassed,
    DownloadFailed,
    InvalidRequest,
    OutcomeUnknown,
    PlaygroundError,
    RateLimited,
    ResultExpired,
    RunCrashed,
    ServerFailed,
    TaskFailed,
    TransportFailed,
    UploadFailed,
)
from playground.client.ledger import Ledger
from playground.client.providers import ProviderConfig
from playground.core.guidance import rehearsed_lines
from playground.core.polling import Schedule
from playground.core.prices import PriceTable
from playground.core.profile import Profile
from playground.core.quote import Quote

# Re-exported: callers that decide on ends (runner, tests) have always found them here.
from playground.core.run_states import FINAL_STATES as FINAL_STATES
from playground.core.run_states import RESUMABLE_STATES as RESUMABLE_STATES
from playground.core.run_states import RunState

if TYPE_CHECKING:
    from playground.client.attach import UploadBook
    from playground.client.pressure import Gate
    from playground.media.probe import MediaInfo


CANCEL_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RunEvent:
    """One step of a run, with everything the UI shows."""

    run_id: str
    state: RunState
    message: str
    task_id: str | None = None
    request_id: str | None = None
    wire_body: dict[str, Any] | None = None
    timeline: tuple[tuple[str, float], ...] = ()
    poll_count: int = 0
    next_poll_s: float | None = None
    progress: float | None = None
    elapsed_s: float = 0.0
    guidance: tuple[str, ...] = ()
    guidance_id: str | None = None
    error: PlaygroundError | None = None
    video_path: Path | None = None
    media: MediaInfo | None = None
    raw: dict[str, Any] | None = None
    retry: RetryNote | None = None
    # When the event was made, on the run's clock: a watcher between events counts elapsed time
    # and the next poll on from here.
    at: float = 0.0
    # The sandbox scenario this run rehearses (None for a real run, or for a failure of the
    # playground's own, such as an invalid request, which nothing rehearsed).
    rehearsal: str | None = None
    # Something the run said once that stays true for the rest of it, as (guidance id,
    # sentence): a cancel the provider refused, say.
    notice: tuple[str, str] | None = None

    @property
    def terminal(self) -> bool:
        return self.state.terminal


ClientFactory = Callable[[ProviderConfig, Callable[[RetryNote], None]], VideoClient]


@dataclass(frozen=True)
class RunOptions:
    """Seams and knobs shared by run, resume and recover (tests inject clock, sleep, clients)."""

    profile: Profile | None = None
    schedule: Schedule | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
    client_factory: ClientFactory | None = None
    # False for a server that drives runs in the background: its shutdown cancels them, and
    # that must leave them for resume() after the restart rather than cancel paid tasks.
    cancel_on_abort: bool = True
    # False for a server whose callers may not have its own files read: a local path or
    # file:// URL in a request is then refused (LocalFileRefused) before anything is read.
    allow_local_files: bool = True
    # What each oss:// URL this process uploaded is bound to (model, account, age): with it, a
    # request is sent with uploads made for its own model, re-uploading any made for another.
    uploads: UploadBook | None = None
    # Cost (playground.client.billing): the quote shown before Send, stored with the run, and
    # the price table and region a succeeded task is billed with (by default the built-in list
    # prices, and the quote's region, else the provider's).
    quote: Quote | None = None
    prices: PriceTable | None = None
    region: str | None = None
    # Queues this run waits in (playground.client.pressure): each is held from just before the
    # create request until the task ends; while one is full the run is ``waiting``, with nothing
    # sent. A variations batch passes its key's KeyPressure here.
    gates: tuple[Gate, ...] = ()
    # The batch this run belongs to and its axis values, stored with it (ledger batch_id and
    # variation_json), so History groups the batch and a contact sheet labels its cells.
    batch: tuple[str, Mapping[str, Any]] | None = None


def default_client(provider: ProviderConfig, on_retry: Callable[[RetryNote], None]) -> VideoClient:
    return VideoClient(provider, on_retry=on_retry)


@dataclass
class Run:
    run_id: str
    ledger: Ledger
    provider: ProviderConfig
    out_dir: Path
    deadline_s: float
    options: RunOptions
    client: VideoClient
    notes: asyncio.Queue[RetryNote] = field(default_factory=asyncio.Queue)
    timeline: list[tuple[str, float]] = field(default_factory=list)
    _state: RunState = field(default=RunState.VALIDATING, init=False, repr=False)
    task_id: str | None = None
    request_id: str | None = None
    wire_body: dict[str, Any] | None = None
    started_at: float = 0.0
    poll_count: int = 0
    progress: float | None = None
    raw: dict[str, Any] | None = None
    recorded: bool = False
    cancel_sent: bool = False
    notice: tuple[str, str] | None = None  # see RunEvent.notice
    # The gates (options.gates) this run holds; closed when its task ends, or the run does.
    holds: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def rehearsal(self) -> str | None:
        """The sandbox scenario this run rehearses, if any."""
        return self.provider.scenario if self.provider.kind == "sandbox" and self.provider.scenario else None

    @property
    def state(self) -> RunState:
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        # Steps may still name a state by its word; each is checked here, so a misspelt state
        # fails at once instead of reaching the ledger.
        self._state = RunState(value)

    def now(self) -> float:
        return self.options.clock()

    def emit(self, word: str, message: str, **extra: Any) -> RunEvent:
        """An event; a new state (or a retry, or anything marked ``log=True``) also goes into
        the ledger's history, so the guidance shown along the way is kept.

        ``word`` is a :class:`RunState` (or one's value, checked)."""
        now = self.now()
        state = RunState(word)
        changed = state != self.state or not self.timeline
        self.state = state
        if changed:
            self.timeline.append((state, now))
        columns = extra.pop("columns", {})
        log = extra.pop("log", False) or extra.get("retry") is not None
        if self.recorded:
            if changed or log:
                self.ledger.event(self.run_id, state, at=now, detail=message, request_id=self.request_id, **columns)
            elif columns:
                self.ledger.update(self.run_id, **columns)
        return RunEvent(
            run_id=self.run_id, state=state, message=message, task_id=self.task_id,
            request_id=self.request_id, wire_body=self.wire_body, timeline=tuple(self.timeline),
            poll_count=self.poll_count, progress=self.progress,
            elapsed_s=max(0.0, now - self.started_at) if self.started_at else 0.0, raw=self.raw, at=now,
            notice=self.notice, **{"rehearsal": self.rehearsal, **extra},
        )

    def fail(self, exc: PlaygroundError) -> RunEvent:
        """The last event of a run that went wrong, with its guidance recorded."""
        state = final_state(exc, self.task_id is not None)
        # A failure the sandbox staged says so; one of the playground's own (the request did not
        # check out, a file could not be read or uploaded) was not rehearsed.
        rehearsal = None if isinstance(exc, InvalidRequest | UploadFailed) else self.rehearsal
        lines = exc.guidance_lines()
        if rehearsal:
            lines = rehearsed_lines(lines, rehearsal)
        columns: dict[str, Any] = {
            "guidance_id": exc.guidance.id, "guidance_text": "\n".join(lines), "error_text": exc.message,
            "finished": 0 if state.resumable else 1,
        }
        return self.emit(state, exc.message, error=exc, guidance=tuple(lines), guidance_id=exc.guidance.id,
                         columns=columns, rehearsal=rehearsal)


def final_state(exc: PlaygroundError, task_exists: bool) -> RunState:
    if isinstance(exc, RunCrashed):
        return RunState.CRASHED
    if isinstance(exc, InvalidRequest | UploadFailed):
        return RunState.INVALID
    if isinstance(exc, OutcomeUnknown):
        return RunState.OUTCOME_UNKNOWN
    if isinstance(exc, TaskFailed):
        # The task's own end (failed, canceled, unknown); a word outside those reads as failed.
        state = RunState.parse(exc.state)
        return state if state is not None and state.terminal else RunState.FAILED
    if isinstance(exc, ResultExpired):
        return RunState.EXPIRED
    if isinstance(exc, DownloadFailed):
        return RunState.DOWNLOAD_FAILED
    if isinstance(exc, DeadlinePassed):
        return RunState.DEADLINE
    if task_exists and (isinstance(exc, TransportFailed | RateLimited | ServerFailed) or _unreadable(exc)):
        return RunState.STALLED
    if isinstance(exc, TransportFailed):
        return RunState.UNREACHABLE
    return RunState.REFUSED


def _unreadable(exc: PlaygroundError) -> bool:
    # A 2xx answer the client could not read (cut off, not JSON, not a task status): nothing was
    # refused, and the task may be fine, so the run stays resumable instead of ending "refused".
    return isinstance(exc, ApiRefused) and 200 <= exc.status < 300


def retry_line(note: RetryNote) -> str:
    return (
        f"{note.reason}; retrying in {note.wait_s:.1f} s "
        f"(attempt {note.attempt + 1} of {note.max_attempts}, guidance {note.guidance_id})"
    )


# -- retries, shown while they happen ----------------------------------------------------------
#
# The client posts a RetryNote to the run's queue before each wait and resend. A step that just
# awaited its request would report them only once the request answered, and never for one that
# finally fails (its exception ends the step first). So every request a step makes is awaited
# through these helpers: each note becomes an event as soon as it is posted, and a request that
# fails for good raises only after its notes were shown.

T = TypeVar("T")


async def notes_while(r: Run, call: asyncio.Future[Any]) -> AsyncIterator[RetryNote]:
    """The retry notes the client posts while ``call`` runs, each as it comes; then any left."""
    while not call.done():
        getter = asyncio.ensure_future(r.notes.get())
        try:
            await asyncio.wait({call, getter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            getter.cancel()
        # Done here, even if the wait woke for the call: a note taken at that moment is not lost.
        if getter.done() and not getter.cancelled():
            yield getter.result()
    while not r.notes.empty():
        yield r.notes.get_nowait()


def retry_event(r: Run, note: RetryNote) -> RunEvent:
    """A retry in the run's current state (logged to the ledger, shown in the UI's retry log)."""
    return r.emit(r.state, retry_line(note), retry=note)


async def awaiting(r: Run, work: Awaitable[T], result: list[T]) -> AsyncIterator[RunEvent]:
    """Await a client request, yielding a retry event for each retry as it happens.

    Its result is appended to ``result``; its exception, if it fails, is raised after the
    events of its retries.
    """
    call = asyncio.ensure_future(work)
    try:
        async for note in notes_while(r, call):
            yield retry_event(r, note)
        result.append(call.result())
    finally:
        if not call.done():
            call.cancel()
            await asyncio.wait({call})


async def with_notes(r: Run, steps: AsyncIterator[T]) -> AsyncGenerator[T | RetryNote, None]:
    """The items of ``steps``, with the retry notes posted while each is awaited in between."""
    while True:
        got: list[T] = []
        step = asyncio.ensure_future(_next(steps, got))
        try:
            async for note in notes_while(r, step):
                yield note
            if not step.result():
                return
        finally:
            if not step.done():
                step.cancel()
                await asyncio.wait({step})
        yield got[0]


async def _next(steps: AsyncIterator[T], into: list[T]) -> bool:
    try:
        into.append(await anext(steps))
    except StopAsyncIteration:
        return False
    return True
