"""Runs end to end: validate, upload, submit, poll, download and probe, as a stream of events.

This is the API the CLI and the UI drive (keep it stable)::

    async for event in run(request, provider, ledger, out_dir, deadline_s=900, session_id=sid):
        ...                        # one RunEvent per step; the last has event.terminal == True
    async for event in resume(run_id, ledger, provider): ...    # after a crash, restart or refresh
    async for event in recover(task_id, provider, ledger, out_dir): ...  # follow a known task id
    await cancel(run_id, ledger, provider)      # from anywhere: flags the run, cancels remotely
    unfinished(ledger, session_id)              # the runs resume() should pick up
    provider_for(record, settings)              # a ledger row's provider, with today's key

``request`` is a wire body in either format (what ``validate`` reads), a request-model dict, or
a :data:`~playground.core.request.VideoRequest`. Media URLs may be local paths or ``file://``
URLs: they are probed, then uploaded (sandbox file store; DashScope's temporary upload) or, for
a URL-only gateway, refused with a message asking for a public URL.

Failures do not escape as exceptions: the last event carries ``error`` (a
:class:`~playground.client.errors.PlaygroundError`) and its guidance. Cancelling the task that
consumes the stream (``asyncio.CancelledError``, e.g. Gradio's Stop) cancels the remote task
where the provider allows it, records that, and re-raises. Closing the stream without
cancelling leaves the run in the ledger for :func:`resume`.

The ledger row is written before the create request is sent and gets the task id before the
first poll, so a crash at any point leaves a run that :func:`resume` can finish: a run whose
create never answered is looked for in the provider's task list, never resubmitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

from playground.client.api import RetryNote, StatusRead, VideoClient
from playground.client.errors import (
    ApiRefused,
    DeadlinePassed,
    DownloadFailed,
    InvalidRequest,
    LocalFileNeedsUrl,
    OutcomeUnknown,
    PlaygroundError,
    RateLimited,
    ResultExpired,
    ServerFailed,
    TaskFailed,
    TransportFailed,
    UploadFailed,
)
from playground.client.files import check_files, swap_in, swap_out
from playground.client.ledger import Ledger, RunRecord, this_owner
from playground.client.providers import ProviderConfig, has_token_usage, parse_time
from playground.core.guidance import load_guidance
from playground.core.polling import Observation, PollDeadline, Schedule, StatusUpdate, is_terminal, watch
from playground.core.profile import Profile, load_profile
from playground.core.request import REQUEST_ADAPTER, VideoRequest
from playground.core.rules import CheckOptions, check
from playground.core.wire import parse, path_of, to_wire
from playground.settings import Settings

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
_CANCEL_TIMEOUT_S = 10.0


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


def _default_client(provider: ProviderConfig, on_retry: Callable[[RetryNote], None]) -> VideoClient:
    return VideoClient(provider, on_retry=on_retry)


@dataclass
class _Run:
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
        """An event; a new state is also written to the ledger's history."""
        now = self.now()
        changed = state != self.state or not self.timeline
        self.state = state
        if changed:
            self.timeline.append((state, now))
        columns = extra.pop("columns", {})
        if self.recorded:
            if changed:
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
        state = _final_state(exc, self.task_id is not None)
        lines = tuple(exc.guidance_lines())
        columns: dict[str, Any] = {
            "guidance_id": exc.guidance.id, "guidance_text": "\n".join(lines), "error_text": exc.message,
            "finished": 0 if state in RESUMABLE_STATES else 1,
        }
        return self.emit(state, exc.message, error=exc, guidance=lines, guidance_id=exc.guidance.id, columns=columns)


def _final_state(exc: PlaygroundError, task_exists: bool) -> str:
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
    if task_exists and isinstance(exc, TransportFailed | RateLimited | ServerFailed):
        return "stalled"
    if isinstance(exc, TransportFailed):
        return "unreachable"
    return "refused"


# -- public API --------------------------------------------------------------------------------


async def run(
    request: VideoRequest | Mapping[str, Any],
    provider: ProviderConfig,
    ledger: Ledger,
    out_dir: Path,
    *,
    deadline_s: float = 900.0,
    session_id: str | None = None,
    run_id: str | None = None,
    options: RunOptions | None = None,
) -> AsyncGenerator[RunEvent, None]:
    """Run one request to its end, yielding an event per step."""
    opts = options or RunOptions()
    r = _new_run(run_id or _new_run_id(), ledger, provider, out_dir, deadline_s, opts)
    async for event in _guarded(r, _fresh(r, request, session_id)):
        yield event


