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

from playground.client import ProviderConfig, RunEvent, RunOptions, RunState, attach_file
from playground.client import run as start_run
from playground.core.guidance import load_guidance
from playground.core.problems import Problem
from playground.core.profile import Mode
from playground.core.wire import WireFormat
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
    owner: str  # whose sandbox key to use, and whose History the run joins


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


def _configured_base(services: Services, provider: Provider) -> str | None:
    """The base URL the server was configured with for a provider (where its key may go)."""
    if provider == "sandbox":
        return services.sandbox_url
    if provider == "dashscope":
        return services.settings.dashscope_base_url()
    return services.settings.base_url or None


def _key(services: Services, connection: Connection, custom_base: bool) -> SecretStr:
    """The key to send: the tab's own, else the server's, but the server's only to its own provider.

    A Base URL typed in the page must never receive the key from the server's environment:
    that would hand the key to whoever runs the listener the URL names.
    """
    if connection.api_key is not None:
        return connection.api_key
    if custom_base:
        raise ConnectionError_(
            "API key: a Base URL of your own needs a key typed in this tab; the server's key is only ever "
            "sent to the provider it was configured with (clear Base URL to use it)"
        )
    key = services.key_for(connection.provider, connection.owner)
    if key is None:
        raise ConnectionError_(
            f"API key: {connection.provider} needs a key; paste it in the connection panel "
            "or set it in the environment before starting"
        )
    return key


def provider_config(services: Services, connection: Connection) -> ProviderConfig:
    configured = _configured_base(services, connection.provider)
    base = connection.base_url or configured
    if base is None:
        raise ConnectionError_("Base URL: the gateway provider needs its base URL, e.g. https://host/v1")
    try:
        fields: dict[str, Any] = {
            "kind": connection.provider,
            "wire": connection.wire,
            "base_url": base,
            "scenario": connection.scenario if connection.provider == "sandbox" else None,
            "hosts": services.hosts,
        }
        # The URL is checked before a key is chosen, so a broken URL is named as such.
        ProviderConfig.model_validate(fields)
        custom = connection.base_url is not None and base.rstrip("/") != (configured or "").rstrip("/")
        return ProviderConfig.model_validate({**fields, "api_key": _key(services, connection, custom)})
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConnectionError_(f"Connection: {reason}") from None


def run_options(services: Services) -> RunOptions:
    """How the server runs a browser's request: never reading server files a form names, and
    leaving the task to resume() when the server stops rather than cancelling a paid task."""
    return RunOptions(profile=services.profile, cancel_on_abort=False, allow_local_files=False,
                      uploads=services.uploads)


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3]


def _guidance(event: RunEvent) -> dict[str, Any] | None:
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


def _measured(event: RunEvent) -> dict[str, Any]:
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


def _retry_line(event: RunEvent) -> str | None:
    note = event.retry
    if note is None:
        return None
    return f"attempt {note.attempt}/{note.max_attempts} of {note.op}: {note.reason}; waited {note.wait_s:.1f} s"


def scrub_paths(text: str, services: Services) -> str:
    """Server paths are for the CLI: a browser sees file names only."""
    for root in {str(services.data_dir.resolve()), str(services.data_dir)}:
        text = text.replace(root + "/", "").replace(root, "")
    return text


def view_of(event: RunEvent, services: Services, retries: Sequence[str] = ()) -> RunView:
    note = event.message
    if event.video_path is not None:
        note = note.replace(str(event.video_path), event.video_path.name)
    return RunView(
        state=event.state,
        task_id=event.task_id,
        request_id=event.request_id,
        timeline=[(state, _clock(ts)) for state, ts in event.timeline],
        elapsed_s=event.elapsed_s,
        poll_count=event.poll_count,
        next_poll_s=event.next_poll_s,
        progress=event.progress,
        note=scrub_paths(note, services),
        guidance=_guidance(event),
        video_path=services.handout(event.video_path),
        measured=_measured(event),
        response=event.raw,
        retries=tuple(retries),
    )


def _refused_view(message: str) -> RunView:
    return RunView(
        state=RunState.INVALID,
        note=message,
        guidance={
            "title": "Not sent: the connection is incomplete",
            "trigger": message,
            "fix": "Complete the connection panel, then send again.",
            "retry": "Nothing was sent, so nothing to retry.",
        },
    )


async def follow(
    services: Services, slot: tuple[str, str], connection: Connection, request: Mapping[str, Any]
) -> AsyncIterator[RunView]:
    """Start a run on the server's board and watch it; ``slot`` is where Cancel finds it."""
    try:
        provider = provider_config(services, connection)
    except ConnectionError_ as exc:
        yield _refused_view(str(exc))
        return
    ledger = services.ledger()
    stream = start_run(
        dict(request), provider, ledger, services.runs_dir,
        deadline_s=services.settings.run_deadline_s, session_id=connection.owner,
        options=run_options(services),
    )
    run_id = await services.board.start(stream, slot=slot, provider=provider, ledger=ledger)
    async for view in watch(services, run_id):
        yield view


async def watch(services: Services, run_id: str) -> AsyncIterator[RunView]:
    """Views of a run on the board, from its first event (a refresh can watch it again)."""
    retries: list[str] = []
    async for event in services.board.watch(run_id):
        line = _retry_line(event)
        if line is not None and line not in retries:
            retries.append(line)
        yield view_of(event, services, retries)


async def attach(
    services: Services, connection: Connection, path: Path, limit_name: str, loc: tuple[str | int, ...], mode: Mode,
) -> tuple[str | None, list[Problem]]:
    """Probe a local file against its limit, then upload it; the URL to use, or the problems.

    The client's attach path does the work; this only picks the provider and the model. The
    upload is bound to the model of the mode it is for (DashScope refuses a temporary file for
    any other model), and recorded in the server's UploadBook, so a Send for another model (or
    with another key, or after 48 h) uploads it again rather than sending a URL that would fail.
    """
    try:
        provider = provider_config(services, connection)
    except ConnectionError_ as exc:
        return None, [Problem(loc, str(exc), "complete the connection panel")]
    done = await attach_file(
        provider, path, limit=limit_name, model=services.profile.mode(mode).dashscope_model,
        profile=services.profile, loc=loc, owner=connection.owner, book=services.uploads,
    )
    return done.url, list(done.problems)
