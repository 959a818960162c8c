"""Event handlers: form values in, component updates out. Thin: the work lives in core and client.

Session state (one ``gr.State`` per browser tab, server side) holds the tab's id, the API key
typed into the connection panel (a SecretStr, never written anywhere) and cancel signals.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import gradio as gr
from pydantic import SecretStr

from playground.core.profile import Mode
from playground.core.request import ReferenceToVideo
from playground.core.rules import duration_rule
from playground.settings import Provider
from playground.ui import runs
from playground.ui.forms import field_names, request_from_form, slots
from playground.ui.preview import build_preview
from playground.ui.services import Services

Session = dict[str, Any]
_CONNECTION = ("provider", "wire", "base_url", "scenario")


def _named(fn: Callable[..., Any], name: str, params: list[str]) -> None:
    """Give a varargs handler real parameter names, so API users see `prompt`, not `param_5`."""
    fn.__name__ = name
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    fn.__signature__ = inspect.Signature([inspect.Parameter(p, kind) for p in params])  # type: ignore[attr-defined]


def new_session() -> Session:
    return {"id": uuid.uuid4().hex, "api_key": None, "cancel": {}}


def key_note(key: SecretStr | None, services: Services, provider: Provider) -> str:
    """Say where the key for this provider comes from, without ever showing any of it."""
    if provider == "sandbox":
        text = "The sandbox needs no key (a key starting sk-invalid rehearses a rejected one)."
    elif key is not None:
        text = "A key is set for this browser tab only; it is never stored or logged."
    elif services.settings.api_key(provider) is not None:
        text = "Using the key from the server's environment."
    else:
        text = "No key yet: paste one here, or set it in the environment before starting."
    return f'<div class="measured">{html.escape(text)}</div>'


def make_remember_key(services: Services) -> Callable[[str | None, Session, Provider], str]:
    def set_api_key(key: str | None, session: Session, provider: Provider) -> str:
        """Keep the key in this tab's server-side session only."""
        session["api_key"] = SecretStr(key.strip()) if key and key.strip() else None
        return key_note(session["api_key"], services, provider)

    return set_api_key


def make_provider_changed(services: Services) -> Callable[[Provider, Session], tuple[dict[str, Any], str]]:
    def set_provider(provider: Provider, session: Session) -> tuple[dict[str, Any], str]:
        update = gr.update(value=services.default_wire(provider), interactive=provider == "sandbox")
        return update, key_note(session.get("api_key"), services, provider)

    return set_provider


def _counter(text: str | None, limit: int) -> str:
    count = len(text or "")
    css = "counter over" if count > limit else "counter"
    note = " (the API drops the rest)" if count > limit else ""
    return f'<div class="{css}">{count} / {limit}{note}</div>'


def make_preview(services: Services, mode: Mode) -> Callable[..., tuple[str, str, str]]:
    names = field_names(mode)

    def preview(provider: Provider, wire: Any, *values: Any) -> tuple[str, str, str]:
        form = dict(zip(names, values, strict=True))
        shown = build_preview(mode, form, services.wire_for(provider, wire), services.profile)
        return shown.json_text(), shown.verdict_html(), _counter(form.get("prompt"), services.profile.prompt_max_chars)

    _named(preview, f"preview_{mode.replace('-', '_')}", ["provider", "wire", *names])
    return preview


def make_duration_follow(services: Services, mode: Mode) -> Callable[[str, Any], dict[str, Any]]:
    """Reference-to-video allows shorter videos once a reference video is given."""
    rules = services.profile.mode(mode)

    def follow(reference_videos: str, duration: Any) -> dict[str, Any]:
        media = [{"type": "reference_video", "url": u} for u in (reference_videos or "").split() if u]
        probe = ReferenceToVideo(media=tuple(media)) if media else ReferenceToVideo()
        rule, _ = duration_rule(probe, rules)
        value = duration if rule.allows(int(duration or rule.default)) else rule.default
        if rule.choices is None and rule.keep_source is None:
            return gr.update(minimum=rule.min, maximum=rule.max, value=value, info=f"{rule.describe()} seconds")
        return gr.update(choices=[(f"{v} s", v) for v in rule.values()], value=value, info=rule.describe())

    return follow


def _connection(
    session: Session, services: Services, provider: Provider, wire: Any, base_url: str | None, scenario: str | None
) -> runs.Connection:
    return runs.Connection(
        provider=provider,
        wire=services.wire_for(provider, wire),
        base_url=(base_url or "").strip() or None,
        scenario=None if scenario in (None, "", "none") else scenario,
        api_key=session.get("api_key"),
    )


def make_attach(services: Services, mode: Mode, slot_name: str) -> Callable[..., Any]:
    """Probe an uploaded file against its limits, store it with the provider, and fill in its URL."""
    slot = next(s for s in slots(mode) if s.name == slot_name)

    async def attach(
        files: Any,
        current: str | None,
        session: Session,
        provider: Provider,
        wire: Any,
        base_url: str | None,
        scenario: str | None,
    ) -> tuple[str, None]:
        connection = _connection(session, services, provider, wire, base_url, scenario)
        paths = [Path(f) for f in (files if isinstance(files, list) else [files]) if f]
        urls = [u for u in (current or "").splitlines() if u.strip()] if slot.multiple else []
        for path in paths:
            url, problems = await runs.attach(services, connection, path, slot.media_type, (slot_name,))
            for problem in problems:
                (gr.Warning if problem.severity == "warning" else _error_toast)(
                    f"{slot.label}: {path.name}: {problem.message}; {problem.fix}"
                )
            if url:
                urls.append(url)
        kept = "\n".join(urls) if urls else (current or "")
        return kept, None

    attach.__name__ = f"attach_{mode.replace('-', '_')}_{slot_name}"
    return attach


def _error_toast(message: str) -> None:
    # A toast, not a raised gr.Error: the other files of a multiple upload still get attached.
    gr.Warning(message, title="File not attached")


def make_send(services: Services, mode: Mode) -> Callable[..., AsyncIterator[tuple[Any, ...]]]:
    names = field_names(mode)

    async def send(
        session: Session, provider: Provider, wire: Any, base_url: str, scenario: str, *values: Any
    ) -> AsyncIterator[tuple[Any, ...]]:
        form = dict(zip(names, values, strict=True))
        connection = _connection(session, services, provider, wire, base_url, scenario)
        cancel = asyncio.Event()
        session.setdefault("cancel", {})[mode] = cancel
        active = session.setdefault("runs", {})
        request = request_from_form(mode, form)
        async for view in runs.follow(services, session["id"], connection, request, cancel, active, mode):
            yield view.as_outputs()

    _named(send, f"send_{mode.replace('-', '_')}", ["session", *_CONNECTION, *names])
    return send


def make_cancel(mode: Mode) -> Callable[[Session], None]:
    def cancel(session: Session) -> None:
        """Ask this tab's running task to stop; the send handler reports how it ended."""
        event = session.get("cancel", {}).get(mode)
        if event is not None:
            event.set()

    cancel.__name__ = f"cancel_{mode.replace('-', '_')}"
    return cancel