async def resume(
    run_id: str,
    ledger: Ledger,
    provider: ProviderConfig,
    *,
    out_dir: Path | None = None,
    deadline_s: float | None = None,
    options: RunOptions | None = None,
) -> AsyncGenerator[RunEvent, None]:
    """Pick an unfinished run up where it stopped (``provider`` supplies today's key)."""
    record = ledger.get(run_id)
    if record is None:
        raise KeyError(f"no run {run_id} in the ledger")
    opts = options or RunOptions()
    folder = out_dir or Path(record.out_dir or ".")
    r = _new_run(run_id, ledger, provider, folder, deadline_s or record.deadline_s or 900.0, opts)
    _load(r, record)
    if record.finished and record.state not in RESUMABLE_STATES:
        await r.client.aclose()
        yield r.emit(record.state, f"already ended: {record.error_text or record.state}")
        return
    if not ledger.claim(run_id):
        await r.client.aclose()
        yield r.emit(record.state, "another process is following this run; not taking it over")
        return
    async for event in _guarded(r, _continue(r, record)):
        yield event


async def recover(
    task_id: str,
    provider: ProviderConfig,
    ledger: Ledger,
    out_dir: Path,
    *,
    deadline_s: float = 900.0,
    session_id: str | None = None,
    options: RunOptions | None = None,
) -> AsyncGenerator[RunEvent, None]:
    """Follow a task created elsewhere (or whose run was lost) by its id, to a video."""
    known = ledger.find_task(task_id)
    if known is not None and known.base_url == provider.base_url and not known.finished:
        following = resume(known.run_id, ledger, provider, out_dir=out_dir, deadline_s=deadline_s, options=options)
        async for event in following:
            yield event
        return
    opts = options or RunOptions()
    r = _new_run(_new_run_id(), ledger, provider, out_dir, deadline_s, opts)
    r.task_id = task_id
    r.started_at = r.now()
    _record_row(r, session_id, None, state="queued")
    r.ledger.claim(r.run_id)
    yield r.emit("queued", f"recovering task {task_id}")
    async for event in _guarded(r, _follow(r, None)):
        yield event


async def cancel(run_id: str, ledger: Ledger, provider: ProviderConfig) -> bool:
    """Flag a run for cancellation and ask the provider to cancel its task; True if it did."""
    record = ledger.get(run_id)
    if record is None or record.finished:
        return False
    ledger.request_cancel(run_id)
    if record.task_id is None:
        return False
    async with VideoClient(provider) as client:
        try:
            return await asyncio.wait_for(client.cancel(record.task_id), _CANCEL_TIMEOUT_S)
        except (PlaygroundError, TimeoutError):
            return False


def unfinished(ledger: Ledger, session_id: str | None = None) -> list[RunRecord]:
    """Runs that can still end in a video, oldest first."""
    return ledger.unfinished(session_id)


def provider_for(record: RunRecord, settings: Settings, *, api_key: SecretStr | None = None) -> ProviderConfig:
    """The provider a ledger row names, with the key the settings hold today."""
    provider = ProviderConfig.model_validate(
        {"kind": record.provider, "wire": record.wire, "base_url": record.base_url, "scenario": record.scenario}
    )
    key = api_key if api_key is not None else settings.api_key(provider.kind)
    return provider.model_copy(update={"api_key": key})


# -- the steps -------------------------------------------------------------------------------


