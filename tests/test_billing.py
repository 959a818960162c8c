"""What runs cost: the ledger's cost columns (and their migration), the bill of a succeeded task,
daily budgets, totals, the cost HTML, and `submit`'s quote, bill and --max-cost."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from playground.cli import main
from playground.client.billing import (
    BudgetRefusal,
    bill_json,
    bill_of,
    check_budget,
    gateway_cost,
    quote_body,
    quote_json,
    spend,
    spent_today,
    start_of_day,
    totals,
)
from playground.client.ledger import Ledger, RunRecord
from playground.client.ledger_location import ledger_path
from playground.core.prices import load_prices
from playground.core.profile import load_profile
from playground.core.quote import Quote, quote
from playground.core.request import REQUEST_ADAPTER, VideoRequest
from playground.media.samples import make_video
from playground.ui import cost_views
from tests.fixtures_client import T2V

PROFILE = load_profile()
PRICES = load_prices()
NOW = time.time()


def request(**fields: Any) -> VideoRequest:
    return REQUEST_ADAPTER.validate_python({"mode": "text-to-video", "prompt": "a fox", **fields})


def q(duration: int = 5, resolution: str = "720P", region: str = "singapore") -> Quote:
    return quote(request(duration=duration, resolution=resolution), PROFILE, PRICES, region)


def row(ledger: Ledger, run_id: str, *, provider: str = "dashscope", session: str = "browser-a",
        billed: float | None = None, currency: str = "USD", quoted: Quote | None = None, finished: int = 1,
        at: float = NOW, state: str = "succeeded") -> None:
    bill = None
    if billed is not None:
        bill = json.dumps({"total": billed, "currency": currency, "billed_seconds": 5, "billed_at": at,
                           "headline": f"billed {billed}"})
    ledger.create(RunRecord(
        run_id=run_id, created_at=at, updated_at=at, provider=provider, wire="dashscope", base_url="http://x",
        state=state, session_id=session, finished=finished, task_id=f"task-{run_id}",
        quote_json=json.dumps(quote_json(quoted, sandbox=provider == "sandbox")) if quoted else None,
        bill_json=bill,
    ))


# -- the ledger ---------------------------------------------------------------------------------------


def test_an_older_ledger_gets_the_cost_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    """A ledger written before quote_json/bill_json existed is migrated in place, any number of times."""
    path = tmp_path / "ledger.sqlite3"
    Ledger(path)
    with sqlite3.connect(path) as db:  # make it look like the version before: no cost columns
        db.execute("ALTER TABLE runs DROP COLUMN quote_json")
        db.execute("ALTER TABLE runs DROP COLUMN bill_json")
        db.execute("INSERT INTO runs (run_id, created_at, updated_at, provider, wire, base_url, state) "
                   "VALUES ('old-run', 1, 1, 'dashscope', 'dashscope', 'http://x', 'succeeded')")
    ledger = Ledger(path)
    Ledger(path)  # a second opener finds them there already
    with sqlite3.connect(path) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
    assert {"quote_json", "bill_json"} <= columns
    old = ledger.get("old-run")
    assert old is not None and old.quote_json is None and old.bill_json is None
    ledger.update("old-run", bill_json='{"total": 1}')
    assert ledger.get("old-run").bill_json == '{"total": 1}'  # type: ignore[union-attr]


def test_costed_lists_bills_and_open_quotes(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    row(ledger, "billed", billed=0.5)
    row(ledger, "open", quoted=q(), finished=0, state="running")
    row(ledger, "failed", quoted=q(), finished=1, state="failed")
    row(ledger, "other-browser", billed=0.2, session="browser-b")
    assert {r.run_id for r in ledger.costed("browser-a")} == {"billed", "open"}
    assert {r.run_id for r in ledger.costed()} == {"billed", "open", "other-browser"}
    assert ledger.costed("browser-a", since=NOW + 10) == []


# -- the bill -----------------------------------------------------------------------------------------


def test_the_bill_reads_usage_duration_and_the_reported_resolution() -> None:
    found = bill_of({}, {"duration": 8, "SR": 1080}, request(duration=8, resolution="720P"), PROFILE, PRICES,
                    "singapore", fmt="dashscope")
    assert found is not None
    assert (found.billed_seconds, found.resolution, found.total, found.source) == (8.0, "1080P", 1.2, "usage.duration")


@pytest.mark.parametrize(("raw", "expected"), [
    ({"cost": 0.33}, 0.33), ({"usage": {"cost": "0.5"}}, 0.5), ({"usage": {"total_cost": 2}}, 2.0),
    ({"data": {"cost": 1.25}}, 1.25), ({"cost": -1}, None), ({"cost": True}, None), ({}, None), (None, None),
])
def test_a_gateways_own_cost_field_is_read(raw: Any, expected: float | None) -> None:
    assert gateway_cost(raw) == expected


def test_a_gateway_answer_without_usage_is_estimated_and_says_so() -> None:
    edit = REQUEST_ADAPTER.validate_python({"mode": "video-edit", "prompt": "snow", "resolution": "720P",
                                            "media": [{"type": "video", "url": "https://e.com/v.mp4"}]})
    quoted = quote(edit, PROFILE, PRICES, "singapore", {"https://e.com/v.mp4": 4.0}, fmt="gateway").to_json()
    raw = {"task_id": "t", "status": "completed", "result": {"duration": 4}}
    found = bill_of(raw, None, edit, PROFILE, PRICES, "singapore", fmt="gateway", quoted=quoted)
    assert found is not None and found.source == "estimate"
    assert found.billed_seconds == 8.0 and found.total == pytest.approx(0.8)
    assert "no usage" in found.notes[0] and "estimated" in found.headline()
    own = bill_of({**raw, "cost": 0.42}, None, edit, PROFILE, PRICES, "singapore", fmt="gateway", quoted=quoted)
    assert own is not None and (own.source, own.total) == ("gateway", 0.42)


def test_no_usage_and_no_exact_quote_is_no_bill() -> None:
    edit = REQUEST_ADAPTER.validate_python({"mode": "video-edit", "prompt": "snow",
                                            "media": [{"type": "video", "url": "https://e.com/v.mp4"}]})
    assert bill_of({"status": "completed"}, None, edit, PROFILE, PRICES, "singapore", fmt="gateway") is None


# -- budgets and totals -------------------------------------------------------------------------------


def test_spend_counts_todays_bills_and_open_quotes_never_the_sandbox(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    day = start_of_day(NOW)
    row(ledger, "today", billed=0.5)
    row(ledger, "yesterday", billed=9.0, at=day - 3600)
    row(ledger, "sandbox", billed=7.0, provider="sandbox")
    row(ledger, "yuan", billed=3.0, currency="CNY")
    row(ledger, "open", quoted=q(duration=2), finished=0, state="running")
    found = spend(ledger.costed("browser-a", since=day), "USD", day)
    assert (found.billed, found.held, found.runs) == (0.5, 0.2, 2)
    assert spent_today(ledger, scope="browser", owner="browser-a", currency="USD", now=NOW, pending=0.1).held == 0.3


@pytest.mark.parametrize(("browser", "server", "refused_by"), [
    (None, None, None), (1.0, None, None), (0.9, None, "browser"), (None, 1.5, "server"), (5.0, 1.0, "server"),
])
def test_check_budget_refuses_what_would_pass_the_first_budget_it_breaks(
    tmp_path: Path, browser: float | None, server: float | None, refused_by: str | None
) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    row(ledger, "mine", billed=0.5)
    row(ledger, "theirs", billed=0.6, session="browser-b")
    ask = q(duration=5)  # USD 0.50
    found = check_budget(ask, ledger, owner="browser-a", browser_limit=browser, server_limit=server, now=NOW)
    assert (found.scope if found else None) == refused_by
    if found is not None:
        assert found.needs == 0.5 and found.left == pytest.approx(max(0.0, found.limit - found.spent.total))
        assert any("Left today" in line for line in found.facts())


def test_pending_sends_hold_budget_and_unpriced_requests_cannot_pass_one(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    ask = q(duration=5)
    assert check_budget(ask, ledger, owner="a", browser_limit=0.6, server_limit=None, now=NOW) is None
    held = check_budget(ask, ledger, owner="a", browser_limit=0.6, server_limit=None, now=NOW,
                        pending={"browser": 0.5, "server": 0.5})
    assert held is not None and held.spent.held == 0.5
    unpriced = quote(request(duration=5, resolution="720P"), PROFILE, PRICES, "nowhere")
    refused = check_budget(unpriced, ledger, owner="a", browser_limit=100.0, server_limit=None, now=NOW)
    assert isinstance(refused, BudgetRefusal) and "no price" in refused.message()


def test_totals_are_by_currency_today_and_overall_with_the_sandbox_apart(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    day = start_of_day(NOW)
    row(ledger, "today", billed=0.5)
    row(ledger, "earlier", billed=1.0, at=day - 86400 * 3)
    row(ledger, "sandbox", billed=0.75, provider="sandbox")
    row(ledger, "someone-else", billed=4.0, session="browser-b")
    found = totals(ledger, "browser-a", NOW)
    assert found.today == {"USD": 0.5} and found.overall == {"USD": 1.5}
    assert (found.runs_today, found.runs, found.sandbox, found.sandbox_runs) == (1, 2, {"USD": 0.75}, 1)
    text = cost_views.totals_html(found, 2.0, currency="USD")
    assert "USD 0.50 today" in text and "USD 1.50 in all" in text and "would have billed USD 0.75" in text
    assert "Daily budget per browser: USD 2.00" in text


# -- what is shown --------------------------------------------------------------------------------------


def test_run_cost_shows_the_bill_and_the_quote_beside_it_when_they_differ() -> None:
    quoted = quote_json(q(duration=5), sandbox=False)
    same = bill_json(bill_of({}, {"duration": 5}, request(duration=5, resolution="720P"), PROFILE, PRICES,
                             "singapore", fmt="dashscope"))  # type: ignore[arg-type]
    other = bill_json(bill_of({}, {"duration": 5, "SR": 1080}, request(duration=5, resolution="720P"), PROFILE,
                              PRICES, "singapore", fmt="dashscope"))  # type: ignore[arg-type]
    plain = cost_views.cost_html(quoted, same, "succeeded", sandbox=False)
    assert "Cost: billed 5 s × USD 0.10/s (720P) = USD 0.50" in plain and "quote-vs-bill" not in plain
    beside = cost_views.cost_html(quoted, other, "succeeded", sandbox=False)
    assert "quote-vs-bill" in beside and "USD 0.75" in beside and "USD 0.50" in beside
    assert "nothing was charged" in cost_views.cost_html(quoted, same, "succeeded", sandbox=True)
    assert "Not billed: failed and cancelled tasks cost nothing" in cost_views.cost_html(quoted, None, "failed",
                                                                                         sandbox=False)
    assert "Quoted at Send" in cost_views.cost_html(quoted, None, "running", sandbox=False)
    assert cost_views.quote_html({"valid": False}) == cost_views.NO_QUOTE


def test_a_history_cell_per_kind_of_run() -> None:
    def record(**fields: Any) -> RunRecord:
        base: dict[str, Any] = {"run_id": "r", "created_at": NOW, "updated_at": NOW, "provider": "dashscope",
                                "wire": "dashscope", "base_url": "http://x", "state": "succeeded",
                                "task_id": "t", "finished": 1}
        return RunRecord(**{**base, **fields})

    billed = json.dumps({"total": 0.5, "currency": "USD"})
    assert cost_views.cost_cell(record(bill_json=billed)) == "USD 0.50"
    assert cost_views.cost_cell(record(bill_json=billed, provider="sandbox")) == "USD 0.50 (sandbox, not charged)"
    assert cost_views.cost_cell(record(state="failed")) == "not billed"
    quoted = json.dumps(quote_json(q(duration=5), sandbox=False))
    assert cost_views.cost_cell(record(state="running", finished=0, quote_json=quoted)) == "≤ USD 0.50 (quoted)"


def test_quote_body_measures_local_billed_videos(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", 320, 240, 3.0)
    body = {"model": "wan2.7-videoedit", "input": {"prompt": "snow", "media": [{"type": "video", "url": str(clip)}]},
            "parameters": {"resolution": "720P"}}
    found = quote_body(body, PROFILE, PRICES, "beijing")
    assert found is not None and found.exact and found.billed_seconds_max == pytest.approx(6.0, abs=0.1)
    assert found.currency == "CNY"
    assert quote_body({"model": "wan2.7-t2v", "input": {}}, PROFILE, PRICES, "singapore") is None


# -- `submit` -----------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_backoff: None) -> Path:
    import os

    for name in list(os.environ):
        if name.startswith(("PLAYGROUND_", "DASHSCOPE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PLAYGROUND_SANDBOX_DELAY_SCALE", "0.02")
    path = tmp_path / "t2v.json"
    path.write_text(json.dumps(T2V))  # gateway format, 2 s at 720P
    return path


def test_submit_prints_the_quote_first_and_the_bill_before_the_video(
    cli_env: Path, sandbox_base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["submit", str(cli_env), "--base-url", sandbox_base, "--wait", "--max-cost", "0.20"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert lines[0] == "quote: would cost 2 s × USD 0.10/s (720P) = USD 0.20 on DashScope (Singapore)"
    assert lines[-2] == ("cost: billed 2 s × USD 0.10/s (720P) = USD 0.20 "
                         "(sandbox: what DashScope would bill; nothing was charged)")
    assert Path(lines[-1]).is_file()
    stored = Ledger(ledger_path(cli_env.parent / "data")).runs()[0]
    assert json.loads(stored.quote_json or "{}")["total_max"] == 0.2
    assert json.loads(stored.bill_json or "{}")["total"] == 0.2


def test_max_cost_refuses_before_anything_is_sent(cli_env: Path, sandbox_base: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["submit", str(cli_env), "--base-url", sandbox_base, "--wait", "--max-cost", "0.19"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.startswith("quote: would cost 2 s")
    assert "error: --max-cost USD 0.19: this request may cost up to USD 0.20; nothing was sent" in err
    assert "720P" in err
    assert Ledger(ledger_path(cli_env.parent / "data")).runs() == []


@pytest.mark.parametrize("amount", ["x", "-1", "nan"])
def test_max_cost_must_be_an_amount(cli_env: Path, amount: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["submit", str(cli_env), "--max-cost", amount])
    assert stopped.value.code == 2
    assert "--max-cost" in capsys.readouterr().err


def test_a_failed_task_costs_nothing(cli_env: Path, sandbox_base: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["submit", str(cli_env), "--base-url", sandbox_base, "--wait", "--rehearse", "task_failed"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 4
    assert "cost: nothing billed (failed and cancelled tasks cost nothing)" in lines
    assert Ledger(ledger_path(cli_env.parent / "data")).runs()[0].bill_json is None
