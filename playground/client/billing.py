"""What runs cost: the quote kept with a run, the bill of a succeeded task, budgets and totals.

The rules are the core's (:mod:`playground.core.quote`, with their sources); this module applies
them to runs and the ledger:

* **The quote at Send** is computed by whoever sends (the UI, ``submit``) before anything is
  sent, passed in :class:`~playground.client.run_state.RunOptions` and stored with the run's row
  (``quote_json``).
* **The bill** is made when the task's answer says SUCCEEDED (before the download: the service
  charges for the task, not for the copy), from ``usage.duration`` (and ``SR``, the resolution
  billed), or from a gateway's own cost field when it reports one (:func:`gateway_cost`). An
  answer with neither (the guide page's gateway format reports no usage) is estimated from the
  result's length plus the quoted input seconds, and says so. Failed and cancelled tasks have no
  bill. It is stored in ``bill_json``.
* **Budgets** (``PLAYGROUND_BUDGET`` per browser per day, ``PLAYGROUND_SERVER_BUDGET`` for the
  whole server) are computed from the ledger every time, so they survive a restart: what was
  billed today, plus the quoted upper bound of runs still in progress (so two quick Sends cannot
  both pass). Sandbox runs never count.

Amounts are compared in one currency at a time: the region's. Days are the server's local days.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from playground.client.files import swap_out
from playground.client.ledger import Ledger, RunRecord
from playground.client.providers import ProviderConfig
from playground.core.contract import task_object
from playground.core.prices import DEFAULT_REGION, PriceTable, load_prices, region_for
from playground.core.profile import Profile, load_profile
from playground.core.quote import Bill, Quote, bill, billed_inputs, finite_number, money, quote, read_usage
from playground.core.request import REQUEST_ADAPTER, VideoRequest
from playground.core.rules import CheckOptions, check
from playground.core.wire import WireFormat, parse

if TYPE_CHECKING:
    from playground.client.api import StatusRead
    from playground.client.run_state import Run

log = logging.getLogger(__name__)
Scope = Literal["browser", "server"]
# Where a gateway may put its own figure for a task's cost (a number, in the region's currency).
_COST_PATHS: tuple[tuple[str, ...], ...] = (
    ("cost",), ("usage", "cost"), ("usage", "total_cost"), ("billing", "cost"), ("data", "cost"),
    ("data", "usage", "cost"),
)


# -- where prices come from -------------------------------------------------------------------


def region_of(provider: ProviderConfig, setting: str) -> str:
    """The price region of a provider: its DashScope host's, else ``PLAYGROUND_DASHSCOPE_REGION``'s,
    else the default (the sandbox prices what DashScope in the configured region would charge)."""
    if provider.kind == "dashscope":
        found = region_for(provider.base_url)
        if found is not None:
            return found
    return region_for(setting) or DEFAULT_REGION


def quote_json(q: Quote, *, sandbox: bool, at: float | None = None) -> dict[str, Any]:
    """A quote as stored with a run and answered by the endpoints: :meth:`Quote.to_json` plus
    the headline and lines people read, and whether it is a sandbox's "would cost"."""
    return {
        **q.to_json(),
        "sandbox": sandbox,
        "headline": q.headline(sandbox=sandbox),
        "lines": q.lines(sandbox=sandbox),
        "quoted_at": time.time() if at is None else at,
    }


def bill_json(b: Bill, *, at: float | None = None) -> dict[str, Any]:
    return {**b.to_json(), "headline": b.headline(), "billed_at": time.time() if at is None else at}


def quote_body(
    body: Mapping[str, Any],
    profile: Profile,
    prices: PriceTable,
    region: str,
    *,
    fmt: WireFormat | None = None,
    media_seconds: Mapping[str, float] | None = None,
) -> Quote | None:
    """The quote of a request in either wire format (or a request-model dict), as ``submit``
    reads it: local files stand in for their URLs, and the billed ones are measured, so their
    quote is exact. None when the request is not valid (the run refuses it anyway)."""
    from playground.client.attach import check_blocking

    swapped, files = swap_out(dict(body))
    options = CheckOptions(allow_oss_urls=True)
    request: VideoRequest | None
    if "input" in swapped:
        parsed = parse(swapped, profile, options=options)
        request = parsed.request if parsed.ok else None
        fmt = fmt or parsed.format
    else:
        verdict = check(swapped, profile, options)
        request = verdict.request if verdict.ok else None
    if request is None:
        return None
    seconds = dict(media_seconds or {})
    placeholders = {f.placeholder: f for f in files}
    for item in billed_inputs(request):
        local = placeholders.get(item.url)
        if local is None or not local.path.is_file():
            continue
        found = check_blocking(local.path, local.kind, profile, (local.kind,))
        if found.info is not None and found.info.duration_s is not None:
            seconds[item.url] = found.info.duration_s
    return quote(request, profile, prices, region, seconds, fmt=fmt or "dashscope")


# -- the bill -----------------------------------------------------------------------------------


