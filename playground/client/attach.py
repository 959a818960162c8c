"""Attaching a local file: probe it, check it against the profile's media limit, upload it.

One path for every caller: the UI's attach buttons (ui/runs.py), and the runner behind Send and
``python -m playground submit`` (submit_steps.py). The probe and the check are
:func:`playground.media.checks.check_file`, which the sandbox runs too before it renders, so a
file passes or fails alike everywhere.

What an upload is bound to (Model Studio, "Upload local files to get temporary URLs"; §6.1 of
the contract reference, ``playground.core.contract``):

* DashScope's temporary upload (``GET /uploads?action=getPolicy&model=...``, then a form post
  to the bucket) gives an ``oss://`` URL that works only with the model named in the policy
  request, only for the account whose key uploaded it, and for 48 hours. The model is therefore
  an argument of every upload, and an :class:`UploadBook` records what each ``oss://`` URL is
  bound to, so that Send uploads the file again for the model and account the request really
  goes with (a file attached in one tab and sent from another, a snapshot model, another key,
  an upload older than 48 h) instead of sending a URL the service will refuse.
* The flow is offered in the China (Beijing) region only: a local file for DashScope in another
  region is refused before anything is read or sent, naming the field and the fix.
* A gateway takes media only by URL. The sandbox's own file store (the ``sandbox`` provider)
  gives plain URLs that any model may read.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from playground.client.api import VideoClient
from playground.client.errors import LocalFileNeedsUrl, LocalFileWrongRegion, PlaygroundError
from playground.client.files import LocalFile, media_values
from playground.client.providers import ProviderConfig
from playground.core.contract import (
    BEIJING_MAAS_REGION,
    MAAS_HOST_SUFFIX,
    OSS_SCHEME,
    TEMPORARY_FILE_LIFETIME_S,
    TEMPORARY_UPLOAD_REGION,
)
from playground.core.problems import Problem
from playground.core.profile import Profile
from playground.settings import DASHSCOPE_REGIONS

if TYPE_CHECKING:
    from playground.media.checks import FileVerdict

Loc = tuple[str | int, ...]
LIFETIME_S = float(TEMPORARY_FILE_LIFETIME_S)
# An upload counts as expired this long before its 48 h are up: the service reads the file
# after the create is accepted, and a task may wait in its queue for minutes first.
EXPIRY_MARGIN_S = 30 * 60.0
# Account fingerprints mean something to this process only, so no hash of a key outlives it.
_FINGERPRINT_KEY = secrets.token_bytes(16)


# -- who may take a local file ------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a provider cannot take a local file (or an ``oss://`` URL): decided before anything is read."""

    reason: str
    fix: str
    error: type[LocalFileNeedsUrl]

    def problem(self, loc: Loc) -> Problem:
        return Problem(loc, self.reason, self.fix)

    def exception(self, fields: Sequence[str]) -> LocalFileNeedsUrl:
        named = ", ".join(fields) or "the request"
        lines = [f"{field}: {self.reason}; {self.fix}" for field in fields]
        return self.error(f"{named}: {self.reason}; {self.fix}. Nothing was sent.", problems=lines)


def dashscope_region(provider: ProviderConfig) -> str | None:
    """The region a DashScope provider's host names, when it is not Beijing.

    None for Beijing, for the sandbox and gateways, and for a host whose region cannot be told
    from its name (a proxy of one's own: the upload is then tried, and its answer decides).
    """
    if provider.kind != "dashscope":
        return None
    host = (urlsplit(provider.base_url).hostname or "").lower()
    for name, url in DASHSCOPE_REGIONS.items():
        if host == urlsplit(url).hostname:
            return None if name == TEMPORARY_UPLOAD_REGION else name.capitalize()
    if host.endswith(MAAS_HOST_SUFFIX):
        region = host.removesuffix(MAAS_HOST_SUFFIX).rpartition(".")[2]
        return None if region == BEIJING_MAAS_REGION else region
    return None


