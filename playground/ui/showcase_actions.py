"""What the Star buttons and History's showcase panel do: star, unstar, reorder, share, revoke.

The owner is always the one the signed browser cookie proves (``handlers.owner_of``), never a
value the caller sends. A run id or share id of another browser is refused exactly like one
that does not exist ("no such run"), so a caller learns nothing about other browsers' ids.
The store is :class:`playground.client.ShowcaseStore`; the pages it feeds are ``/showcase``
and ``/share/<token>`` (playground/web).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import gradio as gr

from playground.client import RunRecord, Share, ShowcaseStore, share_url
from playground.core.problems import shown
from playground.core.profile import Mode
from playground.ui.handlers import owner_of, sid
from playground.ui.restore import latest_run
from playground.ui.services import Services

NO_SUCH_RUN = "no such run in this browser's history"
NO_SUCH_SHARE = "no such share link in this browser's history"
SHARING_OFF = "Sharing is switched off on this server (PLAYGROUND_SHARING=off); no link was made."
# A run id is the ledger's own (hex, dashes); anything longer or stranger is no run of anyone's.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SHARE_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


@functools.lru_cache(maxsize=8)
def _store(path: Path) -> ShowcaseStore:
    return ShowcaseStore(path)  # the schema is made once per ledger file, not on every click


def store_of(services: Services) -> ShowcaseStore:
    """The showcase store beside this server's ledger (the tables live in the ledger's file)."""
    return _store(services.ledger_path)


def owned_run(services: Services, owner: str, run_id: str) -> RunRecord | None:
    """One of this owner's runs; another browser's run is as good as absent."""
    record = services.ledger().get(run_id) if _RUN_ID.fullmatch(run_id) else None
    return record if record is not None and record.session_id == owner else None


def _run_param(services: Services, owner: str, run_id: str | None, name: str = "run_id") -> RunRecord:
    text = (run_id or "").strip()
    if not text:
        raise gr.Error(f"{name}: select a run first (click a row in History, or paste a run id)")
    record = owned_run(services, owner, text)
    if record is None:
        raise gr.Error(f"{name}: {NO_SUCH_RUN}")
    return record


def starred_runs(services: Services, owner: str) -> list[RunRecord]:
    """This owner's showcase, in order; a starred run no longer in the ledger is left out."""
    found = (owned_run(services, owner, run_id) for run_id in store_of(services).starred(owner))
    return [record for record in found if record is not None]


def tab_run(services: Services, request: gr.Request | None, mode: Mode) -> RunRecord | None:
    """The run a mode tab shows: its own latest Send, else the run restored into it on load."""
    owner = owner_of(services, request)
    run_id = services.board.latest((sid(request), mode))
    record = owned_run(services, owner, run_id) if run_id else None
    return record or latest_run(services, owner, mode)


def toggle_tab_star(services: Services, request: gr.Request | None, mode: Mode) -> bool:
    """Star the run the tab shows, or unstar it if it is starred; whether it is starred now."""
    record = tab_run(services, request, mode)
    if record is None:
        raise gr.Error("Star: this tab shows no run yet; send one first (or star a run in History).")
    owner, store = owner_of(services, request), store_of(services)
    if store.is_starred(owner, record.run_id):
        store.unstar(owner, record.run_id)
        return False
    store.star(owner, record.run_id)
    return True


def tab_starred(services: Services, request: gr.Request | None, mode: Mode) -> bool | None:
    """Whether the run the tab shows is starred; None when the tab shows no run."""
    record = tab_run(services, request, mode)
    return None if record is None else store_of(services).is_starred(owner_of(services, request), record.run_id)


def star(services: Services, request: gr.Request | None, run_id: str | None) -> RunRecord:
    owner = owner_of(services, request)
    record = _run_param(services, owner, run_id)
    store_of(services).star(owner, record.run_id)
    return record


def unstar(services: Services, request: gr.Request | None, run_id: str | None) -> RunRecord:
    owner = owner_of(services, request)
    record = _run_param(services, owner, run_id)
    store_of(services).unstar(owner, record.run_id)
    return record