def gateway_cost(raw: object) -> float | None:
    """A gateway's own figure for what a task cost, where it reports one (a number >= 0)."""
    for path in _COST_PATHS:
        value: object = raw
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        number = finite_number(value)
        if number is not None and number >= 0:
            return number
    return None


def bill_of(
    raw: Mapping[str, Any] | None,
    usage: Mapping[str, Any] | None,
    request: VideoRequest,
    profile: Profile,
    prices: PriceTable,
    region: str,
    *,
    fmt: WireFormat,
    quoted: Mapping[str, Any] | None = None,
) -> Bill | None:
    """The bill of a SUCCEEDED task from its answer; None when it cannot be told at all."""
    read = read_usage(usage if usage is not None else (raw or {}).get("usage"))
    own = gateway_cost(raw)
    if read is not None:
        return bill(read.duration_s, request, profile, prices, region, fmt=fmt, resolution=read.resolution,
                    gateway_cost=own)
    estimate, note = _estimate(raw, request, profile, prices, region, fmt, quoted)
    if own is not None:
        found = bill(estimate or 0.0, request, profile, prices, region, fmt=fmt, gateway_cost=own)
        return replace(found, notes=(note, *found.notes)) if estimate is not None else found
    if estimate is None:
        return None
    found = bill(estimate, request, profile, prices, region, fmt=fmt)
    return replace(found, source="estimate", notes=(note, *found.notes))


def _estimate(
    raw: Mapping[str, Any] | None, request: VideoRequest, profile: Profile, prices: PriceTable, region: str,
    fmt: WireFormat, quoted: Mapping[str, Any] | None,
) -> tuple[float | None, str]:
    """Billed seconds worked out without ``usage``: the result's length + the quoted input seconds."""
    task = task_object(fmt, raw) or {}
    result = task.get("result") if isinstance(task.get("result"), dict) else {}
    output = finite_number((result or {}).get("duration"))
    q = quoted if quoted is not None else quote(request, profile, prices, region, fmt=fmt).to_json()
    exact_input = q.get("input_seconds_min") == q.get("input_seconds_max")
    given = finite_number(q.get("input_seconds_max")) if exact_input else None
    if output is not None and given is not None:
        return output + given, (f"the answer reports no usage: {output:g} s of output (the result's duration) "
                                f"+ {given:g} s of input (as quoted)")
    billed = finite_number(q.get("billed_seconds_max"))
    if billed is not None and q.get("billed_seconds_min") == q.get("billed_seconds_max"):
        return billed, "the answer reports no usage: the quoted seconds are taken"
    return None, ""


def record_bill(r: Run, read: StatusRead) -> dict[str, Any] | None:
    """Bill a run whose task just SUCCEEDED, into its ledger row; what was stored, or None.

    Never raises: a cost that cannot be worked out must not cost the user their video.
    """
    if not r.recorded:
        return None
    try:
        record = r.ledger.get(r.run_id)
        if record is None or record.bill_json or not record.request_json:
            return None  # a recovered task has no request to price
        request = REQUEST_ADAPTER.validate_json(record.request_json)
        profile = r.options.profile or load_profile()
        prices = r.options.prices or load_prices()
        quoted = json.loads(record.quote_json) if record.quote_json else None
        region = quoted.get("region") if isinstance(quoted, dict) else None
        if not isinstance(region, str) or prices.region(region) is None:
            region = r.options.region or region_of(r.provider, DEFAULT_REGION)
        found = bill_of(read.raw, read.task.usage, request, profile, prices, region, fmt=r.provider.wire,
                        quoted=quoted if isinstance(quoted, dict) else None)
        if found is None:
            return None
        stored = bill_json(found, at=r.now())
        r.ledger.update(r.run_id, bill_json=json.dumps(stored, ensure_ascii=False))
        return stored
    except Exception:  # see the docstring: logged, never raised
        log.exception("billing run %s failed", r.run_id)
        return None


# -- reading what is stored ---------------------------------------------------------------------


def stored(text: str | None) -> dict[str, Any] | None:
    """A stored quote or bill, or None (absent, or unreadable)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def counts(record: RunRecord) -> bool:
    """Whether a run's cost is real money: sandbox runs never count."""
    return record.provider != "sandbox"


def start_of_day(now: float) -> float:
    """The server's local midnight before ``now``."""
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


@dataclass(frozen=True)
class Spend:
    """What has gone on a budget: bills, and the quoted upper bounds of runs still under way."""

    currency: str
    billed: float = 0.0
    held: float = 0.0
    runs: int = 0

    @property
    def total(self) -> float:
        return self.billed + self.held


def spend(records: Iterable[RunRecord], currency: str, since: float) -> Spend:
    """What runs that count spent in ``currency`` since ``since`` (bills), and hold (open quotes)."""
    billed = held = 0.0
    runs = 0
    for record in records:
        if not counts(record):
            continue
        made = stored(record.bill_json)
        if made is not None:
            at = finite_number(made.get("billed_at")) or record.updated_at
            total = finite_number(made.get("total"))
            if made.get("currency") == currency and total is not None and at >= since:
                billed += total
                runs += 1
            continue
        quoted = stored(record.quote_json)
        if record.finished or quoted is None or record.created_at < since:
            continue
        upper = finite_number(quoted.get("total_max"))
        if quoted.get("currency") == currency and upper is not None:
            held += upper
            runs += 1
    return Spend(currency, round(billed, 6), round(held, 6), runs)


