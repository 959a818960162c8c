"""The sandbox's file store, and the only places a task may read media from.

Layout under ``<data_dir>/sandbox``::

    uploads/<file id>/<name>         POST /sandbox/v1/files and the temporary-upload bucket
    results/<task id>/<task id>.mp4  finished videos
    work/<task id>/                  decoded data: URIs while a task runs

Both ``uploads`` and ``results`` are served read-only under ``/sandbox/files/<kind>/<id>/<name>``.
An upload is kept only if its first bytes show one of the accepted media formats
(media_types.py); the type found is written beside it (``uploads/<id>/.<name>.type``, never
served, since served names start with a letter or digit) and is the type it is served as.
Results are the sandbox's own MP4s. Files expire ``ttl_s`` after they were written (default
24 h, like the real result URLs) and a sweep deletes them; beyond ``max_bytes`` the oldest go
first, so disk use stays bounded.

A task reads media only from this store (by its served URL, or by the ``oss://`` key the
official SDK's temporary upload returned) and from ``data:`` URIs. Any other URL is refused
without being fetched: a deployed playground must not become a proxy into its own network.
An ``oss://`` key resolves only for the key and the model its upload is bound to (bindings.py).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal
from urllib.parse import unquote, urlsplit

from playground.sandbox import media_types
from playground.sandbox.bindings import read_binding
from playground.sandbox.media_types import MediaType

Kind = Literal["uploads", "results"]
KINDS: tuple[Kind, ...] = ("uploads", "results")
FILES_PREFIX = "/files/"
OSS_BUCKET = "dashscope-instant"

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1024 * 1024
_LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
_RESULT_TYPE = media_types.MP4.mime  # results are the sandbox's own renders


class BadName(ValueError):
    """A file name or id that tries to leave its folder, or is not one the store issues."""


class TooLarge(ValueError):
    """A file over the upload limit."""


class NotMedia(ValueError):
    """An upload whose content is not one of the accepted media formats (whatever its name says)."""


class MediaRefused(ValueError):
    """A media URL the sandbox will not read, and why."""


@dataclass(frozen=True)
class Stored:
    """A file in the store."""

    kind: Kind
    file_id: str
    name: str
    path: Path
    size: int
    created_at: float
    expires_at: float
    # Found from the content when it was stored; the only type it is served with.
    media_type: str

    def route(self) -> str:
        """The path, relative to the sandbox mount, at which the file is served."""
        return f"{FILES_PREFIX}{self.kind}/{self.file_id}/{self.name}"


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def is_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def safe_name(raw: str, fallback: str = "file") -> str:
    """A stored name for a client's file name: path tricks refused, odd characters replaced."""
    if not raw or "/" in raw or "\\" in raw or "\x00" in raw or raw.strip(". ") == "":
        raise BadName(f"{raw[:60]!r} is not a file name: it must not be empty, '.', '..' or contain / or \\")
    if any(ord(c) < 32 for c in raw):
        raise BadName("file names must not contain control characters")
    stem, dot, ext = raw.rpartition(".")
    if not dot:
        stem, ext = raw, ""
    ext = _UNSAFE_CHARS.sub("", ext)[:10].lower()
    stem = _UNSAFE_CHARS.sub("_", stem).strip("._-")[:100] or fallback
    return f"{stem}.{ext}" if ext else stem


