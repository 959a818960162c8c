"""The bridge from the UI to the client's runner: connection settings in, RunViews out.

The runner does the work (validate, upload, submit, poll, download, ledger); this module only
chooses the provider for a browser session and turns runner events into what the panels show.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from playground.client import runner
from playground.client.api import VideoClient
from playground.client.errors import PlaygroundError
from playground.client.providers import ProviderConfig
from playground.core.guidance import load_guidance
from playground.core.problems import Problem
from playground.core.profile import MediaLimit
from playground.core.wire import WireFormat
from playground.media.probe import MediaError, check_media, probe
from playground.settings import Provider
from playground.ui.services import Services
from playground.ui.views import RunView


@dataclass(frozen=True)
class Connection:
    """The connection panel's values for one action; the key is this tab's, if it typed one."""

    provider: Provider
    wire: WireFormat
    base_url: str | None
    scenario: str | None
    api_key: SecretStr | None


class ConnectionError_(ValueError):
    """The connection panel does not describe a usable provider."""


def api_base(services: Services, connection: Connection) -> str:
    """Where the API paths hang off for this connection (no key needed to say so)."""
    base = connection.base_url
    if base is None:
        if connection.provider == "sandbox":
            base = services.sandbox_url
        elif connection.provider == "dashscope":
            base = services.settings.dashscope_base_url()
        else:
            base = services.settings.base_url or "https://YOUR-GATEWAY/v1"
    try:
        return ProviderConfig(kind=connection.provider, wire=connection.wire, base_url=base).api_base
    except ValidationError:
        return base


def provider_config(services: Services, connection: Connection) -> ProviderConfig:
    settings = services.settings
    base = connection.base_url
    if base is None:
        if connection.provider == "sandbox":
            base = services.sandbox_url
        elif connection.provider == "dashscope":
            base = settings.dashscope_base_url()
        elif settings.base_url:
            base = settings.base_url
        else:
            raise ConnectionError_("Base URL: the gateway provider needs its base URL, e.g. https://host/v1")
    key = connection.api_key or settings.api_key(connection.provider)
    if key is None:
        raise ConnectionError_(
            f"API key: {connection.provider} needs a key; paste it in the connection panel "
            "or set it in the environment before starting"
        )
    try:
        return ProviderConfig(
            kind=connection.provider,
            wire=connection.wire,
            base_url=base,
            api_key=key,
            scenario=connection.scenario if connection.provider == "sandbox" else None,
        )
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConnectionError_(f"Connection: {reason}") from None


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3]


def _guidance(event: runner.RunEvent) -> dict[str, Any] | None:
    """The card for a failure, or for a retry in progress (so a presenter sees the backoff)."""
    error = event.error
    if error is not None:
        entry = error.guidance
        problems = list(getattr(error, "problems", ()) or ())
        return {
            "title": entry.title,
            "trigger": entry.trigger,
            "fix": entry.fix,
            "retry": entry.retry.summary(),
            "did": error.did(),
            "details": problems or [error.message],
        }
    note = event.retry
    if note is None:
        return None
    entry = load_guidance().entry(note.guidance_id)
    return {
        "title": f"{entry.title}: retrying",
        "trigger": entry.trigger,
        "fix": entry.fix,
        "retry": entry.retry.summary(),
        "did": f"Attempt {note.attempt} of {note.max_attempts} failed ({note.reason}); "
        f"trying again in {note.wait_s:.1f} s.",
        "transient": True,
    }


def _measured(event: runner.RunEvent) -> dict[str, Any]:
    info = event.media
    if info is None:
        return {}
    out: dict[str, Any] = {"bytes": f"{info.bytes:,}", "codec": info.codec or "?"}
    if info.width and info.height:
        out["size"] = f"{info.width}×{info.height}"
    if info.duration_s is not None:
        out["duration"] = f"{info.duration_s:.2f} s"
    if info.fps:
        out["fps"] = f"{info.fps:g} fps"
    return out


def _retry_line(event: runner.RunEvent) -> str | None:
    note = event.retry
    if note is None:
        return None
    return f"attempt {note.attempt}/{note.max_attempts} of {note.op}: {note.reason}; waited {note.wait_s:.1f} s"


def view_of(event: runner.RunEvent, retries: Sequence[str] = ()) -> RunView:
    return RunView(
        state=event.state,
        task_id=event.task_id,
        request_id=event.request_id,
        timeline=[(state, _clock(ts)) for state, ts in event.timeline],
        elapsed_s=event.elapsed_s,
        poll_count=event.poll_count,
        next_poll_s=event.next_poll_s,
        progress=event.progress,
        note=event.message,
        guidance=_guidance(event),
        video_path=str(event.video_path) if event.video_path else None,
        measured=_measured(event),
        response=event.raw,
        retries=tuple(retries),
    )


def _refused_view(message: str) -> RunView:
    return RunView(
        state="invalid",
        note=message,
        guidance={
            "title": "Not sent: the connection is incomplete",
            "trigger": message,
            "fix": "Complete the connection panel, then send again.",
            "retry": "Nothing was sent, so nothing to retry.",
        },
    )


async def follow(
    services: Services, owner: str, slot: tuple[str, str], connection: Connection, request: Mapping[str, Any]
) -> AsyncIterator[RunView]:
    """Start a run on the server's board and watch it; ``slot`` is where Cancel finds it."""
    try:
        provider = provider_config(services, connection)
    except ConnectionError_ as exc:
        yield _refused_view(str(exc))
        return
    stream = runner.run(
        dict(request), provider, services.ledger(), services.runs_dir,
        deadline_s=services.settings.run_deadline_s, session_id=owner,
        options=runner.RunOptions(profile=services.profile, cancel_on_abort=False),
    )
    run_id = await services.board.start(stream, slot=slot, provider=provider)
    async for view in watch(services, run_id):
        yield view


async def watch(services: Services, run_id: str) -> AsyncIterator[RunView]:
    """Views of a run on the board, from its first event (a refresh can watch it again)."""
    retries: list[str] = []
    async for event in services.board.watch(run_id):
        line = _retry_line(event)
        if line is not None and line not in retries:
            retries.append(line)
        yield view_of(event, retries)


async def attach(
    services: Services, connection: Connection, path: Path, limit_name: str, loc: tuple[str | int, ...]
) -> tuple[str | None, list[Problem]]:
    """Probe a local file against its limit, then upload it; the URL to use, or the problems."""
    limit: MediaLimit = services.profile.media[limit_name]
    try:
        info = probe(path)
    except MediaError as exc:
        return None, [Problem(loc, str(exc), "choose a real file of the right kind")]
    problems = check_media(info, limit, loc)
    if any(p.severity == "error" for p in problems):
        return None, problems
    try:
        provider = provider_config(services, connection)
    except ConnectionError_ as exc:
        return None, [Problem(loc, str(exc), "complete the connection panel")]
    if provider.kind == "gateway":
        return None, [
            Problem(loc, "this gateway takes only URLs", "upload the file somewhere public and paste its URL")
        ]
    model = services.profile.mode("text-to-video").dashscope_model
    try:
        async with VideoClient(provider) as client:
            return await client.upload(path, model=model), problems
    except PlaygroundError as exc:
        return None, [Problem(loc, f"upload failed: {exc.message}", "try again, or paste a public URL instead")]
