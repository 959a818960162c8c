"""HTML for what requests and runs cost (pure functions, no Gradio): the quote panel, a run's cost
under its status and in History's details, History's cost cell and this browser's totals.

Everything shown is escaped. The numbers come from the stored quote and bill objects
(:func:`playground.client.billing.quote_json` and ``bill_json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from playground.client import RunRecord, RunState, Totals, costs_money, stored_cost
from playground.core.quote import money
from playground.ui.views import esc

NO_QUOTE = ('<section aria-label="Cost quote" class="quote none">Cost: the quote appears once the request '
            "is valid.</section>")


def quote_html(data: Mapping[str, Any] | None) -> str:
    """The quote panel beside the Request JSON."""
    if not data or not data.get("valid"):
        return NO_QUOTE
    lines = [str(line) for line in data.get("lines") or []]
    headline, notes = (lines[0], lines[1:]) if lines else (str(data.get("headline", "")), [])
    label = "Cost (sandbox: free)" if data.get("sandbox") else "Cost"
    items = "".join(f"<li>{esc(line)}</li>" for line in notes)
    exact = "true" if data.get("exact") else "false"
    total = data.get("total_max")
    return (
        f'<section aria-label="Cost quote" class="quote" data-exact="{exact}" data-total-max="{esc(total)}">'
        f"<div><strong>{esc(label)}:</strong> <span class=\"headline\">{esc(headline)}</span></div>"
        f"<ul>{items}</ul>{_budget_html(data.get('budget'))}</section>"
    )


def _budget_html(budget: Any) -> str:
    if not isinstance(budget, Mapping):
        return ""
    currency = budget.get("currency") or ""
    parts = []
    for item in budget.get("left") or []:
        who = "this browser" if item.get("scope") == "browser" else "the server"
        left, limit = float(item.get("left") or 0), float(item.get("limit") or 0)
        parts.append(f"{who} {money(left, currency)} of {money(limit, currency)}" if currency else
                     f"{who} {left:g} of {limit:g}")
    text = "Budget left today: " + "; ".join(parts)
    if not budget.get("fits"):
        text += f". Send would be refused: {budget.get('refusal')}"
    css = "budget" if budget.get("fits") else "budget over"
    return f'<div class="{css}" aria-label="Budget">{esc(text)}</div>'


def _amount(data: Mapping[str, Any] | None, key: str) -> str:
    if not data:
        return "—"
    value, currency = data.get(key), data.get("currency")
    if isinstance(value, int | float) and isinstance(currency, str):
        return money(float(value), currency)
    return "—"


def _seconds(data: Mapping[str, Any] | None, *keys: str) -> str:
    values = [data.get(k) for k in keys] if data else []
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    if not numbers:
        return "—"
    lo, hi = min(numbers), max(numbers)
    return f"{lo:g} s" if lo == hi else f"{lo:g}-{hi:g} s"


def differs(quoted: Mapping[str, Any] | None, billed: Mapping[str, Any] | None) -> bool:
    """Whether a bill differs from the quote shown at Send (seconds, resolution or total)."""
    if not quoted or not billed:
        return False
    return (quoted.get("billed_seconds_min") != billed.get("billed_seconds")
            or quoted.get("billed_seconds_max") != billed.get("billed_seconds")
            or quoted.get("resolution") != billed.get("resolution")
            or quoted.get("total_max") != billed.get("total"))


def cost_html(quoted: Mapping[str, Any] | None, billed: Mapping[str, Any] | None, state: str, *, sandbox: bool,
              task: bool = True) -> str:
    """A run's cost under its status: the quote while it runs, then the bill (beside the quote if they differ)."""
    word = RunState.parse(state)
    free = " (sandbox: what DashScope would bill; nothing was charged)" if sandbox else ""
    if word is None or not word.terminal:
        if not quoted:
            return ""
        text = f"Quoted at Send: {quoted.get('headline')}"
        return f'<section aria-label="Run cost" class="cost" data-billed="false">{esc(text)}</section>'
    if billed:
        head = f"Cost: {billed.get('headline')}{free}"
        notes = "".join(f"<li>{esc(n)}</li>" for n in billed.get("notes") or [])
        table = ""
        if differs(quoted, billed):
            assert quoted is not None
            rows = [("billed seconds", _seconds(quoted, "billed_seconds_min", "billed_seconds_max"),
                     _seconds(billed, "billed_seconds")),
                    ("resolution", esc(quoted.get("resolution", "—")), esc(billed.get("resolution", "—"))),
                    ("total", _quoted_total(quoted), _amount(billed, "total"))]
            cells = "".join(f"<tr><th>{k}</th><td>{esc(a)}</td><td>{esc(b)}</td></tr>" for k, a, b in rows)
            table = (f'<table class="quote-vs-bill"><tr><th></th><th>quoted at Send</th><th>billed</th></tr>'
                     f"{cells}</table>")
        total = esc(billed.get("total"))
        return (f'<section aria-label="Run cost" class="cost" data-billed="true" data-total="{total}">'
                f"<div>{esc(head)}</div><ul>{notes}</ul>{table}</section>")
    if word is RunState.SUCCEEDED:
        text = "Cost: the answer reported no usage, so the bill is not known; check your console"
    elif word is RunState.INVALID or not task:
        text = "Not billed: nothing was sent"
    elif word in (RunState.FAILED, RunState.CANCELED, RunState.UNKNOWN, RunState.EXPIRED):
        text = "Not billed: failed and cancelled tasks cost nothing"
    else:
        text = "Not billed yet: the task has not succeeded (it is billed only if it does)"
    if quoted and quoted.get("headline"):
        text += f". Quoted at Send: {quoted.get('headline')}"
    return f'<section aria-label="Run cost" class="cost" data-billed="false">{esc(text)}</section>'