def refusal(provider: ProviderConfig) -> Refusal | None:
    """Why this provider cannot take local files; None when they can be uploaded to it."""
    if provider.kind == "gateway":
        return Refusal("this gateway takes media only by URL, it offers no upload",
                       "upload the file somewhere public and give its https:// URL", LocalFileNeedsUrl)
    region = dashscope_region(provider)
    if region is not None:
        return Refusal(
            f"a local file cannot be used with DashScope's {region} region: the temporary upload that turns "
            "local files into oss:// URLs is offered in China (Beijing) only",
            "use a public URL, e.g. your own OSS bucket, or the Beijing region "
            "(PLAYGROUND_DASHSCOPE_REGION=beijing with a Beijing key)",
            LocalFileWrongRegion,
        )
    return None


# -- what an upload is bound to -------------------------------------------------------------------


def account_of(provider: ProviderConfig) -> str:
    """A fingerprint of where and with which key uploads go (never the key itself)."""
    key = provider.api_key.get_secret_value() if provider.api_key is not None else ""
    text = f"{provider.api_base}\n{key}".encode()
    return hashlib.blake2b(text, key=_FINGERPRINT_KEY, digest_size=8).hexdigest()


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the URL to send, where it came from, and what that URL is bound to."""

    url: str
    path: Path  # the local file, kept so it can be uploaded again
    limit: str  # the media limit it was checked against (first_frame, audio_url, ...)
    model: str | None  # the model an oss:// URL works with; None for URLs any model may read
    account: str  # account_of() the provider it went to
    owner: str  # whose upload it is (a browser's id on the server; "" on the command line)
    uploaded_at: float
    # The length the attach probe measured (video and audio): quotes of billed input videos
    # given by this URL are exact (playground.core.quote).
    duration_s: float | None = None

    @property
    def temporary(self) -> bool:
        return self.url.startswith(OSS_SCHEME)

    def unusable(self, *, model: str, account: str, now: float) -> str | None:
        """Why this URL cannot go in a request for ``model`` sent to ``account`` at ``now``; None if it can."""
        if not self.temporary:
            return None
        if self.account != account:
            return ("it was uploaded with another API key or region, and a temporary file works only for the "
                    "account that uploaded it")
        if self.model != model:
            return (f"it was uploaded for {self.model}, and DashScope accepts a temporary file only for the model "
                    "named when it was uploaded")
        if now >= self.uploaded_at + LIFETIME_S - EXPIRY_MARGIN_S:
            hours = (now - self.uploaded_at) / 3600
            return f"it was uploaded {hours:.0f} h ago, and temporary files are deleted after 48 h"
        return None


class UploadBook:
    """The uploads this process made, by URL and owner: what each ``oss://`` URL is bound to.

    In memory: the binding matters only while the file lives (48 h), and the local copy it
    would be uploaded again from is this process's. An owner sees only its own uploads, so one
    browser can never have another's file uploaded for it by naming its URL.
    """

    def __init__(self, clock: Callable[[], float] = time.time, most: int = 10_000) -> None:
        self._clock = clock
        self._most = most
        self._entries: dict[tuple[str, str], Upload] = {}
        self._lock = threading.Lock()

    def add(self, upload: Upload) -> None:
        with self._lock:
            now = self._clock()
            for key, old in list(self._entries.items()):
                if now - old.uploaded_at > LIFETIME_S:
                    del self._entries[key]
            self._entries[(upload.owner, upload.url)] = upload
            while len(self._entries) > self._most:  # the oldest go first (dicts keep insertion order)
                del self._entries[next(iter(self._entries))]

    def find(self, url: str, owner: str) -> Upload | None:
        with self._lock:
            return self._entries.get((owner, url))

    def lengths(self, owner: str) -> dict[str, float]:
        """The measured length of each of this owner's uploads, by URL (those with one)."""
        with self._lock:
            return {url: made.duration_s for (who, url), made in self._entries.items()
                    if who == owner and made.duration_s is not None}


# -- probe, check, upload ---------------------------------------------------------------------------


def check_blocking(path: Path, limit: str, profile: Profile, loc: Loc) -> FileVerdict:
    """Probe and check one file against the profile's limit called ``limit`` (blocking)."""
    # PyAV and Pillow take a while to import; only callers with local files need them.
    from playground.media.checks import check_file

    return check_file(path, profile.media.get(limit), loc)


