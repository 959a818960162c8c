"""What a request costs, in the UI: the quote beside the Request JSON, the budget at Send, the bill
after a run, and this browser's totals in History.

The rules and numbers are the core's (:mod:`playground.core.quote`) and the client's
(:mod:`playground.client.billing`, through the facade); this module only builds the components,
wires them, and writes their HTML (everything shown is escaped).

* ``/quote_<mode>``: the form values (as ``/preview_<mode>`` takes them, plus the base URL, which
  decides a DashScope region) in, :meth:`~playground.core.quote.Quote.to_json` out, plus
  ``valid``, ``sandbox``, ``headline``, ``lines`` and the ``budget`` left (for providers that
  count). Lengths of billed videos attached in this browser are the attach probe's, so their
  quote is exact; other URLs give ranges.
* Send: a request whose quote's upper bound would pass what is left of a daily budget is refused
  before anything is sent, with the ``budget_exceeded`` guidance card; the form is left as it is.
  The quote at Send goes with the run into the ledger.
* ``/history_totals``: this browser's billed total today and overall.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import gradio as gr

from playground.client import (
    BudgetRefusal,
    RunState,
    check_budget,
    cost_totals,
    costs_money,
    quote_record,
    spent_today,
    stored_cost,
)
from playground.core.guidance import load_guidance
from playground.core.prices import DEFAULT_REGION, PriceTable, load_prices, region_for
from playground.core.profile import Mode
from playground.core.quote import Quote, money, quote
from playground.core.request import VideoRequest
from playground.core.rules import CheckOptions, check, duration_rule
from playground.core.wire import WireFormat, path_of
from playground.settings import Provider
from playground.ui import cost_views, runs
from playground.ui.connection import Connection, run_options
from playground.ui.forms import field_names, request_from_form
from playground.ui.services import Services
from playground.ui.views import RunView

Owner = Callable[[Services, "gr.Request | None"], str]
Scope = Literal["browser", "server"]


# -- prices and regions -----------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _load(ref: str | None) -> PriceTable:
    return load_prices(ref)


def prices(services: Services) -> PriceTable:
    """The server's price table (``PLAYGROUND_PRICES``, else the built-in list prices), read once."""
    return _load(services.settings.prices)


def region(services: Services, provider: str, base_url: str | None) -> str:
    """The price region: a DashScope base URL's, else ``PLAYGROUND_DASHSCOPE_REGION``'s, else the default."""
    setting = services.settings.dashscope_region
    if provider == "dashscope" and base_url:
        found = region_for(base_url)
        if found is not None:
            return found
    return region_for(setting) or DEFAULT_REGION


def budgets(services: Services) -> tuple[float | None, float | None]:
    return services.settings.budget, services.settings.server_budget


# -- the quote --------------------------------------------------------------------------------------


def request_of(
    services: Services, mode: Mode, form: Mapping[str, Any], fmt: WireFormat
) -> tuple[VideoRequest | None, list[str]]:
    """The form's request model, or the lines of what makes it invalid."""
    options = CheckOptions(allow_oss_urls=fmt == "dashscope")
    verdict = check(request_from_form(mode, form), services.profile, options)
    if verdict.request is None or not verdict.ok:
        return None, [p.line(path_of(fmt, p.loc)) for p in verdict.problems if p.severity == "error"]
    return verdict.request, []


def quote_of(services: Services, request: VideoRequest, connection: Connection) -> Quote:
    """The quote of a valid request for this connection, with the lengths this browser's attaches measured."""
    where = region(services, connection.provider, connection.base_url)
    lengths = services.uploads.lengths(connection.owner)
    return quote(request, services.profile, prices(services), where, lengths, fmt=connection.wire)


def answer(services: Services, mode: Mode, connection: Connection, form: Mapping[str, Any]) -> dict[str, Any]:
    """What ``/quote_<mode>`` answers: the quote's JSON, and the budget left where one applies."""
    request, problems = request_of(services, mode, form, connection.wire)
    if request is None:
        return {"valid": False, "mode": mode, "problems": problems}
    found = quote_of(services, request, connection)
    sandbox = connection.provider == "sandbox"
    result = quote_record(found, sandbox=sandbox)
    result.pop("quoted_at", None)  # the same form always answers the same object
    result["valid"] = True
    result["budget"] = None if sandbox else budget_state(services, found, connection.owner)
    return result


def budget_state(services: Services, q: Quote, owner: str, now: float | None = None) -> dict[str, Any] | None:
    """What is left of each daily budget that applies, and whether this quote fits."""
    browser, server = budgets(services)
    if browser is None and server is None:
        return None
    ledger = services.ledger()
    pending = _pending_for(owner, q.currency)
    refused = check_budget(q, ledger, owner=owner, browser_limit=browser, server_limit=server, now=now,
                           pending=pending)
    left: list[dict[str, Any]] = []
    scopes: tuple[tuple[Scope, float | None], ...] = (("browser", browser), ("server", server))
    for scope, limit in scopes:
        if limit is None:
            continue
        gone = spent_today(ledger, scope=scope, owner=owner, currency=q.currency or "", now=now,
                           pending=pending[scope])
        left.append({"scope": scope, "limit": limit, "billed": gone.billed, "held": gone.held,
                     "left": max(0.0, round(limit - gone.total, 6))})
    return {"currency": q.currency, "fits": refused is None, "left": left,
            "refusal": refused.message() if refused is not None else None}


