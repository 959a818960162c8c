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
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from playground.client.hosts import PERMISSIVE, HostPolicy
from playground.core.contract import (
    API_ROOT,
    CREATED_STATUS,
    ENDPOINTS,
    RESULT_TTL_S,
    TASK_FIELDS,
    pick,
    read_state,
    task_object,
)
from playground.core.polling import State
from playground.core.wire import WireFormat
from playground.settings import Settings

ProviderKind = Literal["sandbox", "dashscope", "gateway"]


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
            return root + API_ROOT[self.wire]
        return root

    def describe(self) -> str:
        """A line for people and logs: never the key."""
        text = f"{self.kind} ({self.wire} format) at {self.base_url}"
        return text + (f", rehearsing {self.scenario}" if self.scenario else "")

    def secret_values(self) -> list[str]:
        """The key's text, for scrubbing it out of anything shown; empty without a key."""
        return [self.api_key.get_secret_value()] if self.api_key is not None else []

    def create_url(self) -> str:
        return self.api_base + ENDPOINTS[self.wire].create

    def task_url(self, task_id: str) -> str:
        # The id is one path segment, whoever typed it (contract.task_segment): '/', '?', '#' and
        # dot segments must not steer a request carrying the key to another endpoint.
        return self.api_base + ENDPOINTS[self.wire].task_path(task_id)

    def cancel_url(self, task_id: str) -> str:
        return self.api_base + ENDPOINTS[self.wire].cancel_path(task_id)


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
    """(task id, provider status) from a create answer, or None when it names no task.

    The task object is where the contract keeps it (``output``, or a gateway's answer itself or
    one of its ``data`` envelopes); an answer that names no status means a queued task.
    """
    fields = TASK_FIELDS[wire]
    task = task_object(wire, body)
    found = pick(task, fields.task_id)
    if found is None:
        return None
    return found, pick(task, fields.status) or CREATED_STATUS[wire]


def read_task(wire: WireFormat, body: dict[str, Any], task_id: str) -> TaskView | None:
    """A status answer read into a :class:`TaskView`; None when it is not a task at all."""
    request_id = _str(body.get("request_id"))
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else None
    fields = TASK_FIELDS[wire]
    task = task_object(wire, body, fields.status)
    status = pick(task, fields.status)
    if task is None or status is None:
        return None
    video_url = pick(task, fields.video_url)
    if wire == "dashscope":
        # DashScope keeps results for a while after the task ends and says so only in its docs.
        ended = parse_time(task.get("end_time"))
        expires_at = ended + RESULT_TTL_S if ended is not None and video_url else None
    else:
        expires_at = parse_time(task.get("expires_at"))
    return TaskView(
        task_id=pick(task, fields.task_id) or task_id,
        state=read_state(wire, status),
        provider_status=status,
        progress=_number(task.get("progress")),
        eta_s=_number(task.get("eta_s") or task.get("estimated_time")),
        video_url=video_url,
        expires_at=expires_at,
        error_code=pick(task, fields.error_code),
        error_message=pick(task, fields.error_message),
        usage=usage,
        request_id=request_id,
    )
