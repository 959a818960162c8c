"""Local files in a request: find them, and swap them for placeholders and then uploaded URLs.

A media URL may be a local path (``/home/me/cat.png``, ``./cat.png``) or a ``file://`` URL.
The request is validated with a placeholder URL in each such place (the rules want http(s)),
each file is probed against its media limit before anything is uploaded (attach.py, which owns
probe, check and upload), and after the upload the real URLs (or DashScope's ``oss://`` keys)
take the placeholders' places.

A shared server must not read its own disk for a caller: :func:`refuse_local_files` turns any
value that names a local file by its form into :class:`LocalFileRefused`, without touching the
filesystem, so the answer is the same whether the path exists or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from playground.client.errors import LocalFileRefused

_URL_KEYS = ("url", "audio_url", "reference_voice")
PLACEHOLDER_HOST = "https://local-file.invalid"


@dataclass(frozen=True)
class LocalFile:
    """A local file named in a request, and the placeholder standing in for it."""

    path: Path
    kind: str  # the media limit it is checked against (first_frame, audio_url, ...)
    placeholder: str
    original: str
    field: str = ""  # where the request named it, as given (input.media[0].url), for messages


def looks_local(value: str) -> bool:
    """Whether a URL value names a local file by its form alone: a ``file://`` URL, an absolute
    path, or one starting ``./``, ``../`` or ``~``. Never looks at the filesystem."""
    if value.startswith("file://"):
        return True
    if "://" in value or value.startswith("data:") or not value.strip():
        return False
    return value.startswith(("./", "../", "~")) or Path(value).is_absolute()


def local_path(value: str) -> Path | None:
    """The local file a URL value names, or None when it is a real URL (or not a path at all).

    A bare relative name (``cat.png``) counts only when such a file exists, so this looks at
    the filesystem: not for callers who may not learn what is on it (see :func:`refuse_local_files`).
    """
    if value.startswith("file://"):
        parts = urlsplit(value)
        return Path(unquote(parts.netloc + parts.path)).expanduser()
    if "://" in value or value.startswith("data:") or not value.strip():
        return None
    if looks_local(value):
        return Path(value).expanduser()
    path = Path(value)
    return path if path.exists() else None


def local_fields(body: Any) -> list[str]:
    """The JSON paths (``input.media[0].url``) whose value names a local file by its form."""
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]")
        elif isinstance(node, dict):
            for key, value in node.items():
                here = f"{where}.{key}" if where else str(key)
                if key in _URL_KEYS and isinstance(value, str) and looks_local(value):
                    found.append(here)
                else:
                    walk(value, here)

    walk(body, "")
    return found


def refuse_local_files(body: Any) -> None:
    """LocalFileRefused if any media URL names a local file; the message names the fields only.

    Decided from the values' form, before anything is read: the same answer for
    ``/etc/passwd`` and ``/no/such/file``, so it tells a caller nothing about the server's disk.
    """
    fields = local_fields(body)
    if fields:
        raise LocalFileRefused(
            f"{', '.join(fields)}: a path or file:// URL on the server is not accepted here; upload the file "
            "instead (attach it) and use the URL that gives, or give a public https:// URL. "
            "Nothing was read or sent.",
            problems=[f"{field}: upload the file instead of naming a path on the server" for field in fields],
        )


def swap_out(body: Any) -> tuple[Any, list[LocalFile]]:
    """A copy of the body with every local file replaced by a placeholder URL."""
    found: list[LocalFile] = []

    def walk(node: Any, kind_hint: str | None, where: str) -> Any:
        if isinstance(node, list):
            return [walk(item, kind_hint, f"{where}[{index}]") for index, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        kind = node.get("type") if isinstance(node.get("type"), str) else kind_hint
        copy: dict[str, Any] = {}
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            path = local_path(value) if key in _URL_KEYS and isinstance(value, str) else None
            if path is None:
                copy[key] = walk(value, kind, here)
                continue
            slot = kind if key == "url" and kind else key
            placeholder = f"{PLACEHOLDER_HOST}/{len(found)}/{path.name or 'file'}"
            found.append(LocalFile(path, str(slot), placeholder, value, here))
            copy[key] = placeholder
        return copy

    return walk(body, None, ""), found


def media_values(body: Any) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Every media URL value in a body: where it is (a loc, outermost key first), the media
    limit it answers to (a media item's type, or ``audio_url`` / ``reference_voice``), and the value."""
    found: list[tuple[tuple[str | int, ...], str, str]] = []

    def walk(node: Any, kind_hint: str | None, loc: tuple[str | int, ...]) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, kind_hint, (*loc, index))
        elif isinstance(node, dict):
            kind = node.get("type") if isinstance(node.get("type"), str) else kind_hint
            for key, value in node.items():
                if key in _URL_KEYS and isinstance(value, str):
                    found.append(((*loc, key), str(kind if key == "url" and kind else key), value))
                else:
                    walk(value, kind, (*loc, key))

    walk(body, None, ())
    return found


def swap_in(body: Any, urls: dict[str, str]) -> Any:
    """A copy of the body with placeholders replaced by the uploaded URLs."""
    if isinstance(body, list):
        return [swap_in(item, urls) for item in body]
    if isinstance(body, dict):
        return {k: swap_in(v, urls) for k, v in body.items()}
    if isinstance(body, str):
        return urls.get(body, body)
    return body
