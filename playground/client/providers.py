"""Where requests go: the three providers, their URLs, and how each wire format's answers read.

* ``sandbox``: the local emulator. ``base_url`` is its mount (``http://127.0.0.1:7860/sandbox``);
  it speaks DashScope under ``/api/v1`` and the gateway format under ``/v1``, and stores local
  files through ``POST /v1/files``. A rehearsal scenario travels as ``X-Sandbox-Scenario``.
* ``dashscope``: Alibaba Model Studio, at the region's host (key from ``DASHSCOPE_API_KEY``).
* ``gateway``: any service speaking the guide page's unified format (``base_url`` required).

A provider also carries the :class:`~playground.client.hosts.HostPolicy` every client built for
it applies (allow everything by default; a shared server passes a strict one).

The answer readers here are pure functions over decoded JSON, so they are tested without HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from playground.client.hosts import PERMISSIVE, HostPolicy
from playground.core.polling import State
from playground.core.wire import WireFormat
from playground.settings import Settings

ProviderKind = Literal["sandbox", "dashscope", "gateway"]
SCENARIO_HEADER = "X-Sandbox-Scenario"


class ProviderConfig(BaseModel):
    """One provider: its kind, wire format, base URL, key (a secret), rehearsal scenario, and
    the host policy its clients apply (not part of its JSON: it is the server's, not the run's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ProviderKind
    wire: WireFormat
    base_url: str
    api_key: SecretStr | None = None
    scenario: str | None = None
    hosts: HostPolicy = Field(default=PERMISSIVE, exclude=True)

    @model_validator(mode="after")
    def _sane(self) -> ProviderConfig:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, not {self.base_url[:60]!r}")
        # Caught here, not by httpx halfway through a run: a bad host or port, spaces or control
        # characters in the URL, and a key no HTTP header can carry.
        try:
            parts = urlsplit(self.base_url)
            usable = bool(parts.hostname) and parts.port != 0 and self.base_url.isprintable()
        except ValueError:  # an unclosed [IPv6] host, a port that is not a number
            usable = False
        if not usable or any(c.isspace() for c in self.base_url):
            raise ValueError(f"base_url {self.base_url[:60]!r} is not a usable URL: check the host, the port "
                             "and that it has no spaces or control characters")
        key = self.api_key.get_secret_value() if self.api_key is not None else ""
        if len(key) > 1024 or not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
            raise ValueError("API key: a key is at most 1024 printable ASCII characters without spaces; "
                             "this one cannot be sent in a header (it is not shown here)")
        if self.kind == "dashscope" and self.wire != "dashscope":
            raise ValueError("DashScope speaks only its own wire format")
        if self.scenario and self.kind != "sandbox":
            raise ValueError("rehearsal scenarios exist only in the sandbox")
        return self

    @property
    def api_base(self) -> str:
        """The URL the API paths hang off."""
        root = self.base_url.rstrip("/")
        if self.kind == "sandbox":
            return root + ("/api/v1" if self.wire == "dashscope" else "/v1")
        return root

    def describe(self) -> str:
        """A line for people and logs: never the key."""
        text = f"{self.kind} ({self.wire} format) at {self.base_url}"
        return text + (f", rehearsing {self.scenario}" if self.scenario else "")

    def secret_values(self) -> list[str]:
        """The key's text, for scrubbing it out of anything shown; empty without a key."""
        return [self.api_key.get_secret_value()] if self.api_key is not None else []

    def create_url(self) -> str:
        if self.wire == "dashscope":
            return f"{self.api_base}/services/aigc/video-generation/video-synthesis"
        return f"{self.api_base}/videos/generations"

    def task_url(self, task_id: str) -> str:
        # The id is one path segment, whoever typed it: '/', '?', '#' and dot segments must not
        # steer a request carrying the key to another endpoint ("../x" would GET {api_base}/x).
        segment = quote(task_id, safe="", errors="backslashreplace")
        segment = segment.replace(".", "%2E") if segment in (".", "..") else segment
        if self.wire == "dashscope":
            return f"{self.api_base}/tasks/{segment}"
        return f"{self.api_base}/videos/generations/{segment}"

    def cancel_url(self, task_id: str) -> str:
        return self.task_url(task_id) + "/cancel"


def provider_from_settings(
    settings: Settings,
    kind: ProviderKind,
    *,
    base_url: str | None = None,
    wire: WireFormat | None = None,
    scenario: str | None = None,
    api_key: SecretStr | None = None,
    hosts: HostPolicy = PERMISSIVE,
) -> ProviderConfig:
    """A provider from the settings; ``base_url`` is required for a gateway and the sandbox."""
    url = base_url or settings.base_url
    if kind == "dashscope":
        url = url or settings.dashscope_base_url()
    if not url:
        what = "the gateway's base URL (e.g. https://host/v1)" if kind == "gateway" else "the sandbox's URL"
        raise ValueError(f"{kind} needs {what}: pass --base-url or set PLAYGROUND_BASE_URL")
    default_wire: WireFormat = "gateway" if kind == "gateway" else "dashscope"
    return ProviderConfig(
        kind=kind,
        wire=wire or default_wire,
        base_url=url,
        api_key=api_key if api_key is not None else settings.api_key(kind),
        scenario=scenario,
        hosts=hosts,
    )


# -- reading answers --------------------------------------------------------------------------

_DASHSCOPE_STATES: dict[str, State] = {
    "PENDING": "queued", "SUSPENDED": "queued", "RUNNING": "running", "SUCCEEDED": "succeeded",
    "FAILED": "failed", "CANCELED": "canceled", "CANCELLED": "canceled", "UNKNOWN": "unknown",
}
_GATEWAY_STATES: dict[str, State] = {
    "queued": "queued", "submitted": "queued", "pending": "queued", "in_queue": "queued",
    "in_progress": "running", "processing": "running", "running": "running",
    "completed": "succeeded", "succeeded": "succeeded", "success": "succeeded",
    "failed": "failed", "failure": "failed", "error": "failed",
    "canceled": "canceled", "cancelled": "canceled", "unknown": "unknown", "expired": "unknown",
}
_BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class TaskView:
    """One task as a status answer describes it, in provider-neutral terms."""

    task_id: str
    state: State
    provider_status: str
    progress: float | None = None
    eta_s: float | None = None
    video_url: str | None = None
    expires_at: float | None = None  # epoch seconds the result link stops working
    error_code: str | None = None
    error_message: str | None = None
    usage: dict[str, Any] | None = None
    request_id: str | None = None


def map_state(wire: WireFormat, status: str) -> State:
    """A provider status word in our terms; an unrecognised word counts as still running."""
    if wire == "dashscope":
        return _DASHSCOPE_STATES.get(status.upper(), "running")
    return _GATEWAY_STATES.get(status.lower(), "running")


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def parse_time(value: object) -> float | None:
    """Epoch seconds from a Unix number, an ISO-8601 string, or DashScope's UTC+8 text."""
    number = _number(value)
    if number is not None:
        return number / 1000 if number > 1e11 else number  # milliseconds, as some gateways send
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        # DashScope writes "2025-09-29 14:18:52.331" in Beijing time without saying so.
        moment = moment.replace(tzinfo=_BEIJING)
    return moment.astimezone(UTC).timestamp()


def looks_like_chat(body: dict[str, Any]) -> bool:
    """Whether an answer is a chat completion rather than a video task (the FAQ's costly case)."""
    output = body.get("output")
    if "choices" in body or (isinstance(output, dict) and ("choices" in output or "text" in output)):
        return True
    return has_token_usage(body)


def has_token_usage(body: dict[str, Any]) -> bool:
    """Whether an answer bills tokens: video tasks never do, chat endpoints always do."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return False
    token_keys = ("input_tokens", "output_tokens", "prompt_tokens", "completion_tokens", "total_tokens")
    return any(k in usage for k in token_keys)


def created_task(wire: WireFormat, body: dict[str, Any]) -> tuple[str, str] | None:
    """(task id, provider status) from a create answer, or None when it names no task."""
    if wire == "dashscope":
        output = body.get("output")
        if isinstance(output, dict) and _str(output.get("task_id")):
            return str(output["task_id"]), _str(output.get("task_status")) or "PENDING"
        return None
    data = body.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        body = data[0]  # the older {"code": 200, "data": [{"task_id", "status"}]} envelope
    elif isinstance(data, dict):
        body = data
    task_id = _str(body.get("task_id")) or _str(body.get("id")) or _str(body.get("taskId"))
    if task_id is None:
        return None
    return task_id, _str(body.get("status")) or "queued"


def read_task(wire: WireFormat, body: dict[str, Any], task_id: str) -> TaskView | None:
    """A status answer read into a :class:`TaskView`; None when it is not a task at all."""
    request_id = _str(body.get("request_id"))
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else None
    if wire == "dashscope":
        output = body.get("output")
        if not isinstance(output, dict) or not _str(output.get("task_status")):
            return None
        status = str(output["task_status"])
        return TaskView(
            task_id=_str(output.get("task_id")) or task_id,
            state=map_state(wire, status),
            provider_status=status,
            progress=_number(output.get("progress")),
            eta_s=_number(output.get("eta_s") or output.get("estimated_time")),
            video_url=_str(output.get("video_url")),
            expires_at=_dashscope_expiry(output),
            error_code=_str(output.get("code")),
            error_message=_str(output.get("message")),
            usage=usage,
            request_id=request_id,
        )
    data = body.get("data")
    if isinstance(data, dict) and "status" in data:
        body = data
    found_status = _str(body.get("status"))
    if found_status is None:
        return None
    status = found_status
    result = body.get("result")
    url = _str(result.get("url")) if isinstance(result, dict) else None
    results = body.get("results")
    if url is None and isinstance(results, list) and results:
        url = _str(results[0])
    found_error = body.get("error")
    error: dict[str, Any] = found_error if isinstance(found_error, dict) else {}
    return TaskView(
        task_id=_str(body.get("task_id")) or _str(body.get("id")) or task_id,
        state=map_state(wire, status),
        provider_status=status,
        progress=_number(body.get("progress")),
        eta_s=_number(body.get("eta_s") or body.get("estimated_time")),
        video_url=url or _str(body.get("video_url")),
        expires_at=parse_time(body.get("expires_at")),
        error_code=_str(error.get("code")) or _str(error.get("type")),
        error_message=_str(error.get("message")),
        usage=usage,
        request_id=request_id,
    )


def _dashscope_expiry(output: dict[str, Any]) -> float | None:
    # DashScope keeps results 24 h after the task ends and says so only in its docs.
    ended = parse_time(output.get("end_time"))
    return ended + 24 * 3600 if ended is not None and output.get("video_url") else None
