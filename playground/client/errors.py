"""Everything that can go wrong with a run, as one exception tree.

::

    PlaygroundError                  every failure the client or the runner reports
    ├── InvalidRequest               the playground's own check refused the request; nothing was sent
    │   ├── LocalFileNeedsUrl        a local file, but the gateway only takes public URLs
    │   │   └── LocalFileWrongRegion a local file for DashScope outside Beijing (no temporary upload there)
    │   ├── LocalFileRefused         a server path or file:// URL from a caller who may not read server files
    │   └── HostRefused              the host policy refused a URL (base URL, result, upload host); nothing sent
    ├── UploadFailed                 a local file could not be uploaded; nothing was submitted
    ├── ApiRefused                   the API answered with an error (status, code, message, request id)
    │   ├── AuthRefused              401 / 403: key, region or permission
    │   ├── RateLimited              429 (carries the Retry-After it was given)
    │   ├── ServerFailed             5xx
    │   └── WrongEndpoint            'invalid api type: -1', or a chat answer to a video request
    ├── TransportFailed              no HTTP answer: connect failed, timed out, or dropped
    ├── OutcomeUnknown               a create was sent and its answer lost: a task may exist
    ├── TaskFailed                   the task ran and ended without a video (FAILED, UNKNOWN, CANCELED)
    ├── DownloadFailed               the video could not be fetched, or is not a playable video
    │   └── ResultExpired            the result link expired before the download
    ├── DeadlinePassed               the run's deadline passed (and whether the task was canceled)
    └── RunCrashed                   the playground itself raised while driving the run (a bug)

Every error carries the guidance entry that explains it (``exc.guidance``), the facts its
"what the playground did" sentence needs (``exc.facts``), and how many attempts were made.

The API key never appears in an error: errors are built from provider answers that the client
has already scrubbed of the key (:func:`scrub`), and no error stores a header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from playground.core.guidance import Entry, load_guidance
from playground.core.run_states import RunState


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """The text with any of the given secrets, and anything shaped like a bearer key, masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted key]")
    text = re.sub(r"(?i)(bearer\s+)[^\s\"',;]+", r"\1[redacted]", text)
    return re.sub(r"\bsk-[A-Za-z0-9_\-]{6,}", "sk-[redacted]", text)


class PlaygroundError(Exception):
    """Root of every failure the playground reports."""

    guidance_id = "unexpected_response"

    def __init__(self, message: str, *, guidance: Entry | None = None, attempts: int = 1, **facts: Any) -> None:
        super().__init__(message)
        self.message = message
        self.guidance = guidance or load_guidance().entry(self.guidance_id)
        self.attempts = attempts
        self.facts: dict[str, Any] = {"attempts": attempts, **facts}

    def did(self) -> str:
        """What the playground did about it, in one or two sentences."""
        return self.guidance.did_text(**self.facts)

    def guidance_lines(self) -> list[str]:
        return self.guidance.lines(**self.facts)