async def check(path: Path, limit: str, profile: Profile, loc: Loc) -> FileVerdict:
    """:func:`check_blocking` off the event loop: decoding is CPU work."""
    return await asyncio.to_thread(check_blocking, path, limit, profile, loc)


def check_files(files: Sequence[LocalFile], profile: Profile) -> list[str]:
    """One line per problem with a request's local files: missing, unreadable, or over a limit."""
    lines: list[str] = []
    for f in files:
        if not f.path.is_file():
            lines.append(f"{f.original}: no such file")
            continue
        verdict = check_blocking(f.path, f.kind, profile, (f.kind,))
        if verdict.unreadable is not None:
            lines.append(f"{f.original}: {verdict.unreadable}")
        lines += [f"{f.original}: {p.message}; {p.fix}" for p in verdict.errors]
    return lines


async def upload(client: VideoClient, path: Path, *, limit: str, model: str, owner: str = "",
                 book: UploadBook | None = None, clock: Callable[[], float] = time.time,
                 duration_s: float | None = None) -> Upload:
    """Upload a checked file for a request to ``model``; recorded in ``book`` when one is given.

    Raises the provider's :class:`Refusal` as a LocalFileNeedsUrl before anything is read, or
    the client's UploadFailed / HostRefused.
    """
    refused = refusal(client.provider)
    if refused is not None:
        raise refused.exception([limit])
    url = await client.upload(path, model=model)
    made = Upload(url=url, path=path, limit=limit, model=model if url.startswith(OSS_SCHEME) else None,
                  account=account_of(client.provider), owner=owner, uploaded_at=clock(), duration_s=duration_s)
    if book is not None:
        book.add(made)
    return made


@dataclass(frozen=True)
class Attached:
    """The outcome of attaching one file: its URL (None when refused) and every finding."""

    url: str | None
    problems: tuple[Problem, ...]
    upload: Upload | None = None


async def attach_file(provider: ProviderConfig, path: Path, *, limit: str, model: str, profile: Profile, loc: Loc,
                      owner: str = "", book: UploadBook | None = None) -> Attached:
    """Probe, check and upload one file for a request to ``model``: the URL, or the problems.

    Never raises for a file or provider problem: each becomes a Problem at ``loc``.
    """
    refused = refusal(provider)
    if refused is not None:
        return Attached(None, (refused.problem(loc),))
    verdict = await check(path, limit, profile, loc)
    if verdict.unreadable is not None:
        return Attached(None, (Problem(loc, verdict.unreadable, "choose a real file of the right kind"),))
    if verdict.errors:
        return Attached(None, verdict.problems)
    try:
        async with VideoClient(provider) as client:
            made = await upload(client, path, limit=limit, model=model, owner=owner, book=book,
                                duration_s=verdict.info.duration_s if verdict.info is not None else None)
    except PlaygroundError as exc:
        failed = Problem(loc, f"upload failed: {exc.message}", "try again, or paste a public URL instead")
        return Attached(None, (*verdict.problems, failed))
    return Attached(made.url, verdict.problems, made)


# -- at Send: uploads bound to something else -------------------------------------------------------


@dataclass(frozen=True)
class Stale:
    """An ``oss://`` URL in a request that the service would refuse, and why."""

    loc: Loc
    limit: str  # the media limit of the place it is in now
    upload: Upload
    reason: str


def stale_uploads(body: Any, *, book: UploadBook, owner: str, model: str, account: str, now: float) -> list[Stale]:
    """The ``oss://`` URLs this process uploaded that ``body`` cannot be sent with as they are.

    URLs the book does not know (another tool's upload, a restart since) are left as given.
    """
    found: list[Stale] = []
    for loc, limit, value in media_values(body):
        if not value.startswith(OSS_SCHEME):
            continue
        made = book.find(value, owner)
        reason = made.unusable(model=model, account=account, now=now) if made is not None else None
        if made is not None and reason is not None:
            found.append(Stale(loc, limit, made, reason))
    return found
