"""Thumbnails under a media slot: a picture for each image, a still (first frame) for each video.

Files attached through this server (uploads and examples) get a small JPEG made from the file
itself when they are attached (:func:`remember`), kept in memory by URL, so a thumbnail shows
whatever the URL is (an ``oss://`` temporary upload too) and a video's still is a picture, never
a second player in the page. An image URL the browser can load (http, https) is shown as it
is; anything else is named by its file name. No Gradio here.
"""

from __future__ import annotations

import base64
import html
import threading
from collections import OrderedDict
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import unquote, urlsplit

from playground.media.probe import MediaError
from playground.media.thumbnail import thumbnail_jpeg

Kind = Literal["image", "video", "audio"]
_KEEP = 512  # pictures kept, newest last (about 5 KB each)
_stills: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


def remember(url: str, path: Path, kind: Kind) -> None:
    """Make and keep the thumbnail of a file just attached as ``url`` (best effort)."""
    if kind == "audio":
        return
    try:
        data = thumbnail_jpeg(path)
    except (MediaError, OSError, ValueError):
        return
    with _lock:
        _stills[url] = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
        _stills.move_to_end(url)
        while len(_stills) > _KEEP:
            _stills.popitem(last=False)


def _picture_of(url: str) -> str | None:
    with _lock:
        return _stills.get(url)


def _name(url: str) -> str:
    path = urlsplit(url).path if "://" in url else url
    return unquote(PurePosixPath(path).name) or url[:60]


def _shown(url: str, own_base: str | None) -> str | None:
    """The address the browser should load an image from, or None when it cannot load it."""
    if own_base and url.startswith(own_base.rstrip("/") + "/"):
        parts = urlsplit(url)  # the sandbox's own files: by path, so a browser elsewhere loads them
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url if urlsplit(url).scheme in ("http", "https") else None


def thumbs_html(text: str | None, kind: Kind, label: str, own_base: str | None = None) -> str:
    """The thumbnails for a slot's URL box (one URL a line); empty when it holds none."""
    urls = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not urls:
        return ""
    items = []
    for number, url in enumerate(urls, 1):
        name = _name(url)
        src = _picture_of(url) or (_shown(url, own_base) if kind == "image" else None)
        if src is None or kind == "audio":
            items.append(f'<span class="chip">{html.escape(name)}</span>')
            continue
        what = " (first frame)" if kind == "video" else ""
        alt = html.escape(f"{label} {number}: {name}{what}")
        items.append(f'<figure><img src="{html.escape(src)}" alt="{alt}">'
                     f"<figcaption>{html.escape(name)}</figcaption></figure>")
    return f'<div class="thumbs" role="group" aria-label="{html.escape(label)}: attached">{"".join(items)}</div>'
