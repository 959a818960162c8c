"""Reading provider answers: error bodies in any shape, request ids, and timing headers.

Pure functions over httpx responses. An error body may be the provider's JSON (DashScope's
``{code, message, request_id}`` or the gateway's ``{"error": {...}}``), a proxy's HTML page,
cut-off JSON, or nothing at all; each is read into the same :class:`ErrorBody`, with any key
scrubbed from the text. Only the provider's own error fields are ever quoted; any other body is
described by its status, content type and length (it may come from any server a caller named).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from playground.client.errors import scrub
from playground.core.contract import (
    POLL_AFTER_MS_HEADERS,
    REQUEST_ID_HEADERS,
    RETRY_AFTER_HEADER,
    RETRY_AFTER_MS_HEADER,
)


@dataclass(frozen=True)
class ErrorBody:
    """What an error answer said."""

    code: str | None
    message: str
    request_id: str | None
    has_provider_error: bool


def read_error(response: httpx.Response, secrets: list[str]) -> ErrorBody:
    """What an error answer says: code, message, request id; never raises, whatever the bytes.

    Only the provider's own error fields (``code`` / ``message``, or the gateway's
    ``error.code`` / ``error.type`` / ``error.message``) are quoted, scrubbed of keys. Anything
    else (an HTML page, plain text, other JSON) is described by status, content type and length
    only: the base URL may be any server, and its body must not be relayed to whoever chose it.
    """
    header_id = header_request_id(response)
    text = response.text
    if not text.strip():
        return ErrorBody(None, "the answer had an empty body", header_id, False)
    try:
        data = json.loads(text)
    except ValueError:
        stripped = text.lstrip().lower()
        if stripped.startswith(("<!doctype html", "<html")) or "<body" in stripped[:2000]:
            return ErrorBody(None, describe_body(response, "an HTML page"), header_id, False)
        return ErrorBody(None, describe_body(response, "a body that is not readable JSON"), header_id, False)
    if not isinstance(data, dict):
        return ErrorBody(None, describe_body(response, "JSON that is not an object"), header_id, False)
    error = data.get("error")
    if isinstance(error, dict):
        code = text_of(error.get("code")) or text_of(error.get("type"))
        message = text_of(error.get("message"))
    else:
        code = text_of(data.get("code"))
        message = text_of(data.get("message"))
    request_id = text_of(data.get("request_id")) or header_id
    if not (code or message):
        shown = describe_body(response, "JSON without the provider's code or message")
        return ErrorBody(None, shown, request_id, False)
    shown_code = scrub(code, secrets) if code else None
    return ErrorBody(shown_code, scrub(message or "(no message)", secrets), request_id, True)


def describe_body(response: httpx.Response, what: str) -> str:
    """An answer that is not the provider's, told by status, content type and size, never its text.

    The status is followed by its standard reason phrase, not the one the server sent (which is
    the server's text too).
    """
    status = response.status_code
    phrase = httpx.codes.get_reason_phrase(status)
    kind = response.headers.get("content-type", "").split(";", 1)[0].strip()
    kind = kind if kind and len(kind) <= 80 and kind.isprintable() else "no declared content type"
    return (
        f"{server_of(response)} answered with {what} ({status}{' ' + phrase if phrase else ''}), "
        f"{kind}, {len(response.content)} bytes: not the provider's JSON"
    )


def server_of(response: httpx.Response) -> str:
    """'the server at HOST:PORT' for an answer, from the request it answers."""
    try:
        url = response.request.url
    except RuntimeError:  # a response built by hand has no request
        return "the server"
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    host = url.raw_host.decode("ascii")
    host = f"[{host}]" if ":" in host else host
    return f"the server at {host}:{port}" if port else f"the server at {host}"


def text_of(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def waits_text(waits: list[float]) -> str:
    return ", ".join(f"{w:.1f} s" for w in waits) if waits else "none"


def where_of(exc: httpx.HTTPError) -> str:
    try:
        request = exc.request
    except RuntimeError:
        return "request"
    return f"{request.method} {request.url.copy_with(query=None)}"


def header_request_id(response: httpx.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if name in response.headers:
            return response.headers[name]
    return None


def request_id_of(body: Mapping[str, Any], response: httpx.Response) -> str | None:
    return text_of(body.get("request_id")) or header_request_id(response)


def seconds_header(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(moment.tzinfo)).total_seconds())


def retry_after_of(response: httpx.Response) -> float | None:
    ms = response.headers.get(RETRY_AFTER_MS_HEADER)
    if ms is not None:
        value = seconds_header(ms)
        return value / 1000 if value is not None else None
    return seconds_header(response.headers.get(RETRY_AFTER_HEADER))


def poll_after_of(response: httpx.Response) -> float | None:
    for name in POLL_AFTER_MS_HEADERS:
        value = seconds_header(response.headers.get(name))
        if value is not None:
            return value / 1000
    # On a status answer (not an error), Retry-After means "ask again then".
    return seconds_header(response.headers.get(RETRY_AFTER_HEADER))


def task_list(answer: dict[str, Any]) -> list[dict[str, Any]]:
    for holder in (answer, answer.get("output"), answer.get("data")):
        if isinstance(holder, list):
            return [t for t in holder if isinstance(t, dict)]
        if isinstance(holder, dict):
            for key in ("data", "tasks", "items", "list"):
                items = holder.get(key)
                if isinstance(items, list):
                    return [t for t in items if isinstance(t, dict)]
    return []