def _quoted_total(quoted: Mapping[str, Any]) -> str:
    lo, hi, currency = quoted.get("total_min"), quoted.get("total_max"), quoted.get("currency")
    if not isinstance(hi, int | float) or not isinstance(currency, str):
        return "—"
    if isinstance(lo, int | float) and lo != hi:
        return f"{money(float(lo), currency)}-{money(float(hi), currency).split(' ', 1)[1]}"
    return money(float(hi), currency)


def cost_cell(record: RunRecord) -> str:
    """A run's cost in one History cell."""
    billed, quoted = stored_cost(record.bill_json), stored_cost(record.quote_json)
    if billed is not None:
        amount = _amount(billed, "total")
        if amount == "—":
            amount = f"{billed.get('billed_seconds')} s, no price"
        return amount if costs_money(record) else f"{amount} (sandbox, not charged)"
    state = RunState.parse(record.state)
    if state is not None and state.terminal:
        return "not billed" if record.task_id else ""
    if quoted is not None and not record.finished:
        return f"≤ {_amount(quoted, 'total_max')} (quoted)"
    return ""


def totals_html(found: Totals, browser_budget: float | None = None, server_budget: float | None = None,
                currency: str | None = None) -> str:
    """This browser's billed total today and overall (sandbox runs apart: they cost nothing)."""

    def sums(by_currency: Mapping[str, float]) -> str:
        return " + ".join(money(v, c) for c, v in sorted(by_currency.items())) or "nothing"

    text = (f"This browser has spent {sums(found.today)} today ({found.runs_today} billed "
            f"run{'s' * (found.runs_today != 1)}) and {sums(found.overall)} in all ({found.runs} "
            f"run{'s' * (found.runs != 1)}).")
    if found.sandbox_runs:
        text += (f" Its {found.sandbox_runs} sandbox run{'s' * (found.sandbox_runs != 1)} cost nothing "
                 f"(DashScope would have billed {sums(found.sandbox)}).")
    def amount(value: float) -> str:
        return money(value, currency) if currency else f"{value:g}"

    if browser_budget is not None:
        text += f" Daily budget per browser: {amount(browser_budget)}."
    if server_budget is not None:
        text += f" Daily budget for the server: {amount(server_budget)}."
    return f'<section aria-label="Cost totals" class="cost-totals measured">{esc(text)}</section>'


def run_cost_html(record: RunRecord | None) -> str:
    """A run's cost in History's details: the bill, beside the quote at Send when they differ."""
    if record is None:
        return ""
    return cost_html(stored_cost(record.quote_json), stored_cost(record.bill_json), record.state,
                     sandbox=not costs_money(record), task=record.task_id is not None)
