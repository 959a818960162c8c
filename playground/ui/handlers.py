"""Event handlers: form values in, component updates out. Thin: the work lives in core and client.

A tab is known by Gradio's session hash (``gr.Request``); its data (the API key typed into the
connection panel, a SecretStr never written anywhere, and the browser's id) is in
``services.sessions``, on the server, and never travels back to the browser or an API client.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import gradio as gr
from pydantic import SecretStr

from playground.core import importer, snippets
from playground.core.problems import Problem
from playground.core.profile import MODES, Mode
from playground.core.request import ReferenceToVideo
from playground.core.rules import CheckOptions, check, duration_rule
from playground.core.signing import BROWSER_COOKIE, browser_id
from playground.core.wire import WireFormat, path_of
from playground.settings import Provider
from playground.ui import examples, quote_panel, runs, thumbs
from playground.ui.connection import Connection, api_base
from playground.ui.forms import TAB_LABELS, field_names, form_from_request, request_from_form, slots
from playground.ui.layout import duration_info
from playground.ui.preview import build_preview, sandbox_url_problems
from playground.ui.services import Services
from playground.ui.sessions import TabSession
from playground.ui.views import RunView


def sid(request: gr.Request | None) -> str:
    """The tab's session id; a call that names no session is a session of its own."""
    return str(getattr(request, "session_hash", None) or f"call-{uuid.uuid4().hex}")


def owner_of(services: Services, request: gr.Request | None) -> str:
    """Whose runs these are: the browser's signed cookie says, else (API clients) the session.

    Nothing a caller sends as a value can choose the owner: the cookie is signed by the server
    and HttpOnly (playground/web/identity.py), and a session hash is a random secret per page.
    """
    inner = getattr(request, "request", None) if request is not None else None
    cookies = getattr(inner, "cookies", None) or {}
    browser = browser_id(services.secret, cookies.get(BROWSER_COOKIE), now=time.time())
    return browser or sid(request)


def session_of(services: Services, request: gr.Request | None) -> TabSession:
    """This tab's server-side data, bound to its owner (another owner never sees it)."""
    return services.sessions.get(sid(request), owner_of(services, request))


_CONNECTION = ("provider", "wire", "base_url", "scenario")


def _named(fn: Callable[..., Any], name: str, params: list[str], *, with_request: bool = False) -> None:
    """Give a varargs handler real parameter names, so API users see `prompt`, not `param_5`.

    With ``with_request`` the last parameter is the gr.Request, which Gradio fills in itself.
    """
    fn.__name__ = name
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = [inspect.Parameter(p, kind) for p in params]
    if with_request:
        signature.append(inspect.Parameter("request", kind, annotation=gr.Request))
        fn.__annotations__ = {"request": gr.Request}  # Gradio finds the request by its type hint
    fn.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]


def make_forget(services: Services) -> Callable[[gr.Request], None]:
    def forget(request: gr.Request) -> None:
        services.sessions.drop(sid(request))

    return forget


def key_note(key: SecretStr | None, services: Services, provider: Provider) -> str:
    """Say where the key for this provider comes from, without ever showing any of it."""
    if key is not None:
        text = "A key is set for this browser tab only; it is never stored or logged."
    elif provider == "sandbox":
        text = "The sandbox needs no key (a key starting sk-invalid rehearses a rejected one)."
    elif services.settings.api_key(provider) is not None:
        text = "Using the key from the server's environment."
    else:
        text = "No key yet: paste one here, or set it in the environment before starting."
    return f'<div class="measured">{html.escape(text)}</div>'


def make_remember_key(services: Services) -> Callable[[str | None, Provider, gr.Request], str]:
    def set_api_key(key: str | None, provider: Provider, request: gr.Request) -> str:
        """Keep the key in this tab's server-side session only."""
        secret = SecretStr(key.strip()) if key and key.strip() else None
        session_of(services, request).api_key = secret
        return key_note(secret, services, provider)

    return set_api_key


def make_provider_changed(services: Services) -> Callable[[Provider, gr.Request], tuple[dict[str, Any], str]]:
    def set_provider(provider: Provider, request: gr.Request) -> tuple[dict[str, Any], str]:
        update = gr.update(value=services.default_wire(provider), interactive=provider == "sandbox")
        return update, key_note(session_of(services, request).api_key, services, provider)

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
        fmt = services.wire_for(provider, wire)
        # A file attached for DashScope comes back as an oss:// URL of its temporary upload, which
        # the DashScope format takes (Send adds the resolve header): the verdict must agree.
        options = CheckOptions(allow_oss_urls=fmt == "dashscope")
        # The sandbox never fetches other hosts' files: say so now, not when the task fails.
        own = services.sandbox_url if provider == "sandbox" else None
        shown = build_preview(mode, form, fmt, services.profile, options, own)
        return shown.json_text(), shown.verdict_html(), _counter(form.get("prompt"), services.profile.prompt_max_chars)

    _named(preview, f"preview_{mode.replace('-', '_')}", ["provider", "wire", *names])
    return preview


