"""Where the presenting pages and the deck get their runs, media and login check from.

A composition module (like server.py): it joins the ledger and the showcase store (client), the
sandbox's file store, the UI's wording (tab labels, cost cells) and the signed media links (web)
into the :class:`playground.web.showcase.ShowcaseHooks` the routes run on, and the deck builder.

What the server will show of a run's inputs ("before" media) is decided here, from the run's own
request and nothing a caller sends: a ``data:`` URI kept in the request, or a file of this
server's sandbox store the run was sent with (its served URL or its ``oss://`` key), and only
for a run that succeeded (the sandbox read those very files for it). Anything else (a public
URL, a real provider's temporary upload) is never fetched: the caption says it is not shown.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from starlette.requests import Request

from playground.client import (
    DeckRun,
    Ledger,
    RunRecord,
    RunState,
    Share,
    ShowcaseStore,
    active_share_for_token,
    build_deck,
    label_of,
)
from playground.core.profile import MODES, Mode, Profile
from playground.core.showcase_slides import EXPIRED, NOT_HELD, inputs_of, measured_of, slide
from playground.sandbox.files import FILES_PREFIX, OSS_BUCKET, BadName, FileStore, is_id, safe_name
from playground.sandbox.media_types import sniff
from playground.ui.cost_views import cost_cell
from playground.ui.forms import TAB_LABELS
from playground.ui.history_views import request_of, video_of
from playground.web.media import Held, input_role, media_url
from playground.web.showcase import ShowcaseHooks, Slides

MEDIA_TTL_S = 6 * 3600  # a page's media links: long enough for a presentation, re-signed on reload
Link = Callable[[RunRecord, str], str]  # run, role -> a signed media URL


@dataclass
class GradioLogin:
    """The UI's login, checked the way Gradio checks it (its ``access-token`` cookies).

    Gradio keeps its sessions in its app's ``tokens``; :meth:`attach` finds that app once it is
    mounted. Until then, and if it cannot be found, a login that is on refuses everyone.
    """

    required: bool
    _app: Any = None

    def attach(self, mounted: Any) -> None:
        for route in getattr(mounted, "routes", ()):
            inner = getattr(route, "app", None)
            if hasattr(inner, "tokens") and hasattr(inner, "cookie_id"):
                self._app = inner
                return

    def __call__(self, request: Request) -> bool:
        if not self.required:
            return True
        if self._app is None:
            return False
        cookie_id = self._app.cookie_id
        token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
            f"access-token-unsecure-{cookie_id}")
        return bool(token) and self._app.tokens.get(token) is not None


class ShowcaseSources:
    """Runs, inputs and slides for the presenting pages and the deck."""

    def __init__(self, ledger: Callable[[], Ledger], store: ShowcaseStore, secret: bytes,
                 files: FileStore | None, *, sharing: Callable[[], bool], logged_in: Callable[[Request], bool],
                 profile: Profile | None = None) -> None:
        self.ledger = ledger
        self.store = store
        self.secret = secret
        self.files = files
        self.sharing = sharing
        self.logged_in = logged_in
        self.profile = profile

    def keep_source(self, request: Mapping[str, Any]) -> int | None:
        mode = request.get("mode")
        if self.profile is None or mode not in MODES:
            return None
        return self.profile.mode(cast(Mode, mode)).duration.keep_source

    # -- runs and their media ------------------------------------------------------------------

    def owned(self, owner: str, run_ids: Sequence[str]) -> list[RunRecord]:
        """Those of the runs that belong to ``owner``, in the given order (others are dropped)."""
        ledger = self.ledger()
        found = [ledger.get(run_id) for run_id in dict.fromkeys(run_ids)]
        return [r for r in found if r is not None and r.session_id == owner]

    def video(self, run_id: str) -> Path | None:
        record = self.ledger().get(run_id)
        found = video_of(record) if record is not None else None
        return Path(found) if found else None

    def held_inputs(self, record: RunRecord) -> list[tuple[Held | None, str | None]]:
        """Per input of the run's request: what the server holds of it, or why nothing."""
        request = request_of(record)
        succeeded = record.state == RunState.SUCCEEDED.value
        out: list[tuple[Held | None, str | None]] = []
        for item in inputs_of(request):
            held, note = (self._held(record, item.url) if succeeded else (None, NOT_HELD))
            out.append((held, note))
        return out

    def input_for(self, run_id: str, number: int) -> Held | None:
        record = self.ledger().get(run_id)
        if record is None:
            return None
        held = self.held_inputs(record)
        return held[number][0] if 0 <= number < len(held) else None

    def _held(self, record: RunRecord, url: str) -> tuple[Held | None, str | None]:
        if url.startswith("data:"):
            return _data_uri(url), None
        if record.provider != "sandbox" or self.files is None:
            return None, NOT_HELD
        found = self._sandbox_file(record.base_url, url)
        if found is None:
            return None, EXPIRED if _looks_like_sandbox_file(record.base_url, url) else NOT_HELD
        return found, None

    def _sandbox_file(self, base_url: str, url: str) -> Held | None:
        """A file of this sandbox's store by the URL (or oss:// key) a sandbox run was sent with."""
        assert self.files is not None
        parts = urlsplit(url)
        try:
            if parts.scheme == "oss":
                pieces = url.removeprefix("oss://").split("/")
                if len(pieces) != 5 or pieces[0] != OSS_BUCKET or not is_id(pieces[3]):
                    return None
                stored = self.files.find("uploads", pieces[3], safe_name(unquote(pieces[4])))
            elif _looks_like_sandbox_file(base_url, url):
                lead = urlsplit(base_url).path.rstrip("/") + FILES_PREFIX
                kind, _, rest = unquote(parts.path)[len(lead):].partition("/")
                file_id, _, name = rest.partition("/")
                stored = self.files.find(kind, file_id, name) if "/" not in name else None
            else:
                return None
        except BadName:
            return None
        return (stored.path, stored.media_type) if stored is not None else None

    # -- slides ----------------------------------------------------------------------------------

    def slides(self, records: Sequence[RunRecord], link: Link) -> Slides:
        out = []
        for record in records:
            request = request_of(record)
            held = self.held_inputs(record)
            video = link(record, "video") if self.video(record.run_id) is not None else None
            urls = [link(record, input_role(i)) if h is not None else None for i, (h, _) in enumerate(held)]
            out.append(slide(request, title=_title(request), video_url=video, video_note=_video_note(record),
                             before_urls=urls, before_notes=[n for _, n in held],
                             measured=measured_of(_media(record)), cost=cost_cell(record) or None,
                             keep_source=self.keep_source(request)))
        return out

    def starred_slides(self, owner: str) -> Slides:
        records = self.owned(owner, self.store.starred(owner))
        return self.slides(records, lambda r, role: media_url(self.secret, r.run_id, role=role, ttl_s=MEDIA_TTL_S))

    def shared_slides(self, token: str) -> Slides | None:
        share = active_share_for_token(self.store, self.secret, token)
        if share is None:
            return None
        records = self.owned(share.owner, share.run_ids)  # only the sharer's own runs, ever
        return self.slides(records, _share_link(self.secret, share)) or None

    def share_alive(self, share_id: str, run_id: str) -> bool:
        """Whether a share's media link may be served now: sharing on, the share live and its own."""
        if not self.sharing():
            return False
        share = self.store.active_share(share_id, now=time.time())
        return share is not None and run_id in share.run_ids and bool(self.owned(share.owner, [run_id]))

    # -- the deck --------------------------------------------------------------------------------

    def deck(self, owner: str, run_ids: Sequence[str] = ()) -> Path:
        """The deck zip of some of this owner's runs (none named: its showcase, in order)."""
        records = self.owned(owner, list(run_ids) or self.store.starred(owner))
        if not records:
            raise ValueError("run_ids: none of these runs is yours to put in a deck; star or pick your own runs")
        runs = []
        for record in records:
            request = request_of(record)
            held = self.held_inputs(record)
            runs.append(DeckRun(request=request, title=_title(request), video=self.video(record.run_id),
                                video_note=_video_note(record), inputs=[h for h, _ in held],
                                input_notes=[n for _, n in held], measured=measured_of(_media(record)),
                                cost=cost_cell(record) or None, keep_source=self.keep_source(request)))
        return build_deck(runs)

    def hooks(self) -> ShowcaseHooks:
        return ShowcaseHooks(self.secret, self.sharing, self.logged_in, self.starred_slides, self.shared_slides,
                             self.deck)


