"""The steps before polling: validate, upload local files, record the run, and submit.

A create whose answer was lost is never sent again: :func:`look_for_lost_task` searches the
provider's task list for it instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from playground.client import attach
from playground.client.billing import quote_json
from playground.client.errors import (
    InvalidRequest,
    OutcomeUnknown,
    PlaygroundError,
)
from playground.client.files import LocalFile, media_values, refuse_local_files, swap_in, swap_out
from playground.client.gate_steps import gates_free, take_gates
from playground.client.ledger import RunRecord, this_owner
from playground.client.providers import ProviderConfig, parse_time
from playground.client.run_state import Run, RunEvent, awaiting, notes_while, retry_line
from playground.core.contract import OSS_SCHEME
from playground.core.problems import Problem
from playground.core.profile import Profile, load_profile
from playground.core.request import REQUEST_ADAPTER, VideoRequest
from playground.core.rules import CheckOptions, check
from playground.core.run_states import RunState
from playground.core.wire import WireFormat, parse, path_of, to_wire


async def prepare_and_submit(
    r: Run, request: VideoRequest | Mapping[str, Any], session_id: str | None
) -> AsyncIterator[RunEvent]:
    """Validate, upload local files, record the run, and send the create request."""
    profile = r.options.profile or load_profile()
    yield r.emit("validating", f"checking the request for {r.provider.describe()}")
    raw, files, warnings, request_model = validate(
        request, r.provider, profile, allow_local_files=r.options.allow_local_files
    )
    for line in warnings:
        yield r.emit("validating", f"warning: {line}")
    # Every upload is bound to the model the request goes to (DashScope's temporary files work
    # for that model only), so it is named here once, from the validated request.
    model = str(to_wire("dashscope", request_model, profile)["model"])
    if files:
        refused = attach.refusal(r.provider)
        if refused is not None:
            raise refused.exception([f.field or f.original for f in files])
        problems = await asyncio.to_thread(attach.check_files, files, profile)
        if problems:
            raise InvalidRequest(f"{len(problems)} problem(s) with local files", problems=problems)
        urls: dict[str, str] = {}
        for f in files:
            bound = f" for {model}" if r.provider.kind == "dashscope" else ""  # only DashScope's are bound
            yield r.emit("uploading", f"uploading {f.path.name}{bound}")
            async for event in _upload(r, f.path, f.kind, model, session_id, urls, f.placeholder):
                yield event
        request_model = revalidate(swap_in(raw, urls), profile)
    async for step in rebind(r, request_model, profile, model, session_id):
        if isinstance(step, RunEvent):
            yield step
        else:
            request_model = step
    body = to_wire(r.provider.wire, request_model, profile)
    r.wire_body = body
    r.started_at = r.now()
    # A run that must queue is recorded "waiting": nothing is sent until its gates let it.
    queued = bool(r.options.gates) and not gates_free(r.options.gates)
    record_row(r, session_id, request_model, state="waiting" if queued else "submitting")
    r.ledger.claim(r.run_id)
    async for event in gated_submit(r):
        yield event


async def gated_submit(r: Run) -> AsyncIterator[RunEvent]:
    """Take the run's gates (waiting if need be), then send the create request; the create
    slots are given back once it has answered, the gates only when the task ends."""
    async with contextlib.AsyncExitStack() as creating:
        async for event in take_gates(r, creating):
            yield event
        if r.state is RunState.CANCELED:
            return
        yield r.emit("submitting", f"sending the create request to {r.provider.describe()}")
        async for event in submit(r):
            yield event


async def _upload(r: Run, path: Path, limit: str, model: str, session_id: str | None, urls: dict[str, str],
                  placeholder: str) -> AsyncIterator[RunEvent]:
    """Upload one checked file for ``model`` through the attach path; its URL goes in ``urls``."""
    made: list[attach.Upload] = []
    work = attach.upload(r.client, path, limit=limit, model=model, owner=session_id or "",
                         book=r.options.uploads, clock=r.now)
    async for event in awaiting(r, work, made):
        yield event
    urls[placeholder] = made[0].url


async def rebind(r: Run, request_model: VideoRequest, profile: Profile, model: str,
                 session_id: str | None) -> AsyncIterator[RunEvent | VideoRequest]:
    """Make every oss:// URL in the request one the service will take for this model and key.

    An oss:// URL works only in the region where temporary uploads exist (Beijing), for the
    model and the account it was uploaded for, and for 48 hours. URLs this process uploaded
    (``options.uploads``) that break one of those are uploaded again from their local copy;
    the new request model is yielded last when anything changed.
    """
    raw = request_model.model_dump(mode="json", exclude_none=True)
    temporary = [loc for loc, _, value in media_values(raw) if value.startswith(OSS_SCHEME)]
    refused = attach.refusal(r.provider)
    if temporary and refused is not None:
        raise refused.exception([path_of(r.provider.wire, loc) for loc in temporary])
    book = r.options.uploads
    if not temporary or book is None:
        return
    stale = attach.stale_uploads(raw, book=book, owner=session_id or "", model=model,
                                 account=attach.account_of(r.provider), now=r.now())
    urls: dict[str, str] = {}
    for item in stale:
        field = path_of(r.provider.wire, item.loc)
        made = item.upload
        if not made.path.is_file():
            raise InvalidRequest(
                f"{field}: this temporary file cannot be sent: {item.reason}; its local copy is gone, so attach "
                "the file again (nothing was sent)",
                problems=[f"{field}: {item.reason}; attach the file again"],
            )
        problems = await asyncio.to_thread(attach.check_files, [LocalFile(made.path, item.limit, "", field)], profile)
        if problems:
            raise InvalidRequest(f"{field}: the attached file does not fit here", problems=problems)
        yield r.emit("uploading", f"uploading {made.path.name} again for {model}: {item.reason}")
        async for event in _upload(r, made.path, item.limit, model, session_id, urls, made.url):
            yield event
    if urls:
        yield revalidate(swap_in(raw, urls), profile)


def validate(
    request: VideoRequest | Mapping[str, Any], provider: ProviderConfig, profile: Profile,
    *, allow_local_files: bool = True,
) -> tuple[dict[str, Any], list[Any], list[str], VideoRequest]:
    """The request model (local files replaced by placeholders), or InvalidRequest.

    Without ``allow_local_files``, a local path or file:// URL is LocalFileRefused, decided
    before the filesystem is looked at (a bare relative name is then left for the rules, which
    want a URL).
    """
    if isinstance(request, BaseModel):
        data: Mapping[str, Any] = request.model_dump(mode="json", exclude_none=True)
    else:
        data = request
    if allow_local_files:
        swapped, files = swap_out(dict(data))
    else:
        swapped, files = dict(data), []
        refuse_local_files(swapped)
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


def _split(problems: list[Problem], fmt: WireFormat) -> tuple[list[str], list[str]]:
    errors = [p.line(path_of(fmt, p.loc)) for p in problems if p.severity == "error"]
    warnings = [p.line(path_of(fmt, p.loc)) for p in problems if p.severity != "error"]
    return errors, warnings


def revalidate(data: Mapping[str, Any], profile: Profile) -> VideoRequest:
    verdict = check(data, profile, CheckOptions(allow_oss_urls=True))
    if verdict.request is None or not verdict.ok:
        lines = [p.line(str(p.loc)) for p in verdict.problems if p.severity == "error"]
        raise InvalidRequest("the request with uploaded URLs does not check out", problems=lines)
    return verdict.request


def record_row(r: Run, session_id: str | None, request_model: VideoRequest | None, *, state: str) -> None:
    # Stored in the order it is sent (the preview's), so History and exports show it that way;
    # the hash is of the canonical (sorted) text, so it names the body whatever its key order.
    body_text = json.dumps(r.wire_body, ensure_ascii=False) if r.wire_body is not None else None
    canonical = json.dumps(r.wire_body, sort_keys=True, ensure_ascii=False) if r.wire_body is not None else None
    r.ledger.create(RunRecord(
        run_id=r.run_id, created_at=r.started_at, updated_at=r.started_at, provider=r.provider.kind,
        wire=r.provider.wire, base_url=r.provider.base_url, state=state, session_id=session_id,
        scenario=r.provider.scenario,
        request_json=REQUEST_ADAPTER.dump_json(request_model, exclude_none=True).decode() if request_model else None,
        wire_body=body_text, body_hash=hashlib.sha256(canonical.encode()).hexdigest() if canonical else None,
        task_id=r.task_id, out_dir=str(r.out_dir), deadline_s=r.deadline_s, owner=this_owner(),
        heartbeat_at=r.started_at, quote_json=_quote_text(r) if request_model else None,
        batch_id=r.options.batch[0] if r.options.batch else None, variation_json=_variation_text(r),
    ))
    r.recorded = True
    r.state = state
    r.timeline = [(state, r.started_at)]


def _variation_text(r: Run) -> str | None:
    """The run's axis values in its variations batch (RunOptions.batch), as stored."""
    return json.dumps(dict(r.options.batch[1]), ensure_ascii=False) if r.options.batch else None


