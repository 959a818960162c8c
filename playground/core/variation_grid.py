"""A variations grid judged: each request's wire body, its problems, its quote, and the total.

Every request of the grid goes through :func:`playground.core.rules.check`, exactly as a single
request does, and becomes its wire body through :mod:`playground.core.wire`; an invalid one keeps
its field messages (and is never sent). The grid itself is made by
:func:`playground.core.variations.expand`.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.core.prices import PriceTable
from playground.core.profile import Mode, Profile
from playground.core.quote import Quote, money, quote
from playground.core.rules import CheckOptions, check
from playground.core.variations import Axis, Variation, expand
from playground.core.wire import WireFormat, path_of, to_wire


@dataclass
class GridEntry:
    """A variation judged: its wire body (empty when invalid), its error and warning lines."""

    variation: Variation
    body: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    quote: Quote | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.variation.index,
            "label": self.variation.label,
            "values": dict(self.variation.values),
            "ok": self.ok,
            "body": self.body,
            "problems": self.problems,
            "warnings": self.warnings,
            "quote": self.quote.to_json() if self.quote is not None else None,
        }


@dataclass(frozen=True)
class GridQuote:
    """The total cost of a grid's valid requests (seconds always; money when every one is priced)."""

    count: int
    billed_seconds_min: float
    billed_seconds_max: float
    currency: str | None
    total_min: float | None
    total_max: float | None
    exact: bool
    price_note: str

    def headline(self, *, sandbox: bool = False) -> str:
        seconds = _range(self.billed_seconds_min, self.billed_seconds_max, " s")
        if self.total_min is None or self.total_max is None or self.currency is None:
            text = f"{seconds} billed in all, no price known"
        else:
            total = money(self.total_min, self.currency)
            if self.total_max != self.total_min:
                total += f"-{money(self.total_max, self.currency).split(' ', 1)[1]}"
            text = f"{seconds} billed in all = {total}"
        return f"{self.count} requests: {'would cost ' if sandbox else ''}{text}"

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "billed_seconds_min": self.billed_seconds_min,
            "billed_seconds_max": self.billed_seconds_max,
            "currency": self.currency,
            "total_min": self.total_min,
            "total_max": self.total_max,
            "exact": self.exact,
            "price_note": self.price_note,
        }


@dataclass
class Grid:
    """Every variation judged, and the total quote of the valid ones (None when not priced)."""

    mode: Mode
    axes: tuple[Axis, ...]
    entries: list[GridEntry]
    quote: GridQuote | None = None

    @property
    def valid(self) -> int:
        return sum(1 for e in self.entries if e.ok)

    @property
    def invalid(self) -> int:
        return len(self.entries) - self.valid

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "axes": [{"field": a.field, "values": list(a.values)} for a in self.axes],
            "valid": self.valid,
            "invalid": self.invalid,
            "entries": [e.to_json() for e in self.entries],
            "quote": self.quote.to_json() if self.quote is not None else None,
        }


def preview(
    mode: Mode,
    base: Mapping[str, Any],
    axes: Sequence[Axis],
    profile: Profile,
    wire: WireFormat,
    *,
    limit: int,
    prices: PriceTable | None = None,
    region: str | None = None,
    media_seconds: Mapping[str, float] | None = None,
    options: CheckOptions | None = None,
) -> Grid:
    """The grid judged: each request checked like a single one, its wire body, its quote (when
    ``prices`` and ``region`` are given) and the total of the valid ones."""
    entries = [
        judge_variation(v, profile, wire, prices=prices, region=region, media_seconds=media_seconds, options=options)
        for v in expand({**base, "mode": mode}, axes, limit=limit)
    ]
    return Grid(mode, tuple(axes), entries, total_quote(entries, prices))


def judge_variation(
    variation: Variation,
    profile: Profile,
    wire: WireFormat,
    *,
    prices: PriceTable | None = None,
    region: str | None = None,
    media_seconds: Mapping[str, float] | None = None,
    options: CheckOptions | None = None,
) -> GridEntry:
    """One variation through the same rules as a single request."""
    verdict = check(variation.request, profile, options)
    lines = [(p.severity, p.line(path_of(wire, p.loc))) for p in verdict.problems]
    errors = [text for severity, text in lines if severity == "error"]
    warnings = [text for severity, text in lines if severity == "warning"]
    if not verdict.ok or verdict.request is None:
        return GridEntry(variation, {}, errors or ["(body): not a valid request; check the base request"], warnings)
    cost = None
    if prices is not None and region is not None:
        cost = quote(verdict.request, profile, prices, region, media_seconds, fmt=wire)
    return GridEntry(variation, to_wire(wire, verdict.request, profile), [], warnings, cost)


def total_quote(entries: Sequence[GridEntry], prices: PriceTable | None) -> GridQuote | None:
    """The sum over the valid, quoted entries; money only when all share one priced currency."""
    quotes = [e.quote for e in entries if e.ok and e.quote is not None]
    if not quotes or prices is None:
        return None
    currencies = {q.currency for q in quotes}
    priced = all(q.priced for q in quotes) and len(currencies) == 1
    return GridQuote(
        count=len(quotes),
        billed_seconds_min=round(sum(q.billed_seconds_min for q in quotes), 3),
        billed_seconds_max=round(sum(q.billed_seconds_max for q in quotes), 3),
        currency=quotes[0].currency if priced else None,
        total_min=round(sum(q.total_min or 0.0 for q in quotes), 6) if priced else None,
        total_max=round(sum(q.total_max or 0.0 for q in quotes), 6) if priced else None,
        exact=all(q.exact for q in quotes),
        price_note=quotes[0].price_note,
    )


def _range(lo: float, hi: float, unit: str) -> str:
    return f"{round(lo, 2):g}{unit}" if lo == hi else f"{round(lo, 2):g}-{round(hi, 2):g}{unit}"