def make_duration_follow(services: Services, mode: Mode) -> Callable[[str, Any], dict[str, Any]]:
    """Reference-to-video allows shorter videos once a reference video is given.

    The duration box says the new range; a value outside it stays as typed (the preview names
    the field and the range), rather than being changed behind the user's back.
    """
    rules = services.profile.mode(mode)

    def follow(reference_videos: str, duration: Any) -> dict[str, Any]:
        media = [{"type": "reference_video", "url": u} for u in (reference_videos or "").split() if u]
        probe = ReferenceToVideo(media=tuple(media)) if media else ReferenceToVideo()
        rule, _ = duration_rule(probe, rules)
        if rule.choices is None and rule.keep_source is None:
            return gr.update(info=duration_info(rule))
        value = duration if duration is None or rule.allows(int(duration)) else rule.default
        return gr.update(choices=[(f"{v} s", v) for v in rule.values()], value=value, info=duration_info(rule))

    return follow


def _connection(
    request: gr.Request | None, services: Services, provider: Provider, wire: Any, base_url: str | None,
    scenario: str | None,
) -> Connection:
    session = session_of(services, request)
    return Connection(
        provider=provider,
        wire=services.wire_for(provider, wire),
        base_url=(base_url or "").strip() or None,
        scenario=None if scenario in (None, "", "none") else scenario,
        api_key=session.api_key,
        owner=session.owner,
    )


def make_attach(services: Services, mode: Mode, slot_name: str) -> Callable[..., Any]:
    """Probe an uploaded file against its limits, store it with the provider, and fill in its URL."""
    slot = next(s for s in slots(mode) if s.name == slot_name)

    async def attach(
        files: Any,
        current: str | None,
        provider: Provider,
        wire: Any,
        base_url: str | None,
        scenario: str | None,
        request: gr.Request,
    ) -> tuple[str, None]:
        connection = _connection(request, services, provider, wire, base_url, scenario)
        paths = [Path(f) for f in (files if isinstance(files, list) else [files]) if f]
        urls = [u for u in (current or "").splitlines() if u.strip()] if slot.multiple else []
        for path in paths:
            url, problems = await runs.attach(services, connection, path, slot.media_type, (slot_name,), mode)
            for problem in problems:
                (gr.Warning if problem.severity == "warning" else _error_toast)(
                    f"{slot.label}: {path.name}: {problem.message}; {problem.fix}"
                )
            if url:
                urls.append(url)
                await asyncio.to_thread(thumbs.remember, url, path, slot.kind)  # its picture, or its still
        kept = "\n".join(urls) if urls else (current or "")
        return kept, None

    attach.__name__ = f"attach_{mode.replace('-', '_')}_{slot_name}"
    return attach


def _error_toast(message: str) -> None:
    # A toast, not a raised gr.Error: the other files of a multiple upload still get attached.
    gr.Warning(message, title="File not attached")


def make_send(services: Services, mode: Mode) -> Callable[..., AsyncIterator[tuple[Any, ...]]]:
    names = field_names(mode)

    async def send(*args: Any) -> AsyncIterator[tuple[Any, ...]]:
        # Gradio passes the connection, the form, then the gr.Request (see _named below).
        provider, wire, base_url, scenario = args[:4]
        form = dict(zip(names, args[4:-1], strict=True))
        connection = _connection(args[-1], services, provider, wire, base_url, scenario)
        body = request_from_form(mode, form)
        if provider == "sandbox" and connection.base_url is None:
            # What the preview flags, Send refuses at once: the sandbox's task would fail on it.
            foreign = sandbox_url_problems(body, services.sandbox_url)
            if foreign:
                options = CheckOptions(allow_oss_urls=connection.wire == "dashscope")
                others = [p for p in check(body, services.profile, options).problems if p.severity == "error"]
                yield _not_sent([*others, *foreign], connection.wire).as_outputs()
                return
        # With its quote: refused first if it would pass a daily budget, then billed (quote_panel.py).
        async for outputs in quote_panel.send(services, mode, (sid(args[-1]), mode), connection, body):
            yield outputs

    _named(send, f"send_{mode.replace('-', '_')}", [*_CONNECTION, *names], with_request=True)
    return send


def _not_sent(problems: list[Problem], fmt: WireFormat) -> RunView:
    return runs.not_sent_view("sandbox_foreign_file", "Not sent: the sandbox would refuse a file it does not hold.",
                              details=[p.line(path_of(fmt, p.loc)) for p in problems])


def make_cancel(services: Services, mode: Mode) -> Callable[[gr.Request], Awaitable[None]]:
    async def cancel(request: gr.Request) -> None:
        """Ask the provider to stop this tab's running task; its status reports how it ended."""
        await services.board.cancel((sid(request), mode), services.ledger())

    cancel.__name__ = f"cancel_{mode.replace('-', '_')}"
    return cancel