# -- Send: the budget, the quote kept with the run, the cost after ----------------------------------

# Quotes of Sends that passed the budget but whose run is not in the ledger yet (it is recorded
# after validation and uploads): they hold their part of the budget meanwhile, so two quick
# Sends cannot both pass. token -> (owner, amount, currency).
_PENDING: dict[int, tuple[str, float, str | None]] = {}
_TOKENS = itertools.count(1)


def _pending_for(owner: str, currency: str | None) -> dict[Scope, float]:
    held = [(who, amount) for who, amount, cur in _PENDING.values() if cur == currency]
    return {"browser": sum(amount for who, amount in held if who == owner),
            "server": sum(amount for _, amount in held)}


async def send(
    services: Services, mode: Mode, slot: tuple[str, str], connection: Connection, body: Mapping[str, Any],
) -> AsyncIterator[tuple[Any, ...]]:
    """Send a request (``runs.follow``) with its quote; refused first if it would pass a daily budget.

    Yields the run panel's outputs, with the cost under the status: the quote while it runs,
    the bill (and the quote beside it when they differ) when it ends.
    """
    verdict = check(dict(body), services.profile, CheckOptions(allow_oss_urls=connection.wire == "dashscope"))
    request = verdict.request if verdict.ok else None
    q = quote_of(services, request, connection) if request is not None else None
    sandbox = connection.provider == "sandbox"
    browser, server = budgets(services)
    token = 0
    if q is not None and not sandbox and (browser is not None or server is not None):
        refused = check_budget(q, services.ledger(), owner=connection.owner, browser_limit=browser,
                               server_limit=server, pending=_pending_for(connection.owner, q.currency))
        if refused is not None:
            view = refusal_view(services, refused, q, request, connection.owner)
            outputs = view.as_outputs()
            yield (outputs[0] + cost_views.cost_html(quote_record(q, sandbox=False), None, view.state, sandbox=False),
                   *outputs[1:])
            return
        token = next(_TOKENS)
        _PENDING[token] = (connection.owner, q.total_max or 0.0, q.currency)
    options = dataclasses.replace(run_options(services), quote=q, prices=prices(services),
                                  region=q.region if q is not None else region(services, connection.provider,
                                                                               connection.base_url))
    quoted = quote_record(q, sandbox=sandbox) if q is not None else None
    try:
        async for view in runs.follow(services, slot, connection, dict(body), options=options):
            if token and view.state not in (RunState.VALIDATING, RunState.UPLOADING):
                _PENDING.pop(token, None)  # the ledger holds it now
            outputs = view.as_outputs()
            yield (outputs[0] + _run_cost(services, slot, view, quoted, sandbox), *outputs[1:])
    finally:
        _PENDING.pop(token, None)


def _run_cost(services: Services, slot: tuple[str, str], view: RunView, quoted: dict[str, Any] | None,
              sandbox: bool) -> str:
    state = RunState.parse(view.state)
    if state is None or not state.terminal:
        return cost_views.cost_html(quoted, None, view.state, sandbox=sandbox)
    run_id = services.board.latest(slot)
    record = services.ledger().get(run_id) if run_id else None
    if record is None or (view.task_id and record.task_id != view.task_id):
        return cost_views.cost_html(quoted, None, view.state, sandbox=sandbox)
    return cost_views.cost_html(stored_cost(record.quote_json) or quoted, stored_cost(record.bill_json), view.state,
                                sandbox=not costs_money(record), task=record.task_id is not None)


def refusal_view(
    services: Services, refused: BudgetRefusal, q: Quote, request: VideoRequest | None, owner: str = ""
) -> RunView:
    """The "not sent" panel of a Send over budget: the guidance card, with what is left and how to lower it."""
    entry = load_guidance().entry("budget_exceeded")
    details = [*refused.facts(), *lower_it(services, q, request, refused.left, owner)]
    reason = refused.message()
    return runs.not_sent_view("budget_exceeded", f"Not sent: {reason}.",
                              trigger=f"{reason[0].upper()}{reason[1:]}. {entry.trigger}", details=details)


