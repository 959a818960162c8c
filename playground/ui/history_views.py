"""What the History tab shows, from ledger rows (pure functions, no Gradio).

Rows hold no key: the ledger never stores one. Everything shown is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from playground.client import LedgerEvent, RunRecord, RunState, label_of
from playground.ui.cost_views import cost_cell

HEADERS = ["time", "mode", "provider", "status", "duration", "resolution", "prompt", "cost", "task id", "run id"]
# What History calls active: under way, or ended for now in a way a resume picks up again.
ACTIVE_STATES = frozenset(state for state in RunState if state.active or state.resumable)


def request_of(record: RunRecord) -> dict[str, Any]:
    if not record.request_json:
        return {}
    data: dict[str, Any] = json.loads(record.request_json)
    return data


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def row(record: RunRecord) -> list[str]:
    request = request_of(record)
    prompt = (request.get("prompt") or "").replace("\n", " ")
    return [
        _when(record.created_at),
        request.get("mode", "(recovered)"),
        record.provider + (f" · {record.scenario}" if record.scenario else ""),
        label_of(record.state),
        str(request.get("duration", "")),
        str(request.get("resolution", "")),
        prompt[:60] + ("…" if len(prompt) > 60 else ""),
        cost_cell(record),
        record.task_id or "",
        record.run_id,
    ]


def rows(records: Sequence[RunRecord], mode: str | None, status: str | None) -> list[list[str]]:
    """Newest first, filtered by mode and by status ("active" = not finished yet)."""
    chosen = []
    for record in records:
        r = row(record)
        if mode and mode != "all" and r[1] != mode:
            continue
        if status and status != "all":
            active = record.state in ACTIVE_STATES and not record.finished
            if (status == "active" and not active) or (status != "active" and record.state != status):
                continue
        chosen.append(r)
    return chosen


STAR_MARK = "★ "  # before the time of a starred run (this browser's showcase)


def mark_starred(table: list[list[str]], starred: set[str]) -> list[list[str]]:
    """Rows of starred runs (the run id is the last cell) get a star before their time."""
    return [[STAR_MARK + r[0], *r[1:]] if r and r[-1] in starred else r for r in table]


def timeline_html(events: Sequence[LedgerEvent], scrub: Callable[[str], str] = str) -> str:
    """The run's events; ``scrub`` takes out what a browser must not see (server paths)."""
    items = "".join(
        f"<tr><td>{_when(e.at)}</td><td>{html.escape(label_of(e.state))}</td>"
        f"<td>{html.escape(scrub(e.detail or ''))}</td>"
        f"<td><code>{html.escape(e.request_id or '')}</code></td></tr>"
        for e in events
    )
    return (
        '<section aria-label="Run timeline" class="status"><table><tr><th>when</th><th>state</th>'
        f"<th>what happened</th><th>request id</th></tr>{items}</table></section>"
    )


def guidance_html(record: RunRecord) -> str:
    if not record.guidance_text:
        return ""
    lines = record.guidance_text.splitlines()
    title, rest = lines[0], lines[1:]
    body = "".join(f"<li>{html.escape(line)}</li>" for line in rest)
    return f'<section aria-label="Guidance" class="guidance"><h3>{html.escape(title)}</h3><ul>{body}</ul></section>'


def video_of(record: RunRecord) -> str | None:
    if record.result_path and Path(record.result_path).is_file():
        return record.result_path
    return None


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for key, inner in value.items():
            out |= _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list):
        out = {}
        for index, inner in enumerate(value):
            out |= _flatten(inner, f"{prefix}[{index}]")
        return out
    return {prefix: json.dumps(value, ensure_ascii=False)}


def compare_html(records: Sequence[RunRecord], video_url: Any) -> str:
    """Parameters side by side, differing rows marked, and the videos in one synced strip."""
    flat = [_flatten(request_of(r)) for r in records]
    keys = sorted({k for f in flat for k in f})
    head = "".join(
        f"<th>{html.escape(r.run_id[-8:])}<br><small>{html.escape(label_of(r.state))}</small></th>" for r in records
    )
    body = []
    for key in keys:
        values = [f.get(key, "—") for f in flat]
        differs = len(set(values)) > 1
        cells = "".join(f"<td>{html.escape(v)}</td>" for v in values)
        mark = ' class="differs" data-differs="true"' if differs else ""
        body.append(f"<tr{mark}><th>{html.escape(key)}</th>{cells}</tr>")
    videos = "".join(
        f'<figure><video class="sync" src="{html.escape(video_url(r))}" muted playsinline preload="auto"></video>'
        f"<figcaption>{html.escape(r.run_id[-8:])}</figcaption></figure>"
        if video_of(r)
        else f"<figure><div class='novideo'>no video</div>"
        f"<figcaption>{html.escape(r.run_id[-8:])}</figcaption></figure>"
        for r in records
    )
    differing = sum('class="differs"' in b for b in body)
    return (
        f'<section aria-label="Comparison" class="compare"><div class="videos">{videos}</div>'
        '<button class="sync-play" onclick="window.wanSyncPlay && '
        'window.wanSyncPlay(this.closest(&quot;.compare&quot;))">▶ Play all in sync</button>'
        f"<p>{differing} differing field{'s' * (differing != 1)} highlighted.</p>"
        f"<table><tr><th>field</th>{head}</tr>{''.join(body)}</table></section>"
    )
