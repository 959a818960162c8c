"""The offline deck: one zip with ``index.html``, the videos and their before media, and captions.

Unzipped anywhere, ``index.html`` opens from ``file://`` with no server and no network and
presents the runs exactly as the showcase does (same renderer, :mod:`playground.core.showcase_page`,
with relative links). What goes in is only what the caller hands over for each run: its request
(for the caption), its video file and the inputs the server holds (files or decoded bytes). The
builder fetches nothing and reads no path of its own choosing; files are renamed by position
(``media/01-result.mp4``), so no server path, run id or key can travel in a name. An input the
server does not hold is shown as its caption with a note saying so.
"""

from __future__ import annotations

import json
import mimetypes
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.core.showcase_page import render
from playground.core.showcase_slides import inputs_of, slide

HeldInput = tuple[Path | bytes, str]  # the file (or decoded data: URI) and its media type
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/bmp": ".bmp",
               "video/mp4": ".mp4", "video/quicktime": ".mov", "audio/mpeg": ".mp3", "audio/wav": ".wav"}
DECK_TITLE = "Showcase"


@dataclass(frozen=True)
class DeckRun:
    """One run as the deck needs it; ``inputs[i]`` belongs to ``inputs_of(request)[i]``."""

    request: Mapping[str, Any]
    title: str
    video: Path | None = None
    video_note: str | None = None
    inputs: Sequence[HeldInput | None] = ()
    input_notes: Sequence[str | None] = ()
    measured: Mapping[str, str] = field(default_factory=dict)
    cost: str | None = None
    keep_source: int | None = None  # the profile's "keep the source's length" duration (edit: 0)


def _extension(media_type: str) -> str:
    return _EXTENSIONS.get(media_type) or mimetypes.guess_extension(media_type) or ".bin"


def _add(deck: zipfile.ZipFile, name: str, content: Path | bytes) -> bool:
    """Put one file in the deck (stored: media is compressed already); False if it is gone."""
    if isinstance(content, bytes):
        deck.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), content)
        return True
    if not content.is_file():
        return False
    deck.write(content, name)
    return True


def _captions(slides: Sequence[Mapping[str, Any]]) -> str:
    """Plain-text captions beside the page, for notes and for readers without a browser."""
    parts = []
    for number, shown in enumerate(slides, 1):
        lines = [f"{number}. {shown['title']}", shown["prompt"], *(f"{k}: {v}" for k, v in shown["facts"])]
        lines += [f"Before · {b['label']}: {b['note']}" for b in shown["before"] if not b["url"]]
        if not shown["video"]:
            lines.append(str(shown["video_note"]))
        parts.append("\n".join(line for line in lines if line))
    return "\n\n".join(parts) + "\n"


def build_deck(runs: Sequence[DeckRun], out: Path | None = None, *, title: str = DECK_TITLE) -> Path:
    """Write the deck zip (to ``out``, or a new temporary file) and return its path."""
    if not runs:
        raise ValueError("run_ids: the deck needs at least one run; star a run or pick one")
    target = Path(out) if out is not None else Path(tempfile.mkstemp(prefix="showcase-deck-", suffix=".zip")[1])
    slides: list[dict[str, Any]] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as deck:
        for number, run in enumerate(runs, 1):
            stem = f"media/{number:02d}"
            video_url: str | None = f"{stem}-result.mp4"
            if run.video is None or not _add(deck, f"{stem}-result.mp4", run.video):
                video_url = None
            urls: list[str | None] = []
            for i, _ in enumerate(inputs_of(run.request)):
                held = run.inputs[i] if i < len(run.inputs) else None
                name = f"{stem}-before-{i + 1}{_extension(held[1])}" if held is not None else ""
                urls.append(name if held is not None and _add(deck, name, held[0]) else None)
            slides.append(slide(run.request, title=run.title, video_url=video_url, video_note=run.video_note,
                                before_urls=urls, before_notes=run.input_notes, measured=run.measured,
                                cost=run.cost, keep_source=run.keep_source))
        deck.writestr("index.html", render(slides, title=title), compress_type=zipfile.ZIP_DEFLATED)
        deck.writestr("captions.txt", _captions(slides), compress_type=zipfile.ZIP_DEFLATED)
        deck.writestr("slides.json", json.dumps(slides, ensure_ascii=False, indent=1),
                      compress_type=zipfile.ZIP_DEFLATED)
    return target