def lower_it(services: Services, q: Quote, request: VideoRequest | None, left: float, owner: str = "") -> list[str]:
    """Concrete ways to bring this request within ``left``: 720P, a shorter duration, fewer input seconds."""
    if request is None or q.total_max is None or q.currency is None:
        return []
    table, cur = prices(services), q.currency
    ideas: list[str] = []

    def requote(**changes: Any) -> Quote:
        return quote(request.model_copy(update=changes), services.profile, table, q.region,
                     services.uploads.lengths(owner), fmt=q.format)

    cheapest = min((r for r in services.profile.resolutions if r != q.resolution),
                   key=lambda r: _unit(table, q, r), default=None)
    if cheapest is not None and _unit(table, q, cheapest) < (q.unit_price or 0):
        lower = requote(resolution=cheapest)
        if lower.total_max is not None:
            fits = "fits" if lower.total_max <= left + 1e-9 else "still too much"
            ideas.append(f"At {cheapest}: up to {money(lower.total_max, cur)} ({fits})")
    rules = services.profile.mode(request.mode)
    rule, _ = duration_rule(request, rules)
    current = request.duration if request.duration is not None else rule.default
    for seconds in sorted((v for v in rule.values() if v != rule.keep_source and 0 < v < (current or 99)),
                          reverse=True):
        shorter = requote(duration=seconds)
        if shorter.total_max is not None and shorter.total_max <= left + 1e-9:
            ideas.append(f"At {seconds} s: up to {money(shorter.total_max, cur)} (fits)")
            break
    if q.input_seconds_max > 0:
        ideas.append(f"{q.input_seconds_max:g} s of this request's billed seconds are input video: fewer or "
                     "shorter input videos cost less" + ("" if q.exact else
                                                         "; attaching them measures them (the quote takes "
                                                         "unmeasured ones at the longest allowed)"))
    return ideas


def _unit(table: PriceTable, q: Quote, resolution: str) -> float:
    found = table.region(q.region)
    price = found.price(q.model, resolution) if found is not None else None
    return price if price is not None else float("inf")


# -- Gradio -----------------------------------------------------------------------------------------


@dataclass
class QuotePanel:
    html: gr.HTML
    data: gr.JSON


def build(mode: Mode) -> QuotePanel:
    """The quote panel (laid out beside the Request JSON) and the hidden JSON it is drawn from."""
    shown = gr.HTML(cost_views.NO_QUOTE, padding=False, elem_id=f"{mode}-quote")
    data = gr.JSON(value=None, visible=False)
    return QuotePanel(shown, data)


def _named(fn: Callable[..., Any], name: str, params: list[str]) -> None:
    """Real parameter names for a varargs handler (the last one, the gr.Request, Gradio fills in)."""
    fn.__name__ = name
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = [inspect.Parameter(p, kind) for p in params]
    signature.append(inspect.Parameter("request", kind, annotation=gr.Request))
    fn.__annotations__ = {"request": gr.Request}
    fn.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]


def make_quote(services: Services, mode: Mode, owner_of: Owner) -> Callable[..., dict[str, Any]]:
    names = field_names(mode)

    def quote_request(*args: Any) -> dict[str, Any]:
        provider, wire, base_url = args[:3]
        form = dict(zip(names, args[3:-1], strict=True))
        chosen: Provider = provider if provider in ("sandbox", "dashscope", "gateway") else "sandbox"
        connection = Connection(provider=chosen, wire=services.wire_for(chosen, wire),
                                     base_url=(base_url or "").strip() or None, scenario=None, api_key=None,
                                     owner=owner_of(services, args[-1]))
        return answer(services, mode, connection, form)

    _named(quote_request, f"quote_{mode.replace('-', '_')}", ["provider", "wire", "base_url", *names])
    return quote_request


def wire(demo: gr.Blocks, services: Services, mode: Mode, panel: QuotePanel | None, form: list[Any],
         connection: list[Any], owner_of: Owner, status: gr.HTML | None = None) -> None:
    """``/quote_<mode>``, on the preview's triggers (and the base URL's, which can change the region);
    also when ``status`` (the run's measured-output panel) changes, so the budget left follows a bill."""
    if panel is None:
        return
    prices(services)  # a broken price file stops the server at start-up, not at the first quote
    quote_fn = make_quote(services, mode, owner_of)
    inputs = [*connection[:3], *form]
    triggers = [demo.load] + [c.change for c in form] + [c.change for c in connection[:3]]
    # "always_last", as the preview: with Gradio's default ("once") an edit made while the first
    # paint's quote is still pending is dropped, and the quote stays on the empty form.
    gr.on(triggers, quote_fn, inputs, [panel.data], api_name=f"quote_{mode.replace('-', '_')}", queue=False,
          show_progress="hidden", trigger_mode="always_last")
    if status is not None:
        status.change(quote_fn, inputs, [panel.data], api_visibility="private", queue=False, show_progress="hidden")
    panel.data.change(cost_views.quote_html, [panel.data], [panel.html], api_visibility="private", queue=False,
                      show_progress="hidden")


def build_totals() -> gr.HTML:
    return gr.HTML(padding=False, elem_id="history-cost-totals")


def wire_totals(services: Services, totals: gr.HTML, triggers: Iterable[Any], owner_of: Owner) -> None:
    def history_totals(request: gr.Request) -> str:
        """This browser's billed total today and overall."""
        found = cost_totals(services.ledger(), owner_of(services, request), time.time())
        table = prices(services).region(region(services, services.settings.provider, None))
        return cost_views.totals_html(found, *budgets(services), currency=table.currency if table else None)

    gr.on(list(triggers), history_totals, None, [totals], api_name="history_totals", queue=False,
          show_progress="hidden")