def _new_run_id() -> str:
    return datetime.now(UTC).strftime("run-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


def _new_run(
    run_id: str, ledger: Ledger, provider: ProviderConfig, out_dir: Path, deadline_s: float, opts: RunOptions
) -> _Run:
    notes: asyncio.Queue[RetryNote] = asyncio.Queue()
    client = (opts.client_factory or _default_client)(provider, notes.put_nowait)
    return _Run(run_id, ledger, provider, Path(out_dir), deadline_s, opts, client, notes)


def _load(r: _Run, record: RunRecord) -> None:
    r.recorded = True
    r.state = record.state
    r.task_id = record.task_id
    r.request_id = record.last_request_id or record.submit_request_id
    r.wire_body = record.body()
    r.started_at = record.created_at
    r.poll_count = record.poll_count
    r.timeline = [(e.state, e.at) for e in r.ledger.events(record.run_id)]
    r.raw = json.loads(record.last_response) if record.last_response else None


async def _guarded(r: _Run, steps: AsyncIterator[RunEvent]) -> AsyncIterator[RunEvent]:
    """Turn failures into a last event, and a cancelled consumer into a remote cancel."""
    try:
        async with r.client:
            try:
                async for event in steps:
                    yield event
            except PlaygroundError as exc:
                yield r.fail(exc)
            except asyncio.CancelledError:
                await _on_cancelled(r)
                raise
    finally:
        if r.recorded:
            r.ledger.release(r.run_id)


async def _on_cancelled(r: _Run) -> None:
    cancelled = False
    if r.task_id is not None and not r.cancel_sent:
        with contextlib.suppress(PlaygroundError, TimeoutError, asyncio.CancelledError):
            cancelled = await asyncio.shield(asyncio.wait_for(r.client.cancel(r.task_id), _CANCEL_TIMEOUT_S))
    if not r.recorded:
        return
    if r.task_id is None:
        detail = "stopped while the create request was in flight: a task may exist; recover it by id if one appears"
    elif cancelled:
        detail = "stopped by the user; the remote task was canceled"
    else:
        detail = "stopped by the user; the provider could not cancel the task, which may still finish"
    r.ledger.event(r.run_id, "canceled", at=r.now(), detail=detail, finished=1, cancel_requested=1)


async def _fresh(r: _Run, request: VideoRequest | Mapping[str, Any], session_id: str | None) -> AsyncIterator[RunEvent]:
    profile = r.options.profile or load_profile()
    yield r.emit("validating", f"checking the request for {r.provider.describe()}")
    raw, files, warnings, request_model = _validate(request, r.provider, profile)
    for line in warnings:
        yield r.emit("validating", f"warning: {line}")
    if files:
        if r.provider.kind == "gateway":
            names = ", ".join(f.original for f in files)
            raise LocalFileNeedsUrl(f"this gateway takes media only by URL; give a public https:// URL for {names}")
        problems = await asyncio.to_thread(check_files, files, profile)
        if problems:
            raise InvalidRequest(f"{len(problems)} problem(s) with local files", problems=problems)
        model = to_wire("dashscope", request_model, profile)["model"]
        urls: dict[str, str] = {}
        for f in files:
            yield r.emit("uploading", f"uploading {f.path.name}")
            urls[f.placeholder] = await r.client.upload(f.path, model=str(model))
        request_model = _revalidate(swap_in(raw, urls), profile)
    body = to_wire(r.provider.wire, request_model, profile)
    r.wire_body = body
    r.started_at = r.now()
    _record_row(r, session_id, request_model, state="submitting")
    r.ledger.claim(r.run_id)
    yield r.emit("submitting", f"sending the create request to {r.provider.describe()}")
    async for event in _submit(r):
        yield event
    async for event in _follow(r, Observation("queued")):
        yield event


def _validate(
    request: VideoRequest | Mapping[str, Any], provider: ProviderConfig, profile: Profile
) -> tuple[dict[str, Any], list[Any], list[str], VideoRequest]:
    """The request model (local files replaced by placeholders), or InvalidRequest."""
    if isinstance(request, BaseModel):
        data: Mapping[str, Any] = request.model_dump(mode="json", exclude_none=True)
    else:
        data = request
    swapped, files = swap_out(dict(data))
    # Media already uploaded through DashScope's temporary storage arrive as oss:// keys.
    options = CheckOptions(allow_oss_urls=provider.wire == "dashscope")
    if "input" in swapped:
        parsed = parse(swapped, profile, options=options)
        lines, warnings = _split(parsed.all_problems(), parsed.format)
        model = parsed.request if parsed.ok else None
    else:
        verdict = check(swapped, profile, options)
        lines, warnings = _split(verdict.problems, provider.wire)
        model = verdict.request if verdict.ok else None
    if model is None:
        raise InvalidRequest(f"the request has {len(lines) or 'some'} problem(s); nothing was sent", problems=lines)
    return model.model_dump(mode="json", exclude_none=True), files, warnings, model


def _split(problems: list[Any], fmt: Any) -> tuple[list[str], list[str]]:
    errors = [p.line(path_of(fmt, p.loc)) for p in problems if p.severity == "error"]
    warnings = [p.line(path_of(fmt, p.loc)) for p in problems if p.severity != "error"]
    return errors, warnings


def _revalidate(data: Mapping[str, Any], profile: Profile) -> VideoRequest:
    verdict = check(data, profile, CheckOptions(allow_oss_urls=True))
    if verdict.request is None or not verdict.ok:
        lines = [p.line(str(p.loc)) for p in verdict.problems if p.severity == "error"]
        raise InvalidRequest("the request with uploaded URLs does not check out", problems=lines)
    return verdict.request


def _record_row(r: _Run, session_id: str | None, request_model: VideoRequest | None, *, state: str) -> None:
    body_text = json.dumps(r.wire_body, sort_keys=True, ensure_ascii=False) if r.wire_body is not None else None
    r.ledger.create(RunRecord(
        run_id=r.run_id, created_at=r.started_at, updated_at=r.started_at, provider=r.provider.kind,
        wire=r.provider.wire, base_url=r.provider.base_url, state=state, session_id=session_id,
        scenario=r.provider.scenario,
        request_json=REQUEST_ADAPTER.dump_json(request_model, exclude_none=True).decode() if request_model else None,
        wire_body=body_text, body_hash=hashlib.sha256(body_text.encode()).hexdigest() if body_text else None,
        task_id=r.task_id, out_dir=str(r.out_dir), deadline_s=r.deadline_s, owner=this_owner(),
        heartbeat_at=r.started_at,
    ))
    r.recorded = True
    r.state = state
    r.timeline = [(state, r.started_at)]


async def _submit(r: _Run) -> AsyncIterator[RunEvent]:
    assert r.wire_body is not None
    oss = "oss://" in json.dumps(r.wire_body)
    call = asyncio.ensure_future(r.client.submit(r.wire_body, oss_resolve=oss))
    try:
        async for note in _notes_until(r, call):
            yield r.emit("submitting", _retry_line(note), retry=note)
        submitted = call.result()
    except OutcomeUnknown as exc:
        async for event in _look_for_lost_task(r, exc):
            yield event
        return
    finally:
        call.cancel()
    r.task_id = submitted.task_id
    r.request_id = submitted.request_id
    r.raw = submitted.body
    tries = f" after {submitted.attempts} attempts" if submitted.attempts > 1 else ""
    yield r.emit(
        "queued", f"task {submitted.task_id} created{tries} (request id {submitted.request_id or 'none'})",
        columns={"task_id": submitted.task_id, "submit_request_id": submitted.request_id,
                 "last_request_id": submitted.request_id, "last_response": json.dumps(submitted.body)},
    )


async def _notes_until(r: _Run, call: asyncio.Future[Any]) -> AsyncIterator[RetryNote]:
    """The retry notes the client posts while ``call`` runs."""
    while not call.done():
        getter = asyncio.ensure_future(r.notes.get())
        try:
            done, _ = await asyncio.wait({call, getter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            getter.cancel()
        if getter in done:
            yield getter.result()
    while not r.notes.empty():
        yield r.notes.get_nowait()


def _retry_line(note: RetryNote) -> str:
    return (
        f"{note.reason}; retrying in {note.wait_s:.1f} s "
        f"(attempt {note.attempt + 1} of {note.max_attempts}, guidance {note.guidance_id})"
    )


async def _look_for_lost_task(r: _Run, exc: OutcomeUnknown) -> AsyncIterator[RunEvent]:
    """After a lost create answer: find the task in the provider's list rather than resubmit."""
    yield r.emit("submitting", "the create request's answer was lost; looking for the task instead of resubmitting")
    found, note = await _search_task_list(r)
    if found is None:
        exc.facts["lookup"] = note
        raise exc
    r.task_id = found
    yield r.emit("queued", f"found task {found} in the provider's task list; following it (not resubmitted)",
                 columns={"task_id": found})


async def _search_task_list(r: _Run) -> tuple[str | None, str]:
    if r.provider.wire != "dashscope":
        return None, "This provider has no task list to search: check its console for a task created just now."
    body = r.wire_body or {}
    since = r.started_at
    try:
        listed = await r.client.list_tasks(
            start=datetime.fromtimestamp(since - 60, UTC), end=datetime.fromtimestamp(r.now() + 60, UTC),
            model=body.get("model"),
        )
    except PlaygroundError as failure:
        return None, f"Searching the task list failed as well ({failure.message}); check the provider's console."
    tracked = {rec.task_id for rec in r.ledger.runs(limit=500) if rec.task_id}
    candidates = []
    for item in listed:
        created = parse_time(item.get("gmt_create") or item.get("submit_time"))
        task_id = item.get("task_id")
        if not isinstance(task_id, str) or task_id in tracked:
            continue
        if item.get("model_name") not in (None, body.get("model")):
            continue
        if created is not None and not since - 5 <= created <= r.now() + 5:
            continue
        candidates.append(task_id)
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        return None, ("The task list shows no new task for this model since the request was sent. If the "
                      "console shows none either, submitting again is safe.")
    return None, (f"The task list shows {len(candidates)} possible tasks ({', '.join(candidates[:5])}); "
                  "recover the right one with --recover TASK_ID.")


async def _continue(r: _Run, record: RunRecord) -> AsyncIterator[RunEvent]:
    """Whatever step a ledger row stopped at, carried on."""
    yield r.emit(r.state, f"resuming run {r.run_id} (was {record.state}, task {record.task_id or 'not yet created'})")
    if r.task_id is None:
        if record.state == "submitting":
            async for event in _look_for_lost_task(r, OutcomeUnknown(
                "the playground stopped while the create request was in flight; a task may exist",
                lookup="",
            )):
                yield event
        else:
            raise InvalidRequest("this run never reached the provider; submit it again")
    if record.state in ("downloading", "download_failed") and record.result_url:
        async for event in _deliver(r, record.result_url, record.expires_at):
            yield event
        return
    async for event in _follow(r, None):
        yield event


async def _follow(r: _Run, initial: Observation | None) -> AsyncIterator[RunEvent]:
    """Poll to a terminal state, then deliver the video or raise the task's failure."""
    assert r.task_id is not None
    task_id = r.task_id
    last: list[StatusRead] = []

    async def fetch() -> Observation:
        read = await r.client.status(task_id)
        last.append(read)
        return Observation(read.task.state, read.task.progress, read.task.eta_s, read.poll_after_s, read)

    async def cancel_remote() -> bool:
        r.cancel_sent = True
        try:
            return await asyncio.wait_for(r.client.cancel(task_id), _CANCEL_TIMEOUT_S)
        except (PlaygroundError, TimeoutError):
            return False

    updates = watch(
        fetch, clock=r.now, sleep=r.options.sleep, deadline_s=r.deadline_s, started_at=r.started_at,
        initial=initial, schedule=r.options.schedule, cancel=cancel_remote,
    )
    try:
        async for update in updates:
            event = _on_update(r, update, last[-1] if last else None)
            if event is not None:
                yield event
            if update.terminal:
                break
            if _cancel_requested(r):
                yield r.emit(r.state, "cancel requested; asking the provider to cancel the task")
                read = await _cancel_and_read(r, task_id, cancel_remote)
                last.append(read)
                if not is_terminal(read.task.state):
                    raise TaskFailed(
                        state="canceled", code=None, task_id=task_id, guidance=load_guidance().entry("task_canceled"),
                        message="stopped following on request; the provider could not cancel it; it may still finish",
                    )
                break
    except PollDeadline as exc:
        raise DeadlinePassed(waited_s=exc.waited_s, cancelled=exc.cancelled, task_id=task_id) from None
    except ApiRefused as exc:
        if exc.status == 404 and last:
            # The task was readable before and is gone now: it expired or was deleted.
            raise TaskFailed(state="unknown", code=exc.code, message=exc.provider_message, task_id=task_id,
                             guidance=load_guidance().for_task("unknown")) from exc
        raise
    finally:
        await updates.aclose()
    if not last:
        return
    async for event in _finish(r, last[-1]):
        yield event


async def _cancel_and_read(r: _Run, task_id: str, cancel_remote: Callable[[], Awaitable[bool]]) -> StatusRead:
    """Cancel on request: the task's state after asking (someone may have canceled it already)."""
    read = await r.client.status(task_id)
    if is_terminal(read.task.state):
        return read
    await cancel_remote()
    return await r.client.status(task_id)


def _cancel_requested(r: _Run) -> bool:
    record = r.ledger.get(r.run_id)
    return bool(record and record.cancel_requested and not r.cancel_sent)


def _on_update(r: _Run, update: StatusUpdate, read: StatusRead | None) -> RunEvent | None:
    r.poll_count = update.poll_count
    r.progress = update.progress
    columns: dict[str, Any] = {"poll_count": r.poll_count, "heartbeat_at": r.now()}
    if read is not None and update.poll_count:
        r.raw = read.raw
        r.request_id = read.request_id or r.request_id
        columns |= {"last_response": json.dumps(read.raw), "last_request_id": r.request_id}
    notes = []
    while not r.notes.empty():
        notes.append(r.notes.get_nowait())
    if update.terminal or (update.poll_count == 0 and not notes):
        # The create answer was reported already; a terminal state is reported by what
        # follows it (the download, or the failure with its guidance).
        r.ledger.update(r.run_id, **columns)
        return None
    state = update.state
    progress = f" {update.progress:.0f}%" if update.progress is not None else ""
    after = f", next poll in {update.next_poll_s:.1f} s" if update.next_poll_s is not None else ""
    text = f"{update.state}{progress} (poll {update.poll_count}{after})"
    if notes:
        text += "; " + "; ".join(_retry_line(n) for n in notes)
    return r.emit(state, text, next_poll_s=update.next_poll_s, columns=columns, retry=notes[-1] if notes else None)


async def _finish(r: _Run, read: StatusRead) -> AsyncIterator[RunEvent]:
    task = read.task
    if task.state == "succeeded":
        if not task.video_url:
            raise DownloadFailed("the task succeeded but its answer has no video URL")
        async for event in _deliver(r, task.video_url, task.expires_at, f"task {task.task_id} succeeded; "):
            yield event
        return
    guidance = load_guidance()
    charged = has_token_usage(read.raw)
    entry = guidance.entry("task_charged_chat") if charged else guidance.for_task(task.state, task.error_code)
    raise TaskFailed(state=task.state, code=task.error_code, message=task.error_message, task_id=task.task_id,
                     guidance=entry, request_id=read.request_id)


async def _deliver(r: _Run, url: str, expires_at: float | None, lead: str = "") -> AsyncIterator[RunEvent]:
    """Download the result into the run's folder and prove it is a playable video."""
    # PyAV loads slowly; only a run that reached its video needs it.
    from playground.media.probe import MediaError, probe

    path = r.out_dir / r.run_id / "video.mp4"
    columns = {"result_url": url, "expires_at": expires_at}
    yield r.emit("downloading", f"{lead}downloading the video to {path}", columns=columns)
    try:
        size = await r.client.download(url, path)
    except DownloadFailed as exc:
        if not isinstance(exc, ResultExpired) and expires_at is not None and expires_at < r.now():
            raise ResultExpired(f"the result link expired at {_clock_text(expires_at)}: {exc.message}") from exc
        raise
    try:
        info = await asyncio.to_thread(probe, path)
    except MediaError as exc:
        raise DownloadFailed(f"the downloaded file is not a playable video: {exc}") from None
    if info.kind != "video":
        raise DownloadFailed(f"the downloaded file is {info.kind}, not a video")
    columns = {"result_path": str(path), "media_json": json.dumps(_media_dict(info)), "finished": 1}
    yield r.emit("succeeded", f"video saved: {path} ({info.summary()}, {size} bytes)", video_path=path, media=info,
                 columns=columns)


def _media_dict(info: MediaInfo) -> dict[str, Any]:
    names = ("kind", "format", "bytes", "width", "height", "duration_s", "fps", "codec", "frames")
    return {k: getattr(info, k) for k in names}


def _clock_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


__all__ = [
    "FINAL_STATES",
    "RunEvent",
    "RunOptions",
    "cancel",
    "provider_for",
    "recover",
    "resume",
    "run",
    "unfinished",
]
