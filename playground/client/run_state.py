"""The state of one run while it is driven, and the events it yields.

:class:`Run` carries what the steps share (the client, the ledger, the timeline) and turns
each step into a :class:`RunEvent`, writing new states to the ledger as it goes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    ServerFailed,
    TaskFailed,
    TransportFailed,
    UploadFailed,
)
from playground.client.ledger import Ledger
from playground.client.providers import ProviderConfig
from playground.core.polling import Schedule
from playground.core.profile import Profile

if TYPE_CHECKING:
    from playground.media.probe import MediaInfo


# The end of a run, as the last event's state says it.
FINAL_STATES = frozenset({
    "succeeded", "failed", "canceled", "unknown", "expired", "refused", "invalid", "unreachable",
    "outcome_unknown", "deadline", "download_failed", "stalled",
})
# Ends a later resume() can still turn into a video: the task may be fine, we just could not
# reach it (or its result) for now.
RESUMABLE_STATES = frozenset({"stalled", "download_failed"})
CANCEL_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RunEvent:
    """One step of a run, with everything the UI shows."""

    run_id: str
    state: str
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

    @property
    def terminal(self) -> bool:
        return self.state in FINAL_STATES


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
    state: str = "validating"
    task_id: str | None = None
    request_id: str | None = None
    wire_body: dict[str, Any] | None = None
    started_at: float = 0.0
    poll_count: int = 0
    progress: float | None = None
    raw: dict[str, Any] | None = None
    recorded: bool = False
    cancel_sent: bool = False

    def now(self) -> float:
        return self.options.clock()

    def emit(self, state: str, message: str, **extra: Any) -> RunEvent:
        """An event; a new state (or a retry, or anything marked ``log=True``) also goes into
        the ledger's history, so the guidance shown along the way is kept."""
        now = self.now()
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
            elapsed_s=max(0.0, now - self.started_at) if self.started_at else 0.0, raw=self.raw, **extra,
        )

    def fail(self, exc: PlaygroundError) -> RunEvent:
        """The last event of a run that went wrong, with its guidance recorded."""
        state = final_state(exc, self.task_id is not None)
        lines = tuple(exc.guidance_lines())
        columns: dict[str, Any] = {
            "guidance_id": exc.guidance.id, "guidance_text": "\n".join(lines), "error_text": exc.message,
            "finished": 0 if state in RESUMABLE_STATES else 1,
        }
        return self.emit(state, exc.message, error=exc, guidance=lines, guidance_id=exc.guidance.id, columns=columns)


def final_state(exc: PlaygroundError, task_exists: bool) -> str:
    if isinstance(exc, InvalidRequest | UploadFailed):
        return "invalid"
    if isinstance(exc, OutcomeUnknown):
        return "outcome_unknown"
    if isinstance(exc, TaskFailed):
        return exc.state
    if isinstance(exc, ResultExpired):
        return "expired"
    if isinstance(exc, DownloadFailed):
        return "download_failed"
    if isinstance(exc, DeadlinePassed):
        return "deadline"
    if task_exists and (isinstance(exc, TransportFailed | RateLimited | ServerFailed) or _unreadable(exc)):
        return "stalled"
    if isinstance(exc, TransportFailed):
        return "unreachable"
    return "refused"


def _unreadable(exc: PlaygroundError) -> bool:
    # A 2xx answer the client could not read (cut off, not JSON, not a task status): nothing was
    # refused, and the task may be fine, so the run stays resumable instead of ending "refused".
    return isinstance(exc, ApiRefused) and 200 <= exc.status < 300


def retry_line(note: RetryNote) -> str:
    return (
        f"{note.reason}; retrying in {note.wait_s:.1f} s "
        f"(attempt {note.attempt + 1} of {note.max_attempts}, guidance {note.guidance_id})"
    )
