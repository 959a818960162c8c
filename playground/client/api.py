"""The HTTP client: submit, status, cancel, list, upload and download, over one httpx.AsyncClient.

Every request goes through :meth:`VideoClient._send`, which turns httpx's exceptions and error
answers into the playground's error tree (one boundary, most specific class first) and retries
with stamina exactly as the guidance table says: the backoff hook looks the failure up, asks
its :class:`~playground.core.guidance.RetryPolicy` whether another attempt is allowed and how
long to wait (Retry-After included), and reports each wait to ``on_retry``.

A create is special: sending it twice can start two paid tasks. It is sent again only when the
failure proves no task was started (no connection, or the server answered with an error); when
the request left and no readable answer came back, the client raises :class:`OutcomeUnknown`
instead, and the runner goes looking for the task rather than resubmitting.

The key is unwrapped in one place, :meth:`VideoClient._auth`, and sent only to the provider's
API, never to result or upload-bucket hosts.

Before any request leaves (every attempt, the download and the upload-bucket post included),
the provider's :class:`~playground.client.hosts.HostPolicy` is asked whether its host may be
reached; a refusal is :class:`~playground.client.errors.HostRefused` and nothing is sent.

Media is never held whole in memory: an upload is streamed from its file (streamed_form.py),
each attempt reading it again from the start, and a download is streamed to a temporary file
that is checked there before it takes its name.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import httpx
import stamina

from playground.client.answers import (
    ErrorBody,
    describe_body,
    header_request_id,
    poll_after_of,
    read_error,
    request_id_of,
    retry_after_of,
    task_list,
    waits_text,
    where_of,
)
from playground.client.errors import (
    ApiRefused,
    DownloadFailed,
    HostRefused,
    OutcomeUnknown,
    PlaygroundError,
    ResultExpired,
    TransportFailed,
    UploadFailed,
    refusal_class,
    scrub,
)
from playground.client.hosts import HostPolicy, Resolver, check_target, system_resolve
from playground.client.pinned_connect import pinned_transport, tls_context
from playground.client.providers import (
    ProviderConfig,
    TaskView,
    created_task,
    looks_like_chat,
    read_task,
)
from playground.client.streamed_form import StreamedForm
from playground.core import contract
from playground.core.guidance import Entry, Guidance, TransportKind, load_guidance

Op = Literal["create", "read", "upload", "download"]
# Looks at a downloaded file before it gets its final name: None if it will do, else what is wrong.
Check = Callable[[Path], Awaitable[str | None]]
USER_AGENT = "wan27-playground/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)
# A result can be large and a bucket slow; reading one chunk may take longer than an API answer.
DOWNLOAD_TIMEOUT = httpx.Timeout(connect=5.0, read=120.0, write=30.0, pool=10.0)
MAX_DOWNLOAD_BYTES = 2 * 1024**3
# stamina's own cap, above any max_attempts in the guidance table: the backoff hook stops
# earlier, per failure, so the table alone decides how often a request is sent.
_ATTEMPT_CEILING = 10
# Where a URL came from, for a host refusal's message: the provider's own API, or the field of
# its answer that named the URL.
_BASE_URL = "base_url"
_RESULT_URL = "result URL"
_UPLOAD_HOST = "upload_host"
_BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class RetryNote:
    """One retry about to happen: what failed and how long the client waits."""

    op: Op
    attempt: int  # the attempt that just failed (1-based)
    max_attempts: int
    wait_s: float
    guidance_id: str
    reason: str


@dataclass(frozen=True)
class Submitted:
    """A created task."""

    task_id: str
    provider_status: str
    request_id: str | None
    attempts: int
    body: dict[str, Any]


@dataclass(frozen=True)
class StatusRead:
    """One status answer: the task as read, the raw JSON, and any poll-after hint."""

    task: TaskView
    raw: dict[str, Any]
    poll_after_s: float | None
    request_id: str | None


@dataclass
class _Tries:
    op: Op
    # Which request this is, for people ("create", "status", "task list", ...): an answer that
    # cannot be read is reported as the answer to this request.
    request: str = ""
    attempts: int = 0
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.request = self.request or self.op


class VideoClient:
    """Talks to one provider. Use as ``async with VideoClient(provider) as client: ...``.

    ``hosts`` overrides the provider's host policy; ``resolve`` is the name lookup it uses.
    """

    def __init__(
        self,
        provider: ProviderConfig,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        on_retry: Callable[[RetryNote], None] | None = None,
        guidance: Guidance | None = None,
        rand: Callable[[], float] = random.random,
        hosts: HostPolicy | None = None,
        resolve: Resolver = system_resolve,
    ) -> None:
        self.provider = provider
        self.hosts = hosts if hosts is not None else provider.hosts
        self._resolve = resolve
        self.on_retry = on_retry
        self._guidance = guidance or load_guidance()
        self._rand = rand
        self._secrets = provider.secret_values()
        # No default Authorization header: the key is added per API request, so downloads from
        # result hosts and posts to upload buckets never carry it.
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport or pinned_transport(self.hosts, tls_context(), resolve),
            verify=tls_context(),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    async def __aenter__(self) -> VideoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the API -----------------------------------------------------------------------------

    async def submit(self, body: Mapping[str, Any], *, oss_resolve: bool = False) -> Submitted:
        """Create a task; retried only when no task can have been started."""
        headers = {**self._api_headers(), **contract.CREATE_HEADERS[self.provider.wire]}
        if self.provider.wire == "dashscope" and oss_resolve:
            headers[contract.OSS_RESOLVE_HEADER] = contract.ENABLE
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
        tries = _Tries("create")
        url = self.provider.create_url()
        response = await self._send(
            tries, lambda: self._http.build_request("POST", url, content=payload, headers=headers)
        )
        answer = self._json_or_refuse(response, tries)
        if looks_like_chat(answer):
            raise self._refused_with(
                "chat_endpoint", response, tries, "the answer is a chat completion, not a video task"
            )
        found = created_task(self.provider.wire, answer)
        if found is None:
            entry = self._guidance.entry("unexpected_response")
            raise OutcomeUnknown(
                f"the create answer names no task id: {describe_body(response, 'JSON without a task id')}",
                guidance=entry, attempts=tries.attempts, lookup="The answer could not be read, so the task may exist.",
                request=tries.request,
            )
        return Submitted(found[0], found[1], request_id_of(answer, response), tries.attempts, answer)

    async def status(self, task_id: str) -> StatusRead:
        """Read a task's status once (with the table's retries for transient failures)."""
        tries = _Tries("read", "status")
        response = await self._send(
            tries, lambda: self._http.build_request("GET", self.provider.task_url(task_id), headers=self._api_headers())
        )
        answer = self._json_or_refuse(response, tries)
        task = read_task(self.provider.wire, answer, task_id)
        if task is None:
            raise self._refused_with("unexpected_response", response, tries,
                                     f"the {tries.request} answer is not a task status")
        return StatusRead(task, answer, poll_after_of(response), request_id_of(answer, response))

    async def cancel(self, task_id: str) -> bool:
        """Ask the provider to cancel; False when it cannot (not queued, or no cancel route)."""
        tries = _Tries("read", "cancel")
        try:
            url = self.provider.cancel_url(task_id)
            await self._send(tries, lambda: self._http.build_request("POST", url, headers=self._api_headers()))
        except ApiRefused:
            return False
        return True

    async def list_tasks(self, *, start: datetime, end: datetime, model: str | None) -> list[dict[str, Any]]:
        """DashScope's task list for a time window (used to find a task whose create was lost)."""
        path = contract.ENDPOINTS[self.provider.wire].task_list
        if path is None:  # only DashScope lists tasks
            return []
        params = {
            "start_time": start.astimezone(_BEIJING).strftime("%Y%m%d%H%M%S"),
            "end_time": end.astimezone(_BEIJING).strftime("%Y%m%d%H%M%S"),
            "page_no": "1",
            "page_size": "20",
        }
        if model:
            params["model_name"] = model
        tries = _Tries("read", "task list")
        url = self.provider.api_base + path
        response = await self._send(
            tries, lambda: self._http.build_request("GET", url, params=params, headers=self._api_headers())
        )
        answer = self._json_or_refuse(response, tries)
        return task_list(answer)

    async def upload(self, path: Path, *, model: str) -> str:
        """Put a local file where the provider can read it; the URL (or oss:// key) to send."""
        try:
            if self.provider.wire == "dashscope":  # the sandbox too: the flow is rehearsed as it is
                return await self._upload_temporary(path, model)
            if self.provider.kind == "sandbox":
                return await self._upload_to_sandbox(path)
        except OSError as exc:
            raise UploadFailed(f"{path.name}: cannot read it ({exc.strerror or exc})") from None
        except HostRefused:
            raise  # already says which host and how to allow it; wrapping would hide the type
        except PlaygroundError as exc:
            raise UploadFailed(f"{path.name}: {exc.message}", attempts=exc.attempts) from exc
        raise UploadFailed(f"{self.provider.kind} offers no upload")

    async def download(
        self, url: str, dest: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES, check: Check | None = None
    ) -> int:
        """Stream a result to ``dest`` (through a temporary name); the number of bytes written.

        ``check`` inspects the complete temporary file and says what is wrong with it, if
        anything. That counts as a failed download (retried as the table says for one), so the
        final name only ever holds a file that passed.
        """
        tries = _Tries("download")
        async for attempt in stamina.retry_context(on=self._hook(tries), attempts=_ATTEMPT_CEILING, timeout=None):
            with attempt:
                return await self._download_once(url, dest, max_bytes, tries, check)
        raise AssertionError("unreachable: stamina re-raises the last failure")

    # -- sending and retrying ----------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        if self.provider.api_key is None:
            return {}
        return {contract.AUTHORIZATION: contract.bearer(self.provider.api_key.get_secret_value())}

    def _api_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", **self._auth()}
        if self.provider.scenario:
            headers[contract.SCENARIO_HEADER] = self.provider.scenario
        return headers

    async def _allowed(self, url: httpx.URL | str, field: str) -> None:
        """Raise HostRefused unless the host policy lets a request go to ``url``."""
        await check_target(self.hosts, url, provider_url=self.provider.base_url, field=field, resolve=self._resolve)

    async def _send(
        self, tries: _Tries, build: Callable[[], httpx.Request], *, field: str = _BASE_URL
    ) -> httpx.Response:
        try:
            async for attempt in stamina.retry_context(on=self._hook(tries), attempts=_ATTEMPT_CEILING, timeout=None):
                with attempt:
                    return await self._once(tries, build(), field)
        except (ApiRefused, TransportFailed) as exc:
            exc.attempts = tries.attempts
            exc.facts.update(attempts=tries.attempts, waits=waits_text(tries.waits))
            if tries.op == "create" and exc.guidance.retry.on_create == "outcome_unknown":
                raise self._outcome_unknown(exc, tries) from exc
            raise
        raise AssertionError("unreachable: stamina re-raises the last failure")

    async def _once(self, tries: _Tries, request: httpx.Request, field: str) -> httpx.Response:
        # Checked on every attempt, just before it leaves: HostRefused is not retried, and a
        # name that has started resolving somewhere private is caught on the next attempt.
        await self._allowed(request.url, field)
        tries.attempts += 1
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, tries) from None
        if response.status_code >= 400:
            raise self._refusal(response, tries)
        return response

    def _hook(self, tries: _Tries) -> Callable[[Exception], bool | float]:
        def decide(exc: Exception) -> bool | float:
            if not isinstance(exc, ApiRefused | TransportFailed | DownloadFailed):
                return False
            if isinstance(exc, ResultExpired):
                return False
            policy = exc.guidance.retry
            if not policy.allows(tries.attempts, is_create=tries.op in ("create", "upload")):
                return False
            retry_after = exc.retry_after_s if isinstance(exc, ApiRefused) else None
            wait = policy.delay_s(tries.attempts, retry_after, self._rand())
            if wait is None:
                return False
            tries.waits.append(wait)
            if self.on_retry is not None:
                note = RetryNote(tries.op, tries.attempts, policy.max_attempts, wait, exc.guidance.id, exc.message)
                self.on_retry(note)
            # stamina sleeps this long (or not at all under stamina.set_testing).
            return wait

        return decide

    def _transport_error(self, exc: httpx.HTTPError, tries: _Tries) -> TransportFailed:
        kind: TransportKind
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol):
            kind, what = "connect", "could not connect"
        elif isinstance(exc, httpx.TimeoutException):
            kind, what = "timeout", "no answer in time"
        else:
            kind, what = "dropped", "the connection dropped before the answer was complete"
        where = where_of(exc)
        detail = scrub(str(exc) or type(exc).__name__, self._secrets)
        entry = self._guidance.for_transport(kind)
        return TransportFailed(f"{what} ({where}: {detail})", reason=kind, guidance=entry, attempts=tries.attempts)

    def _refusal(self, response: httpx.Response, tries: _Tries) -> ApiRefused:
        body = read_error(response, self._secrets)
        status = response.status_code
        entry = self._guidance.for_refusal(
            status, body.code, body.message, wire=self.provider.wire, has_provider_error=body.has_provider_error
        )
        return self._refused(entry, status, body, tries, retry_after_of(response))

    def _refused(
        self, entry: Entry, status: int, body: ErrorBody, tries: _Tries, retry_after: float | None = None
    ) -> ApiRefused:
        cls = refusal_class(status, entry.id)
        return cls(
            status=status, code=body.code, message=body.message, request_id=body.request_id,
            provider=self.provider.kind, guidance=entry, retry_after_s=retry_after, attempts=tries.attempts,
            waits=waits_text(tries.waits), request=tries.request,
        )

    def _refused_with(self, entry_id: str, response: httpx.Response, tries: _Tries, message: str) -> ApiRefused:
        body = ErrorBody(None, message, header_request_id(response), False)
        return self._refused(self._guidance.entry(entry_id), response.status_code, body, tries)

    def _json_or_refuse(self, response: httpx.Response, tries: _Tries) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
        body = read_error(response, self._secrets)
        # Said in the message itself: which request's answer could not be read (create or status).
        body = replace(body, message=f"the {tries.request} answer could not be read: {body.message}")
        refusal = self._refused(self._guidance.entry("unexpected_response"), response.status_code, body, tries)
        if tries.op == "create":
            raise self._outcome_unknown(refusal, tries)
        raise refusal

    def _outcome_unknown(self, cause: PlaygroundError, tries: _Tries) -> OutcomeUnknown:
        return OutcomeUnknown(
            f"the create request was sent but its outcome is unknown: {cause.message}",
            attempts=tries.attempts,
            lookup="The task may exist; the playground looks for it instead of sending the request again.",
        )

    # -- files -------------------------------------------------------------------------------

    async def _upload_to_sandbox(self, path: Path) -> str:
        url = self.provider.base_url.rstrip("/") + contract.SANDBOX_UPLOAD_PATH
        tries = _Tries("upload")
        build = await self._form_post(url, StreamedForm(path, path.name), self._api_headers())
        response = await self._send(tries, build)
        answer = self._json_or_refuse(response, tries)
        found = answer.get("url")
        if not isinstance(found, str):
            raise UploadFailed(f"{path.name}: the file store's answer has no url")
        return found

    async def _upload_temporary(self, path: Path, model: str) -> str:
        """DashScope's temporary upload, as the official SDK does it: a policy, then a form post."""
        tries = _Tries("read", "upload policy")
        response = await self._send(
            tries,
            lambda: self._http.build_request(
                "GET", self.provider.api_base + contract.ENDPOINTS[self.provider.wire].files,
                params={"action": contract.UPLOAD_POLICY_ACTION, "model": model},
                headers=self._api_headers(),
            ),
        )
        answer = self._json_or_refuse(response, tries)
        policy = answer.get("data") or answer.get("output")
        if not isinstance(policy, dict) or not isinstance(policy.get("upload_host"), str):
            raise UploadFailed(f"{path.name}: the upload policy answer has no upload_host")
        key = f"{policy.get('upload_dir', '')}/{path.name}"
        form = {
            "OSSAccessKeyId": str(policy.get("oss_access_key_id", "")),
            "Signature": str(policy.get("signature", "")),
            "policy": str(policy.get("policy", "")),
            "key": key,
            "x-oss-object-acl": str(policy.get("x_oss_object_acl", "private")),
            "x-oss-forbid-overwrite": str(policy.get("x_oss_forbid_overwrite", "true")),
            "success_action_status": "200",
        }
        post = _Tries("upload")
        # The bucket is another host: no API key goes there, the signed policy is the credential.
        build = await self._form_post(str(policy["upload_host"]), StreamedForm(path, path.name, form),
                                      {"Accept": "application/json"})
        await self._send(post, build, field=_UPLOAD_HOST)
        return contract.OSS_SCHEME + key

    async def _form_post(self, url: str, form: StreamedForm, headers: dict[str, str]) -> Callable[[], httpx.Request]:
        """A builder of the multipart POST of ``form``: each attempt reads the file again from its start.

        The file is streamed (never read whole into memory); its size is taken once, here, so
        every attempt declares the same Content-Length and a file that changes meanwhile fails.
        """
        size = (await asyncio.to_thread(form.path.stat)).st_size
        sent = {**headers, **form.headers(size)}
        return lambda: self._http.build_request("POST", url, content=form.body(size), headers=sent)

    async def _download_once(self, url: str, dest: Path, max_bytes: int, tries: _Tries, check: Check | None) -> int:
        # The provider's answer chose this URL: it must be the provider's own host or public.
        await self._allowed(url, _RESULT_URL)
        tries.attempts += 1
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.part")
        written = 0
        try:
            async with self._http.stream("GET", url, timeout=DOWNLOAD_TIMEOUT) as response:
                if response.status_code in (403, 404, 410):
                    raise ResultExpired(
                        f"the result link answered {response.status_code}: it has expired or was removed",
                        attempts=tries.attempts,
                    )
                if response.status_code >= 400:
                    raise DownloadFailed(f"the result link answered {response.status_code}", attempts=tries.attempts)
                # Local disk writes of 1 MiB chunks are quick next to the network read; a thread
                # per chunk would cost more than it saves.
                with partial.open("wb") as out:
                    async for chunk in response.aiter_bytes(1024 * 1024):
                        written += len(chunk)
                        if written > max_bytes:
                            raise DownloadFailed(f"the result is larger than {max_bytes} bytes; stopped")
                        out.write(chunk)
            if check is not None and (problem := await check(partial)) is not None:
                raise DownloadFailed(problem, attempts=tries.attempts)
            partial.replace(dest)
        except httpx.HTTPError as exc:
            failure = self._transport_error(exc, tries)
            raise DownloadFailed(f"download failed: {failure.message}", attempts=tries.attempts) from None
        finally:
            partial.unlink(missing_ok=True)
        return written