def _quote_text(r: Run) -> str | None:
    """The quote shown before Send, kept with the run (playground.client.billing)."""
    if r.options.quote is None:
        return None
    stored = quote_json(r.options.quote, sandbox=r.provider.kind == "sandbox", at=r.started_at)
    return json.dumps(stored, ensure_ascii=False)


async def submit(r: Run) -> AsyncIterator[RunEvent]:
    assert r.wire_body is not None
    oss = OSS_SCHEME in json.dumps(r.wire_body)
    call = asyncio.ensure_future(r.client.submit(r.wire_body, oss_resolve=oss))
    try:
        async for note in notes_while(r, call):
            for gate in r.options.gates:
                gate.saw_retry(note)  # a 429: the whole key backs off, not only this run
            yield r.emit("submitting", retry_line(note), retry=note)
        submitted = call.result()
    except OutcomeUnknown as exc:
        # Never resent: the task may exist, so it is looked for instead.
        async for event in look_for_lost_task(r, exc):
            yield event
        return
    except PlaygroundError as exc:
        for gate in r.options.gates:
            gate.saw_failure(exc)
        raise
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


async def look_for_lost_task(r: Run, exc: OutcomeUnknown) -> AsyncIterator[RunEvent]:
    """After a lost create answer: find the task in the provider's list rather than resubmit."""
    yield r.emit("submitting", "the create request's answer was lost; looking for the task instead of resubmitting")
    searched: list[tuple[str | None, str]] = []
    async for event in awaiting(r, _search_task_list(r), searched):
        yield event
    found, note = searched[0]
    if found is None:
        exc.facts["lookup"] = note
        raise exc
    r.task_id = found
    yield r.emit("queued", f"found task {found} in the provider's task list; following it (not resubmitted)",
                 columns={"task_id": found})


async def _search_task_list(r: Run) -> tuple[str | None, str]:
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