def make_export(services: Services, mode: Mode) -> Callable[..., str]:
    def export_request(provider: Provider, wire: Any, base_url: str | None, kind: str, body: str) -> str:
        """Code for the previewed request's whole loop; the key stays an environment variable."""
        try:
            parsed = json.loads(body or "{}")
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            # The page always sends the preview's JSON; only a script sends anything else.
            raise gr.Error("body: send the request JSON object the preview shows")
        if not parsed:
            return ""
        fmt = services.wire_for(provider, wire)
        connection = Connection(provider, fmt, (base_url or "").strip() or None, None, None, "")
        base = api_base(services, connection)
        writer = {"python": snippets.python_script, "javascript": snippets.javascript_script}.get(
            kind, snippets.curl_script
        )
        try:
            return writer(parsed, fmt, base)
        except ValueError as exc:  # a base URL the code could not call, e.g. ftp://...
            raise gr.Error(f"Code for this request: {exc}") from None

    export_request.__name__ = f"export_{mode.replace('-', '_')}"
    return export_request


def make_import(services: Services, mode: Mode) -> Callable[[str, Provider], list[Any]]:
    """Paste JSON or curl: fill the right tab, or say why not and leave every form as it was.

    The form then previews the request as it was pasted: the same fields (a field it left out
    stays out), in the format it was written in. The sandbox speaks both formats, so the wire
    format follows the import; another provider speaks one, and the report says it was converted.
    The report shows in the tab the request landed in (the others' reports are cleared).

    Outputs: the tab strip, this tab's report, the wire format, the other tabs' reports (in
    mode order), then every tab's form.
    """
    others = [m for m in MODES if m != mode]

    def import_request(text: str, provider: Provider) -> list[Any]:
        result = importer.import_request(text or "", services.profile)
        if result.fields is None or result.request is None:
            report = _import_report(result)
            return [gr.skip(), report, gr.skip(), *[gr.skip() for _ in others],
                    *[gr.skip() for m in MODES for _ in field_names(m)]]
        target: Mode = result.fields["mode"]
        fmt = result.format or "dashscope"
        shown = services.wire_for(provider, fmt)
        converted = None if shown == fmt else (fmt, shown, provider)
        report = _import_report(result, converted)
        values = form_from_request(result.fields)
        wire = fmt if provider == "sandbox" else gr.skip()
        here = report if target == mode else _landed_elsewhere(target)
        updates: list[Any] = [gr.Tabs(selected=target), here, wire]
        updates += [report if each == target else "" for each in others]
        for each in MODES:
            names = field_names(each)
            updates += [values.get(n) for n in names] if each == target else [gr.skip() for _ in names]
        return updates

    _named(import_request, f"import_{mode.replace('-', '_')}", ["text", "provider"])
    return import_request


_FORMAT_WORDS: dict[str, str] = {"dashscope": "DashScope native", "gateway": "gateway (guide page)"}


def _landed_elsewhere(target: Mode) -> str:
    return (
        f'<div class="verdict ok" aria-label="Import report">Imported into the {html.escape(TAB_LABELS[target])} '
        "tab; its report is there.</div>"
    )


def _import_report(result: importer.ImportResult, converted: tuple[str, str, str] | None = None) -> str:
    ok = result.request is not None
    lines = result.lines()[1:]
    if converted is not None:
        pasted, shown, provider = converted
        lines.append(
            f"converted: pasted in the {_FORMAT_WORDS[pasted]} format, shown and sent in the "
            f"{_FORMAT_WORDS[shown]} format, the only one the {provider} provider speaks (same request)"
        )
    items = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in lines)
    css = "ok" if ok and not items else ("warn" if ok else "bad")
    discarded = "<p>An API key was in the pasted text; it was discarded, not kept.</p>" if result.key_discarded else ""
    return (
        f'<div class="verdict {css}" aria-label="Import report"><strong>{html.escape(result.message)}</strong>'
        f"{discarded}<ul>{items}</ul></div>"
    )


def make_example(services: Services, mode: Mode) -> Callable[..., Awaitable[list[Any]]]:
    """Fill the form with a ready-made request; its sample media are attached like uploads."""

    async def load_example(
        label: str, provider: Provider, wire: Any, base_url: str | None, scenario: str | None, request: gr.Request
    ) -> list[Any]:
        example = examples.find(mode, label) if label else None
        if example is None:
            raise gr.Error(f"Example: no example called {label!r}; pick one from the list.")
        # The example's request as it is written: what it leaves out shows as the API's default.
        values = form_from_request({"mode": mode, **example.fields})
        connection = _connection(request, services, provider, wire, base_url, scenario)
        by_name = {slot.name: slot for slot in slots(mode)}
        for slot_name, samples in example.media.items():
            urls = []
            for sample in samples:
                path = sample.make(services.data_dir / "samples")
                kind = by_name[slot_name].media_type
                url, problems = await runs.attach(services, connection, path, kind, (slot_name,), mode)
                if url is None:
                    raise gr.Error(f"Example: {path.name} could not be attached: {problems[0].message}")
                await asyncio.to_thread(thumbs.remember, url, path, by_name[slot_name].kind)
                urls.append(url)
            values[slot_name] = "\n".join(urls)
        return [values.get(name) for name in field_names(mode)]

    load_example.__name__ = f"example_{mode.replace('-', '_')}"
    return load_example
