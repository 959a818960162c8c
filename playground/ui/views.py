"""HTML for the status, guidance and output panels (pure functions, no Gradio).

Everything shown is escaped: prompts, provider messages and URLs are other people's text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.core.run_states import RunState, label_of


@dataclass
class RunView:
    """What the output panel shows at one moment of a run."""

    state: str
    task_id: str | None = None
    request_id: str | None = None
    timeline: Sequence[tuple[str, str]] = ()  # (state, "HH:MM:SS.mmm")
    elapsed_s: float = 0.0
    poll_count: int = 0
    next_poll_s: float | None = None
    progress: float | None = None  # percent, 0..100, as the provider reports it
    estimate: float | None = None  # percent from elapsed time, where the provider reports none
    note: str = ""
    notice: str | None = None  # something said once that stays true (a refused cancel)
    guidance: dict[str, Any] | None = None  # title, trigger, fix, retry, did
    video_path: str | None = None
    measured: dict[str, Any] = field(default_factory=dict)
    response: Any = None
    retries: Sequence[str] = ()  # one line per retry made so far in this run

    def as_outputs(self) -> tuple[str, str, str | None, str, str]:
        return (
            status_html(self),
            guidance_html(self.guidance),
            self.video_path,
            measured_html(self.measured),
            json.dumps(self.response, indent=2, ensure_ascii=False) if self.response is not None else "",
        )


def esc(value: object) -> str:
    """Any value as text safe inside HTML (the one escaper of the UI's hand-built HTML)."""
    return html.escape(str(value))


def status_html(view: RunView) -> str:
    word = label_of(view.state)
    facts = [
        ("Task id", view.task_id or "—"),
        ("Request id", view.request_id or "—"),
        ("Elapsed", f"{view.elapsed_s:.1f} s"),
        ("Polls", str(view.poll_count)),
    ]
    if view.next_poll_s is not None:
        facts.append(("Next poll", f"in {view.next_poll_s:.1f} s" if view.next_poll_s > 0.05 else "now"))
    rows = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>" for k, v in facts)
    bar = ""
    if view.progress is not None:
        pct = max(0.0, min(100.0, view.progress))
        bar = f'<progress max="100" value="{pct:.0f}" aria-label="Progress">{pct:.0f}%</progress>'
    elif view.estimate is not None:
        pct = max(0.0, min(100.0, view.estimate))
        bar = (
            f'<progress max="100" value="{pct:.0f}" aria-label="Progress (estimate)">{pct:.0f}%</progress>'
            f'<div class="estimate">Progress: about {pct:.0f}% (estimate from the time elapsed; '
            "this provider reports no progress)</div>"
        )
    state = RunState.parse(view.state)
    if state is not None and state.active:
        # Indeterminate: it moves while the playground waits, whatever the provider reports.
        bar += '<progress class="waiting" aria-label="Waiting for the provider"></progress>'
    steps = " → ".join(
        f'<span title="{esc(t)}">{esc(label_of(s))} <small>{esc(t)}</small></span>' for s, t in view.timeline
    )
    note = f"<div>{esc(view.note)}</div>" if view.note else ""
    if view.notice and view.notice != view.note:
        note = f'<div class="notice" role="status">{esc(view.notice)}</div>' + note
    if view.retries:
        items = "".join(f"<li>{esc(line)}</li>" for line in view.retries)
        note += f'<div class="retries">Retries so far: {len(view.retries)}<ul>{items}</ul></div>'

    return (
        f'<section aria-label="Task status" class="status" data-state="{esc(view.state)}">'
        f'<div><span class="state">{esc(word)}</span></div>{note}{bar}'
        f'<div class="timeline">{steps}</div><table>{rows}</table></section>'
    )


def guidance_html(guidance: dict[str, Any] | None) -> str:
    """A card that names the failure, what triggered it, the fix and what was done about retrying."""
    if not guidance:
        return ""
    parts = [
        ("What happened", guidance.get("trigger")),
        ("How to fix it", guidance.get("fix")),
        ("Retrying", guidance.get("retry")),
        ("What the playground did", guidance.get("did")),
    ]
    body = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in parts if v)
    extra = guidance.get("details") or []
    details = "".join(f"<li><code>{esc(line)}</code></li>" for line in extra)
    details_html = f"<ul>{details}</ul>" if details else ""
    css = "guidance " + str(guidance["kind"]) if guidance.get("kind") else "guidance"
    if guidance.get("transient"):
        css = "guidance retrying"
    return (
        f'<section aria-label="Guidance" class="{css}"><h3>{esc(guidance.get("title", "Failure"))}</h3>'
        f"<dl>{body}</dl>{details_html}</section>"
    )


def measured_html(measured: dict[str, Any]) -> str:
    if not measured:
        return ""
    # What the file is, measured on the server: never where the server keeps it (that is the CLI's).
    keys = [("Width × height", "size"), ("Duration", "duration"), ("Frame rate", "fps"), ("File size", "bytes"),
            ("Codec", "codec")]
    units = {"bytes": " bytes"}
    cells = " · ".join(f"{label}: <strong>{esc(measured[key])}{units.get(key, '')}</strong>"
                       for label, key in keys if key in measured)
    return f'<div class="measured" aria-label="Measured output">Measured output — {cells}</div>'