def _share_link(secret: bytes, share: Share) -> Link:
    def link(record: RunRecord, role: str) -> str:
        return media_url(secret, record.run_id, role=role, share_id=share.share_id, ttl_s=MEDIA_TTL_S,
                         not_after=share.expires_at)

    return link


def _looks_like_sandbox_file(base_url: str, url: str) -> bool:
    base, parts = urlsplit(base_url), urlsplit(url)
    lead = base.path.rstrip("/") + FILES_PREFIX
    return parts.scheme in ("http", "https") and parts.netloc == base.netloc and parts.path.startswith(lead)


def _data_uri(url: str) -> Held | None:
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        return None
    try:
        content = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    found = sniff(content[:64])
    return (content, found.mime) if found is not None else None  # only real media, never HTML or SVG


def _title(request: Mapping[str, Any]) -> str:
    mode = request.get("mode")
    return TAB_LABELS.get(mode, "Run") if isinstance(mode, str) else "Run"  # type: ignore[call-overload]


def _video_note(record: RunRecord) -> str:
    if record.state != RunState.SUCCEEDED.value:
        return f"No video: this run's status is {label_of(record.state)}."
    return "No video: the server no longer holds this run's file."


def _media(record: RunRecord) -> dict[str, Any] | None:
    try:
        media = json.loads(record.media_json) if record.media_json else None
    except ValueError:
        return None
    return media if isinstance(media, dict) else None