class FileStore:
    """Files on disk with an expiry; every lookup is checked to stay inside the store."""

    def __init__(self, root: Path, ttl_s: float, max_bytes: int, clock: Callable[[], float] = time.time,
                 accepted: Iterable[MediaType] = media_types.KNOWN) -> None:
        self.root = root
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.accepted = tuple(accepted)
        self._clock = clock
        for sub in (*KINDS, "work"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._real_root = root.resolve()

    # -- writing ---------------------------------------------------------------------------

    def save(self, source: BinaryIO, name: str, limit: int, file_id: str | None = None,
             overwrite: bool = True) -> Stored:
        """Copy a stream into uploads/<id>/<name>; blocking, so call it from a thread.

        NotMedia if its first bytes are not an accepted format, before anything is written.
        """
        head = _read_head(source)
        media = self.check_media(head)
        file_id = file_id or new_id("file_")
        folder = self._inside("uploads", file_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        if not overwrite and target.exists():
            raise FileExistsError(name)
        partial = folder / f".{name}.part"
        size = len(head)
        try:
            with partial.open("wb") as out:
                out.write(head)
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"the file is larger than the {limit}-byte limit")
                    out.write(chunk)
            if size > limit:
                raise TooLarge(f"the file is larger than the {limit}-byte limit")
            # The type first: the file must never be servable without the type it was checked as.
            _write_type(folder, name, media.mime)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return self._stored("uploads", file_id, target)

    def check_media(self, head: bytes) -> MediaType:
        """The accepted format these first bytes show; NotMedia, saying what is accepted, if none."""
        found = media_types.sniff(head)
        if found is not None and found in self.accepted:
            return found
        takes = media_types.describe(self.accepted)
        if found is not None:
            raise NotMedia(f"the file is {found.label} {found.kind}, which no mode takes; upload one of: {takes}")
        raise NotMedia(
            f"the file's content is not a media format the store takes ({takes}); the file name and "
            "the declared content type do not count, only the bytes: upload the picture, video or audio itself"
        )

    def result_path(self, task_id: str) -> Path:
        folder = self._inside("results", task_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{task_id}.mp4"

    def work_dir(self, task_id: str) -> Path:
        folder = self._inside("work", task_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def upload_folder(self, file_id: str) -> Path:
        """Where an upload's files live (BadName for an id the store does not issue)."""
        return self._inside("uploads", file_id)

    def discard(self, kind: Literal["uploads", "results", "work"], file_id: str) -> None:
        shutil.rmtree(self._inside(kind, file_id), ignore_errors=True)

    def discard_partials(self, task_id: str) -> None:
        """Delete the temporary files of a render that never finished (hidden, never served)."""
        for leftover in self._inside("results", task_id).glob(".*.part"):
            leftover.unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------

    def find(self, kind: str, file_id: str, name: str) -> Stored | None:
        """A live file by its served coordinates; None when absent, expired or malformed."""
        if kind not in KINDS or not is_id(file_id) or _NAME.fullmatch(name) is None:
            return None
        path = self._inside(kind, file_id) / name
        try:
            if not path.is_file() or path.resolve().parent != self._inside(kind, file_id).resolve():
                return None
        except OSError:
            return None
        stored = self._stored(kind, file_id, path)
        return stored if stored.expires_at > self._clock() else None

    def _stored(self, kind: Kind, file_id: str, path: Path) -> Stored:
        info = path.stat()
        media = _RESULT_TYPE if kind == "results" else _read_type(path)
        return Stored(kind, file_id, path.name, path, info.st_size, info.st_mtime, info.st_mtime + self.ttl_s, media)

    def _inside(self, kind: str, file_id: str) -> Path:
        if not is_id(file_id):
            raise BadName(f"{file_id[:60]!r} is not a file id")
        return self.root / kind / file_id

    # -- expiry ----------------------------------------------------------------------------

    def sweep(self, keep: Iterable[str] = ()) -> list[str]:
        """Delete expired folders, then the oldest until under max_bytes; the ids deleted."""
        now = self._clock()
        keep_ids = set(keep)
        folders: list[tuple[float, int, Path]] = []
        removed: list[str] = []
        for sub in (*KINDS, "work"):
            for folder in (self.root / sub).iterdir():
                if folder.name in keep_ids:
                    continue
                newest, size = _age_and_size(folder)
                if now - newest > self.ttl_s:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder.name)
                elif sub != "work":
                    folders.append((newest, size, folder))
        total = sum(size for _, size, _ in folders)
        for _, size, folder in sorted(folders):
            if total <= self.max_bytes:
                break
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
            total -= size
        return removed


def _read_head(source: BinaryIO) -> bytes:
    """The first HEAD_BYTES of a stream (fewer only at its end), however the reads come back."""
    head = b""
    while len(head) < media_types.HEAD_BYTES and (chunk := source.read(media_types.HEAD_BYTES - len(head))):
        head += chunk
    return head


def _type_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.type")


def _write_type(folder: Path, name: str, mime: str) -> None:
    partial = folder / f".{name}.{secrets.token_hex(4)}.tmp"  # a name no upload's own temporary file has
    partial.write_text(mime, "ascii")
    partial.replace(_type_path(folder / name))


def _read_type(path: Path) -> str:
    """The type stored with an upload; for one stored before types were, its content decides now."""
    try:
        stored = _type_path(path).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        stored = ""
    if stored in media_types.PLAYABLE:
        return stored
    try:
        with path.open("rb") as handle:
            found = media_types.sniff(handle.read(media_types.HEAD_BYTES))
    except OSError:
        found = None
    return found.mime if found is not None else media_types.UNKNOWN


def _age_and_size(folder: Path) -> tuple[float, int]:
    newest, size = 0.0, 0
    try:
        entries = list(folder.iterdir()) if folder.is_dir() else [folder]
        newest = folder.stat().st_mtime
        for entry in entries:
            info = entry.stat()
            newest = max(newest, info.st_mtime)
            size += info.st_size
    except OSError:
        pass
    return newest, size


# -- where media may come from ---------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """How the sandbox was addressed when a task was submitted: its own URLs look like this."""

    netlocs: frozenset[str]
    prefixes: frozenset[str]  # the mount path, e.g. "/sandbox"
    owner: str  # the submitting key's tag; oss:// uploads belong to one key


def oss_dir(owner: str, date: str, file_id: str) -> str:
    """The upload_dir of a temporary-upload policy (the part of the oss:// key before the name)."""
    return f"{OSS_BUCKET}/{owner}/{date}/{file_id}"


def resolve(url: str, origin: Origin, store: FileStore, model: str | None = None) -> Path | bytes:
    """The local file (or the decoded bytes of a data: URI) a media URL stands for.

    ``model`` is the model of the request the URL is in: an ``oss://`` key uploaded for another
    model is refused (None skips that check, for callers with no request).
    """
    if url.startswith("data:"):
        _, _, payload = url.partition(",")
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise MediaRefused("the data: URI's base64 payload does not decode") from None
    parts = urlsplit(url)
    if parts.scheme == "oss":
        return _resolve_oss(url, origin, store, model)
    if parts.scheme not in ("http", "https"):
        raise MediaRefused(f"{url[:80]!r} is not an http(s), oss:// or data: URL")
    if not _is_own_host(parts.netloc, origin):
        raise MediaRefused(
            f"{url[:120]} is not a file of this sandbox; the sandbox never fetches other URLs "
            "(it must not become a proxy into its network): upload the file with "
            "POST /sandbox/v1/files and use the URL it returns, or send a data: URI"
        )
    path = unquote(parts.path)
    for prefix in origin.prefixes:
        lead = prefix.rstrip("/") + FILES_PREFIX
        if path.startswith(lead):
            kind, _, rest = path[len(lead):].partition("/")
            file_id, _, name = rest.partition("/")
            found = store.find(kind, file_id, name) if "/" not in name else None
            if found is not None:
                return found.path
            raise MediaRefused(f"{url[:120]} does not exist or has expired (files are kept {_hours(store.ttl_s)})")
    example = f"{min(origin.prefixes)}{FILES_PREFIX}..."
    raise MediaRefused(f"{url[:120]} is not a file URL of this sandbox (they look like {example})")


def _resolve_oss(url: str, origin: Origin, store: FileStore, model: str | None) -> Path:
    key = url.removeprefix("oss://")
    parts = key.split("/")
    if len(parts) != 5 or parts[0] != OSS_BUCKET:
        raise MediaRefused(f"{url[:120]} is not a temporary-upload key issued by this sandbox")
    _, owner, _, file_id, raw_name = parts
    try:
        name = safe_name(unquote(raw_name))  # the bucket stored it under its safe name
    except BadName:
        raise MediaRefused(f"{url[:120]} does not name a file") from None
    if owner != origin.owner:
        raise MediaRefused(f"{url[:120]} was uploaded with another API key; temporary files belong to one key")
    found = store.find("uploads", file_id, name) if is_id(file_id) else None
    # The binding, not the key's own wording, decides: a key naming its own tag in front of
    # another key's folder id must still be refused.
    binding = read_binding(store.upload_folder(file_id)) if found is not None else None
    if found is None or binding is None:
        kept = _hours(store.ttl_s)
        raise MediaRefused(f"{url[:120]} does not exist or has expired (temporary files are kept {kept})")
    if binding.owner != origin.owner:
        raise MediaRefused(f"{url[:120]} was uploaded with another API key; temporary files belong to one key")
    if model is not None and binding.model != model:
        raise MediaRefused(
            f"{url[:120]} was uploaded for model {binding.model or '(none)'} and cannot be used with {model}: "
            "a temporary file works only with the model named when its upload policy was asked for; "
            f"upload it again with model={model}"
        )
    return found.path


def _is_own_host(netloc: str, origin: Origin) -> bool:
    netloc = netloc.lower()
    if netloc in origin.netlocs:
        return True
    host, _, port = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    if host in _LOOPBACK:
        return any(
            own.rpartition(":")[0] in _LOOPBACK and own.rpartition(":")[2] == port for own in origin.netlocs
        )
    return False


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"
