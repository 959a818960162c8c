"""HTML for a variations grid (pure functions, no Gradio): every request's wire body, each one's
verdict, and the total quote. Everything shown is escaped.

Each body is shown as ``json.dumps(body, indent=2, ensure_ascii=False)``, the text the tab's
Request JSON shows for a single request, so a variation loaded into the form reads the same.
"""

from __future__ import annotations

import json
from typing import Any

from playground.core.variation_grid import Grid, GridEntry
from playground.ui.views import esc


def body_text(body: dict[str, Any]) -> str:
    """A wire body as the tab's Request JSON shows it."""
    return json.dumps(body, indent=2, ensure_ascii=False)


def message_html(text: str, *, css: str = "bad") -> str:
    """The grid panel when there is no grid: why, with the fix."""
    return (f'<section aria-label="Variations grid" class="var-grid none">'
            f'<div class="verdict {css}" role="alert">{esc(text)}</div></section>')


def quote_line(grid: Grid, sandbox: bool) -> str:
    if grid.quote is None:
        return "Cost: no quote (no valid request in the grid)"
    label = "Cost of the valid requests (sandbox: free)" if sandbox else "Cost of the valid requests"
    return f"{label}: {grid.quote.headline(sandbox=sandbox)}; {grid.quote.price_note}"


def _cell(entry: GridEntry, sandbox: bool) -> str:
    variation = entry.variation
    ok = entry.ok
    badge = "valid" if ok else "invalid: not sent"
    problems = "".join(f"<li>{esc(line)}</li>" for line in entry.problems)
    warnings = "".join(f'<li class="warning">{esc(line)}</li>' for line in entry.warnings)
    notes = f'<ul class="problems">{problems}{warnings}</ul>' if problems or warnings else ""
    body = (f'<pre class="var-body" aria-label="Wire body {variation.index + 1}">{esc(body_text(entry.body))}</pre>'
            if entry.body else '<p class="var-nobody">No wire body: the request is not valid.</p>')
    cost = ""
    if ok and entry.quote is not None:
        cost = f'<div class="var-cost">{esc(entry.quote.headline(sandbox=sandbox))}</div>'
    return (
        f'<article class="var-cell {"ok" if ok else "bad"}" data-index="{variation.index}" '
        f'data-ok="{"true" if ok else "false"}" aria-label="Variation {variation.index + 1}: {esc(variation.label)}">'
        f'<header><strong>{variation.index + 1}</strong> {esc(variation.label)} '
        f'<span class="var-badge">{badge}</span></header>{notes}{cost}{body}</article>'
    )


def grid_html(grid: Grid, *, sandbox: bool, sent: str = "") -> str:
    """The whole grid: a summary (counts, total quote), then one card per request."""
    count, valid, invalid = len(grid.entries), grid.valid, grid.invalid
    summary = f"{count} request{'s' * (count != 1)}: {valid} valid"
    if invalid:
        summary += f", {invalid} invalid (marked; never sent)"
    css = "ok" if not invalid else ("warn" if valid else "bad")
    sent_html = f'<div class="var-sent" role="status">{esc(sent)}</div>' if sent else ""
    cells = "".join(_cell(entry, sandbox) for entry in grid.entries)
    return (
        f'<section aria-label="Variations grid" class="var-grid" data-count="{count}" data-valid="{valid}" '
        f'data-invalid="{invalid}"><div class="verdict {css}"><strong>{esc(summary)}</strong>'
        f'<div class="var-quote">{esc(quote_line(grid, sandbox))}</div></div>{sent_html}'
        f'<div class="var-cells">{cells}</div></section>'
    )


def grid_json(grid: Grid, *, sandbox: bool) -> dict[str, Any]:
    """What ``/variations_preview_<mode>`` answers: the grid, each body as the preview shows it."""
    data = grid.to_json()
    for entry, shown in zip(grid.entries, data["entries"], strict=True):
        shown["body_text"] = body_text(entry.body) if entry.body else None
    data["count"] = len(grid.entries)
    data["sandbox"] = sandbox
    data["headline"] = quote_line(grid, sandbox)
    return data