class InvalidRequest(PlaygroundError):
    """The request failed the playground's own check; it was not sent."""

    guidance_id = "invalid_request"

    def __init__(self, message: str, problems: Iterable[str] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.problems = list(problems)


class LocalFileNeedsUrl(InvalidRequest):
    """The request names a local file and the provider only accepts URLs."""

    guidance_id = "local_file_needs_url"


class LocalFileWrongRegion(LocalFileNeedsUrl):
    """A local file for DashScope outside China (Beijing), where the temporary upload that would
    carry it is not offered: only a public URL (or the Beijing region) will do."""

    guidance_id = "local_file_region"


class LocalFileRefused(InvalidRequest):
    """The request names a file on this machine, and this caller may not have server files read.

    The message is the same whether or not the path exists: it must not tell a caller what is
    on the server's disk.
    """

    guidance_id = "local_file_refused"


class HostRefused(InvalidRequest):
    """The host policy refused a URL: nothing was sent to it.

    ``field`` says where the URL came from (``base_url``, or the answer field that named it);
    ``host`` is its ``host:port``.
    """

    guidance_id = "host_refused"

    def __init__(self, message: str, *, field: str, host: str, **kw: Any) -> None:
        super().__init__(message, field=field, host=host, **kw)
        self.field = field
        self.host = host


class UploadFailed(PlaygroundError):
    """A local file could not be uploaded."""

    guidance_id = "upload_failed"


class ApiRefused(PlaygroundError):
    """The API answered with an error status."""

    def __init__(
        self,
        *,
        status: int,
        code: str | None,
        message: str,
        request_id: str | None,
        provider: str,
        guidance: Entry,
        retry_after_s: float | None = None,
        attempts: int = 1,
        **facts: Any,
    ) -> None:
        shown = f"{status or 'answer'} {code or '(no code)'}: {message}"
        if request_id:
            shown += f" (request id {request_id})"
        super().__init__(shown, guidance=guidance, attempts=attempts, request_id=request_id, **facts)
        self.status = status
        self.code = code
        self.provider_message = message
        self.request_id = request_id
        self.provider = provider
        self.retry_after_s = retry_after_s


class AuthRefused(ApiRefused):
    """401 or 403: the key, its region or its permissions."""


class RateLimited(ApiRefused):
    """429: too many requests, or a quota."""


class ServerFailed(ApiRefused):
    """5xx: a fault on the provider's side or in a proxy."""


class WrongEndpoint(ApiRefused):
    """The request reached a route that cannot serve it (the guide page's FAQ cases)."""


class TransportFailed(PlaygroundError):
    """No HTTP answer: the connection failed, timed out or dropped."""

    def __init__(self, message: str, *, reason: str, guidance: Entry, attempts: int = 1, **facts: Any) -> None:
        super().__init__(message, guidance=guidance, attempts=attempts, **facts)
        self.reason = reason


class OutcomeUnknown(PlaygroundError):
    """A create request was sent but its answer was lost; a task may or may not exist."""

    guidance_id = "outcome_unknown"

    def __init__(self, message: str, *, candidates: Iterable[str] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.candidates = list(candidates)


class TaskFailed(PlaygroundError):
    """The task ended without a video."""

    def __init__(
        self, *, state: str, code: str | None, message: str | None, task_id: str, guidance: Entry, **facts: Any
    ) -> None:
        # People read the state's label ("Cancelled"); the stored word stays "canceled".
        shown = RunState.CANCELED.label.lower() if state == RunState.CANCELED else state
        text = f"task {task_id} ended {shown}"
        if code:
            text += f": {code}: {message or '(no message)'}"
        elif message:
            text += f": {message}"
        super().__init__(text, guidance=guidance, task_id=task_id, **facts)
        self.state = state
        self.code = code
        self.provider_message = message
        self.task_id = task_id


class DownloadFailed(PlaygroundError):
    """The result could not be downloaded, or it is not a playable video."""

    guidance_id = "download_failed"


class ResultExpired(DownloadFailed):
    """The result link expired before it was downloaded."""

    guidance_id = "result_expired"


class DeadlinePassed(PlaygroundError):
    """The run's deadline passed before the task ended."""

    guidance_id = "deadline_passed"

    def __init__(self, *, waited_s: float, cancelled: bool, task_id: str | None, note: str = "") -> None:
        cancel = note or (
            "Cancelled the remote task, so it will not run on." if cancelled
            else "Could not cancel the remote task (the provider may only cancel queued tasks); "
            "it may still finish, and can be recovered by its task id."
        )
        super().__init__(
            f"no result after {waited_s:.0f} s", waited=f"{waited_s:.0f} s", cancel=cancel, task_id=task_id
        )
        self.waited_s = waited_s
        self.cancelled = cancelled
        self.task_id = task_id


class RunCrashed(PlaygroundError):
    """The playground raised something that is not a :class:`PlaygroundError` while driving a
    run: a bug. The run stops being driven, but its task (if one was created) may still finish,
    so the guidance says how to recover it by its task id."""

    guidance_id = "run_crashed"

    def __init__(self, cause: BaseException, *, task_id: str | None = None) -> None:
        # Only the exception's type and text: a traceback belongs in the log, not in the ledger.
        super().__init__(f"the playground hit a bug: {type(cause).__name__}: {cause}",
                         task_id=task_id or "none created yet")
        self.task_id = task_id


def refusal_class(status: int, entry_id: str) -> type[ApiRefused]:
    """The most specific :class:`ApiRefused` subclass for an answer."""
    if entry_id in ("wrong_endpoint", "chat_endpoint", "sync_call_refused", "dashscope_url_error"):
        return WrongEndpoint
    if status in (401, 403):
        return AuthRefused
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerFailed
    return ApiRefused