def parse_order(text: str | None) -> list[str]:
    """Run ids one per line, or separated by commas or spaces."""
    return [part for part in re.split(r"[\s,]+", text or "") if part]


def reorder(services: Services, request: gr.Request | None, run_ids: Sequence[str]) -> list[str]:
    """Put these starred runs first, in this order (the rest keep theirs after them)."""
    owner = owner_of(services, request)
    starred = set(store_of(services).starred(owner))
    strangers = [run_id for run_id in run_ids if run_id not in starred]
    if strangers:
        raise gr.Error(f"run_ids: {strangers[0][:80]!r}: no such run in this browser's showcase; "
                       "list starred run ids only (one per line)")
    return store_of(services).reorder(owner, list(run_ids))


def move(services: Services, request: gr.Request | None, run_id: str | None, step: int) -> list[str]:
    """Move one starred run one place up (step -1) or down (+1)."""
    order = store_of(services).starred(owner_of(services, request))
    if not run_id or run_id not in order:
        raise gr.Error("Showcase: choose a starred run to move first.")
    at = order.index(run_id)
    to = min(max(at + step, 0), len(order) - 1)
    order.insert(to, order.pop(at))
    return reorder(services, request, order)


def _sharing(services: Services) -> None:
    if not services.settings.sharing:
        raise gr.Error(SHARING_OFF)


def share_run(services: Services, request: gr.Request | None, run_id: str | None) -> Share:
    """A read-only link to one of this browser's runs, lasting PLAYGROUND_SHARE_TTL."""
    _sharing(services)
    owner = owner_of(services, request)
    record = _run_param(services, owner, run_id)
    return store_of(services).share(owner, [record.run_id], ttl_s=services.settings.share_ttl_s())


def share_showcase(services: Services, request: gr.Request | None) -> Share:
    """A read-only link to this browser's showcase as it is now (its runs, in its order)."""
    _sharing(services)
    owner = owner_of(services, request)
    runs = starred_runs(services, owner)
    if not runs:
        raise gr.Error("Showcase: star a run first; an empty showcase has nothing to share.")
    return store_of(services).share(owner, [r.run_id for r in runs], ttl_s=services.settings.share_ttl_s())


def revoke(services: Services, request: gr.Request | None, share_id: object) -> None:
    """Stop one of this browser's share links at once (its token is refused from now on)."""
    if share_id is not None and not isinstance(share_id, str):  # the box takes any value a script sends
        raise gr.Error(f"share_id: {shown(share_id)} is not text; send a share id from the link list")
    text = (share_id or "").strip()
    if not text:
        raise gr.Error("share_id: choose a share link to revoke first")
    owner = owner_of(services, request)
    if not _SHARE_ID.fullmatch(text) or not store_of(services).revoke(owner, text):
        raise gr.Error(f"share_id: {NO_SUCH_SHARE} (or it was revoked already)")


def shares(services: Services, request: gr.Request | None) -> list[Share]:
    return store_of(services).shares(owner_of(services, request))


def _first(value: str | None) -> str:
    return (value or "").split(",")[0].strip()


def public_root(request: gr.Request | None) -> str:
    """The page's own origin, as the browser reached it (a proxy's forwarded host and scheme
    first), so a link is whole; empty when the request does not say (the link is then relative).
    Only the caller ever sees the link it asked for, so a forged header fools only the forger."""
    if request is None:
        return ""
    inner = request.request  # the HTTP request; a queued event that was pickled keeps copies in kwargs
    raw = inner.headers if inner is not None else request.kwargs.get("headers") or {}
    headers = {str(k).lower(): str(v) for k, v in dict(raw).items()}
    url = urlsplit(str(inner.url if inner is not None else request.kwargs.get("url") or ""))
    host = _first(headers.get("x-forwarded-host")) or headers.get("host") or url.netloc
    scheme = _first(headers.get("x-forwarded-proto")) or url.scheme or "http"
    if scheme not in ("http", "https") or not _HOST.fullmatch(host or ""):
        return ""
    return f"{scheme}://{host}"


def link_of(services: Services, request: gr.Request | None, share: Share) -> str:
    """The whole URL of a share link: this page's origin and the signed capability path."""
    return public_root(request) + share_url(services.secret, share)
