"""Runs end to end: validate, upload, submit, poll, download and probe, as a stream of events.

This is the API the CLI and the UI drive (keep it stable)::

    async for event in run(request, provider, ledger, out_dir, deadline_s=900, session_id=sid):
        ...                        # one RunEvent per step; the last has event.terminal == True
    async for event in resume(run_id, ledger, provider): ...    # after a crash, restart or refresh
    async for event in recover(task_id, provider, ledger, out_dir): ...  # follow a known task id
    await cancel(run_id, ledger, provider)      # from anywhere: flags the run, cancels remotely
    unfinished(ledger, session_id)              # the runs resume() should pick up
    provider_for(record, settings, hosts=policy)  # a ledger row's provider, with today's key

``request`` is a wire body in either format (what ``validate`` reads), a request-model dict, or
a :data:`~playground.core.request.VideoRequest`. Media URLs may be local paths or ``file://``
URLs: they are probed, then uploaded (sandbox file store; DashScope's temporary upload) or, for
a URL-only gateway, refused with a message asking for a public URL.

A shared server passes ``RunOptions(allow_local_files=False)`` (a server path or ``file://`` URL
is then refused before anything is read) and providers carrying a strict
:class:`~playground.client.hosts.HostPolicy` (see :func:`~playground.client.hosts.server_policy`):
every client a run, a resume, a recovery or a cancel builds applies its provider's policy.

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
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from playground.client.api import RetryNote, StatusRead, VideoClient
from playground.client.errors import (
    ApiRefused,
    InvalidRequest,
    OutcomeUnknown,
    PlaygroundError,
    TaskFailed,
)
from playground.client.follow_steps import deliver, follow
from playground.client.gate_steps import CANCELLED_WAITING, IN_FLIGHT, release_gates
from playground.client.hosts import PERMISSIVE, HostPolicy
from playground.client.ledger import Ledger, RunRecord, this_owner
from playground.client.providers import ProviderConfig
from playground.client.run_state import (
    CANCEL_TIMEOUT_S,
    FINAL_STATES,
    Run,
    RunEvent,
    RunOptions,
    awaiting,
    default_client,
)
from playground.client.submit_steps import gated_submit, look_for_lost_task, prepare_and_submit, record_row
from playground.core.guidance import load_guidance
from playground.core.polling import Observation
from playground.core.request import VideoRequest
from playground.core.run_states import RunState
from playground.settings import Settings

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
    """Pick an unfinished run up where it stopped (``provider`` supplies today's key).

    Elapsed time counts from the original submit; so does the deadline, unless ``deadline_s``
    is given, which then allows that many more seconds from now.
    """
    record = ledger.get(run_id)
    if record is None:
        raise KeyError(f"no run {run_id} in the ledger")
    opts = options or RunOptions()
    folder = out_dir or Path(record.out_dir or ".")
    r = _new_run(run_id, ledger, provider, folder, record.deadline_s or 900.0, opts)
    _load(r, record)
    if deadline_s is not None:
        # An explicit deadline on resume counts from now: whoever resumes wants the video, even
        # if the original deadline ran out while the playground was down.
        r.deadline_s = max(0.0, r.now() - r.started_at) + deadline_s
    if record.finished and not r.state.resumable:
        await r.client.aclose()
        yield r.emit(r.state, f"already ended: {record.error_text or record.state}")
        return
    if not ledger.claim(run_id):
        await r.client.aclose()
        yield r.emit(r.state, "another process is following this run; not taking it over")
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
    """Follow a task created elsewhere (or whose run was lost) by its id, to a video.

    A task the ledger already has (for this provider) is never recorded twice: an unfinished
    run is resumed, a finished one answers with how it ended. A new task is recorded only once
    the provider has confirmed it: one it does not know (made with another key, in another
    region, or expired) ends ``unknown``, with guidance asking for its key, and leaves no row.
    """
    known = ledger.find_task(task_id)
    if known is not None and known.base_url == provider.base_url:
        following = resume(known.run_id, ledger, provider, out_dir=out_dir, deadline_s=deadline_s, options=options)
        async for event in following:
            yield event
        return
    opts = options or RunOptions()
    r = _new_run(_new_run_id(), ledger, provider, out_dir, deadline_s, opts)
    r.task_id = task_id
    r.started_at = r.now()
    yield r.emit(RunState.QUEUED, f"recovering task {task_id}: asking the provider for it")
    async for event in _guarded(r, _confirm_and_follow(r, session_id)):
        yield event


async def cancel(run_id: str, ledger: Ledger, provider: ProviderConfig) -> bool:
    """Flag a run for cancellation and ask the provider to cancel its task; True if it did."""
    record = ledger.get(run_id)
    if record is None or record.finished:
        return False
    ledger.request_cancel(run_id)
    canceller = f"{this_owner()}:cancel"  # not the driver's name, even when it is this process
    if record.task_id is None and record.state == RunState.WAITING and ledger.claim(run_id, canceller):
        # Nobody is driving it (the process that queued it is gone): nothing was sent, so it ends
        # here. A live driver sees the flag instead and ends it the same way.
        ledger.event(run_id, RunState.CANCELED, detail=CANCELLED_WAITING, finished=1)
        ledger.release(run_id, canceller)
        return True
    if record.task_id is None:
        return False
    async with VideoClient(provider) as client:
        try:
            return await asyncio.wait_for(client.cancel(record.task_id), CANCEL_TIMEOUT_S)
        except (PlaygroundError, TimeoutError):
            return False


def unfinished(ledger: Ledger, session_id: str | None = None) -> list[RunRecord]:
    """Runs that can still end in a video, oldest first."""
    return ledger.unfinished(session_id)


def provider_for(
    record: RunRecord, settings: Settings, *, api_key: SecretStr | None = None, hosts: HostPolicy = PERMISSIVE
) -> ProviderConfig:
    """The provider a ledger row names, with the key the settings hold today and the given host
    policy (the row's base URL is checked against it when a request is sent, not here)."""
    provider = ProviderConfig.model_validate(
        {"kind": record.provider, "wire": record.wire, "base_url": record.base_url, "scenario": record.scenario,
         "hosts": hosts}
    )
    key = api_key if api_key is not None else settings.api_key(provider.kind)
    return provider.model_copy(update={"api_key": key})


# -- orchestration ----------------------------------------------------------------------------


def _new_run_id() -> str:
    return datetime.now(UTC).strftime("run-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


def _new_run(
    run_id: str, ledger: Ledger, provider: ProviderConfig, out_dir: Path, deadline_s: float, opts: RunOptions
) -> Run:
    notes: asyncio.Queue[RetryNote] = asyncio.Queue()
    client = (opts.client_factory or default_client)(provider, notes.put_nowait)
    return Run(run_id, ledger, provider, Path(out_dir), deadline_s, opts, client, notes)


def _load(r: Run, record: RunRecord) -> None:
    r.recorded = True
    r.state = _stored_state(record)
    r.task_id = record.task_id
    r.request_id = record.last_request_id or record.submit_request_id
    r.wire_body = record.body()
    r.started_at = record.created_at
    r.poll_count = record.poll_count
    r.timeline = [(e.state, e.at) for e in r.ledger.events(record.run_id)]
    r.raw = json.loads(record.last_response) if record.last_response else None


def _stored_state(record: RunRecord) -> RunState:
    # A word this version does not know (a row from a newer version): an ended row stays ended,
    # an open one is followed as if it were running, which polls its task to learn the truth.
    return RunState.parse(record.state) or (RunState.FAILED if record.finished else RunState.RUNNING)


async def _guarded(r: Run, steps: AsyncIterator[RunEvent]) -> AsyncIterator[RunEvent]:
    """Turn failures into a last event, and a cancelled consumer into a remote cancel."""
    try:
        async with r.client:
            try:
                async for event in steps:
                    yield event
            except PlaygroundError as exc:
                yield r.fail(exc)
            except asyncio.CancelledError:
                if r.options.cancel_on_abort:
                    await _on_cancelled(r)
                raise
    finally:
        await release_gates(r)
        if r.recorded:
            r.ledger.release(r.run_id)


async def _confirm_and_follow(r: Run, session_id: str | None) -> AsyncIterator[RunEvent]:
    """Read a task to recover once; record its run only if the provider knows it, then follow it."""
    assert r.task_id is not None
    reads: list[StatusRead] = []
    try:
        async for event in awaiting(r, r.client.status(r.task_id), reads):
            yield event
    except ApiRefused as exc:
        if exc.status != 404:
            raise
        raise _unknown_task(r.task_id, exc.request_id) from exc
    read = reads[0]
    if read.task.state == "unknown":
        raise _unknown_task(r.task_id, read.request_id)
    state = RunState.QUEUED if read.task.state == "queued" else RunState.RUNNING
    record_row(r, session_id, None, state=state)
    r.ledger.claim(r.run_id)
    r.request_id, r.raw = read.request_id, read.raw
    columns = {"last_response": json.dumps(read.raw), "last_request_id": read.request_id}
    yield r.emit(state, f"task {r.task_id} found ({read.task.state}); following it", log=True, columns=columns)
    async for event in follow(r, None):
        yield event


def _unknown_task(task_id: str, request_id: str | None) -> TaskFailed:
    return TaskFailed(
        state="unknown", code=None, task_id=task_id, guidance=load_guidance().entry("recover_unknown"),
        message="the provider does not know this task for this key: created with another key? Recover it with "
        "that key (nothing was recorded)", request_id=request_id,
    )


async def _on_cancelled(r: Run) -> None:
    cancelled = False
    if r.task_id is not None and not r.cancel_sent:
        with contextlib.suppress(PlaygroundError, TimeoutError, asyncio.CancelledError):
            cancelled = await asyncio.shield(asyncio.wait_for(r.client.cancel(r.task_id), CANCEL_TIMEOUT_S))
    if not r.recorded:
        return
    if r.task_id is None and r.state is RunState.WAITING:
        detail = CANCELLED_WAITING
    elif r.task_id is None:
        detail = "stopped while the create request was in flight: a task may exist; recover it by id if one appears"
    elif cancelled:
        detail = "stopped by the user; the remote task was cancelled"
    else:
        # The task runs on (DashScope cancels only PENDING tasks) and will be billed: the run is
        # not "canceled". It stays unfinished, so a resume follows it to its video.
        detail = (f"stopped following on request; the provider could not cancel a {r.state} task; it will finish "
                  f"and be billed; resume the run (submit --resume {r.run_id}) to download its video")
        r.ledger.event(r.run_id, r.state, at=r.now(), detail=detail, finished=0)
        return
    r.ledger.event(r.run_id, RunState.CANCELED, at=r.now(), detail=detail, finished=1, cancel_requested=1)


async def _fresh(r: Run, request: VideoRequest | Mapping[str, Any], session_id: str | None) -> AsyncIterator[RunEvent]:
    async for event in prepare_and_submit(r, request, session_id):
        yield event
    if r.task_id is not None:
        async for event in _following(r, Observation("queued") if r.state is RunState.QUEUED else None):
            yield event


async def _following(r: Run, initial: Observation | None) -> AsyncIterator[RunEvent]:
    """Follow the task; the run's gates are given back as soon as the task has ended."""
    async for event in follow(r, initial):
        if event.state not in IN_FLIGHT:
            await release_gates(r)  # the next run of the queue may go while this one downloads
        yield event


async def _continue(r: Run, record: RunRecord) -> AsyncIterator[RunEvent]:
    """Whatever step a ledger row stopped at, carried on."""
    yield r.emit(r.state, f"resuming run {r.run_id} (was {record.state}, task {record.task_id or 'not yet created'})")
    if r.task_id is None and record.state == RunState.WAITING:
        # Nothing was sent for it: it takes its place in the queue again and is created.
        async for event in gated_submit(r):
            yield event
        if r.task_id is None:
            return
    elif r.task_id is None:
        if record.state == RunState.SUBMITTING:
            async for event in look_for_lost_task(r, OutcomeUnknown(
                "the playground stopped while the create request was in flight; a task may exist",
                lookup="",
            )):
                yield event
        else:
            raise InvalidRequest("this run never reached the provider; submit it again")
    if record.state in (RunState.DOWNLOADING, RunState.DOWNLOAD_FAILED) and record.result_url:
        async for event in deliver(r, record.result_url, record.expires_at):
            yield event
        return
    async for event in _following(r, None):
        yield event


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