@dataclass(frozen=True)
class BudgetRefusal:
    """Why a Send would pass a daily budget: the budget, what is gone, what is left, what it needs."""

    scope: Scope
    limit: float
    spent: Spend
    needs: float | None  # the quote's upper bound; None when the request has no price
    currency: str | None

    @property
    def left(self) -> float:
        return max(0.0, round(self.limit - self.spent.total, 6))

    def who(self) -> str:
        return "this browser" if self.scope == "browser" else "this server (all browsers)"

    def setting(self) -> str:
        return "PLAYGROUND_BUDGET" if self.scope == "browser" else "PLAYGROUND_SERVER_BUDGET"

    def message(self) -> str:
        if self.needs is None or self.currency is None:
            return (f"the daily budget of {self.who()} ({self.setting()}) cannot be kept: the request has no "
                    "price in the price table, so its cost is unknown")
        cur = self.currency
        return (f"this request needs up to {money(self.needs, cur)}, and {self.who()} has "
                f"{money(self.left, cur)} left of its daily budget of {money(self.limit, cur)} ({self.setting()})")

    def facts(self) -> list[str]:
        """What is left and what is gone, one line each (the guidance card's details)."""
        cur = self.currency or self.spent.currency
        lines = [
            f"Left today for {self.who()}: {money(self.left, cur)} of {money(self.limit, cur)} "
            f"({self.setting()}; the day is the server's, it starts at midnight)",
            f"Billed today: {money(self.spent.billed, cur)}; held by runs still under way (their quoted "
            f"upper bound): {money(self.spent.held, cur)}",
        ]
        if self.needs is not None:
            lines.append(f"This request needs up to {money(self.needs, cur)}")
        return lines


def spent_today(
    ledger: Ledger, *, scope: Scope, owner: str, currency: str, now: float | None = None, pending: float = 0.0,
) -> Spend:
    """What has gone on a daily budget today: this browser's runs, or the whole server's.

    ``pending`` is held on top: quotes of Sends that passed but whose runs are not in the ledger yet.
    """
    now = time.time() if now is None else now
    since = start_of_day(now)
    found = spend(ledger.costed(owner if scope == "browser" else None, since=since), currency, since)
    return replace(found, held=round(found.held + pending, 6)) if pending else found


def check_budget(
    q: Quote, ledger: Ledger, *, owner: str, browser_limit: float | None, server_limit: float | None,
    now: float | None = None, pending: Mapping[Scope, float] | None = None,
) -> BudgetRefusal | None:
    """The first daily budget a real (not sandbox) Send of quote ``q`` would pass; None if it fits.

    The caller decides whether a run counts (sandbox runs never do, so they are never checked).
    ``pending`` holds, by scope ("browser", "server"), amounts not in the ledger yet.
    """
    limits: tuple[tuple[Scope, float | None], ...] = (("browser", browser_limit), ("server", server_limit))
    for scope, limit in limits:
        if limit is None:
            continue
        gone = spent_today(ledger, scope=scope, owner=owner, currency=q.currency or "", now=now,
                           pending=(pending or {}).get(scope, 0.0))
        needs = q.total_max
        if needs is None or q.currency is None or gone.total + needs > limit + 1e-9:
            return BudgetRefusal(scope, limit, gone, needs, q.currency)
    return None


@dataclass
class Totals:
    """A browser's costs, by currency: today and overall; sandbox runs apart (what they would cost)."""

    today: dict[str, float] = field(default_factory=dict)
    overall: dict[str, float] = field(default_factory=dict)
    runs_today: int = 0
    runs: int = 0
    sandbox: dict[str, float] = field(default_factory=dict)
    sandbox_runs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"today": self.today, "overall": self.overall, "runs_today": self.runs_today, "runs": self.runs,
                "sandbox_would_cost": self.sandbox, "sandbox_runs": self.sandbox_runs}


def totals(ledger: Ledger, owner: str | None, now: float | None = None) -> Totals:
    """The bills of a browser's runs (every browser's with ``owner`` None), summed by currency."""
    now = time.time() if now is None else now
    since = start_of_day(now)
    result = Totals()
    for record in ledger.costed(owner):
        made = stored(record.bill_json)
        total = finite_number(made.get("total")) if made is not None else None
        currency = made.get("currency") if made is not None else None
        if made is None or total is None or not isinstance(currency, str):
            continue
        if not counts(record):
            result.sandbox[currency] = round(result.sandbox.get(currency, 0.0) + total, 6)
            result.sandbox_runs += 1
            continue
        result.overall[currency] = round(result.overall.get(currency, 0.0) + total, 6)
        result.runs += 1
        if (finite_number(made.get("billed_at")) or record.updated_at) >= since:
            result.today[currency] = round(result.today.get(currency, 0.0) + total, 6)
            result.runs_today += 1
    return result
