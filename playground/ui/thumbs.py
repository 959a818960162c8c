"""Thumbnails under a media slot: a picture for each image URL, a still for each video URL.

Pure (no Gradio). Only http(s) URLs become pictures; the sandbox's own file URLs are shown by
their path on this server, so a browser on another machine loads them too. Anything else (an
``oss://`` temporary upload, a local path) is named by its file name: there is nothing the
browser could load.
"""

from __future__ import annotations

import html
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import unquote, urlsplit

Kind = Literal["image", "video", "audio"]


def _name(url: str) -> str:
    path = urlsplit(url).path if "://" in url else url
    return unquote(PurePosixPath(path).name) or url[:60]


def _shown(url: str, own_base: str | None) -> str | None:
    """The address the browser should load, or None when it cannot load this one."""
    if own_base and url.startswith(own_base.rstrip("/") + "/"):
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url if urlsplit(url).scheme in ("http", "https") else None


def thumbs_html(text: str | None, kind: Kind, label: str, own_base: str | None = None) -> str:
    """The thumbnails for a slot's URL box (one URL a line); empty when it holds none."""
    urls = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not urls:
        return ""
    items = []
    for number, url in enumerate(urls, 1):
        name = html.escape(_name(url))
        src = _shown(url, own_base)
        alt = html.escape(f"{label} {number}: {_name(url)}")
        if src is None or kind == "audio":
            note = "" if kind == "audio" else " (no preview: not a web address)"
            items.append(f'<span class="chip">{name}{html.escape(note)}</span>')
        elif kind == "image":
            items.append(f'<figure><img src="{html.escape(src)}" alt="{alt}">'
                         f"<figcaption>{name}</figcaption></figure>")
        else:
            # The first frame, as a still: loaded at 0.1 s, never played.
            items.append(f'<figure><video src="{html.escape(src)}#t=0.1" preload="metadata" muted playsinline '
                         f'tabindex="-1" aria-label="{alt} (still)"></video><figcaption>{name}</figcaption></figure>')
    return f'<div class="thumbs" role="group" aria-label="{html.escape(label)}: attached">{"".join(items)}</div>'
