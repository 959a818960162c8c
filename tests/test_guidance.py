"""The guidance table: complete, coherent, looked up right, and the source of the retry policy."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playground.core.guidance import Guidance, RetryPolicy, load_guidance, parse_guidance

G = load_guidance()


def test_table_loads_and_ids_are_unique() -> None:
    """The shipped JSON validates, and every id is unique."""
    ids = [e.id for e in G.entries]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 30


def test_every_entry_says_what_happened_how_to_fix_and_what_was_done() -> None:
    """No entry has an empty part."""
    for e in G.entries:
        assert e.title and e.trigger and e.fix and e.did, e.id
        assert e.did_text(attempts=2, waits="1.0 s", request_id="r-1", lookup="x", waited="5 s", cancel="c")


def test_a_table_missing_a_required_entry_is_refused() -> None:
    """The loader insists on the entries the client looks up by id."""
    raw = json.loads(resources.files("playground.core").joinpath("guidance.json").read_text("utf-8"))
    raw["entries"] = [e for e in raw["entries"] if e["id"] != "outcome_unknown"]
    with pytest.raises(ValueError, match="outcome_unknown"):
        parse_guidance(raw)


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        # The guide page's own table (gateway format).
        (400, "invalid_request_error", "missing field", "bad_request"),
        (401, "authentication_error", "bad key", "auth"),
        (429, "rate_limit_exceeded", "slow down", "rate_limited"),
        (500, "internal_error", "oops", "server_error"),
        # DashScope's codes.
        (400, "InvalidParameter", "duration must be 2-15", "bad_request"),
        (400, "BadRequest.EmptyInput", "input missing", "bad_request"),
        (400, "DataInspectionFailed", "flagged", "content_rejected"),
        (400, "InvalidURL", "cannot download", "invalid_url"),
        (400, "Arrearage", "account", "billing"),
        (401, "InvalidApiKey", "Invalid API-key provided.", "auth"),
        (403, "AccessDenied.Unpurchased", "no access", "access_denied"),
        (403, "AccessDenied", "current user api does not support synchronous calls", "sync_call_refused"),
        (429, "Throttling.RateQuota", "rate", "rate_limited"),
        (429, "Throttling.AllocationQuota", "quota", "quota_exceeded"),
        (500, "InternalError.Algo", "boom", "server_error"),
        (503, "ServiceUnavailable", "busy", "service_unavailable"),
        # The sandbox's gateway codes.
        (400, "invalid_parameter", "x", "bad_request"),
        (401, "invalid_api_key", "x", "auth"),
        (404, "task_not_found", "x", "not_found"),
        (429, "rate_limited", "x", "rate_limited"),
        (403, "insufficient_user_quota", "x", "billing"),
        # The FAQ: the wrong endpoint, in either shape, whatever the status.
        (500, "invalid_api_type", "invalid api type: -1", "wrong_endpoint"),
        (400, None, "invalid apitype: -1", "wrong_endpoint"),
        (400, "InvalidParameter", "url error, please check url!", "dashscope_url_error"),
        # A 404 "InvalidURL" is a wrong path, not an unreachable media URL.
        (404, "InvalidURL", "no such endpoint", "not_found"),
        # Unknown codes fall back by status, then by class.
        (400, "SomethingNew", "x", "bad_request"),
        (418, "teapot", "x", "client_error"),
        (599, "weird", "x", "server_failure"),
    ],
)
def test_refusals_are_looked_up_most_specific_first(status: int, code: str | None, message: str, expected: str) -> None:
    """Message, then code with status, then status, then class."""
    assert expected == G.for_refusal(status, code, message).id


def test_a_5xx_without_a_provider_body_is_a_proxy_answer() -> None:
    """An HTML or empty 502/504 is a proxy's, so a create may have reached the provider."""
    entry = G.for_refusal(502, None, "an HTML page", has_provider_error=False)
    assert entry.id == "proxy_no_answer"
    assert entry.retry.on_create == "outcome_unknown"
    assert G.for_refusal(500, None, "JSON without a code").id == "server_error"


def test_an_unreadable_answer_is_its_own_entry() -> None:
    """Status 0 stands for an answer that could not be read at all."""
    assert G.for_refusal(0).id == "unexpected_response"


@pytest.mark.parametrize(
    ("state", "code", "expected"),
    [
        ("failed", "DataInspectionFailed", "task_content_rejected"),
        ("failed", "InvalidParameter.DataInspection", "task_content_rejected"),
        ("failed", "InvalidParameter", "task_invalid_input"),
        ("failed", None, "task_failed"),
        ("failed", "SomethingElse", "task_failed"),
        ("unknown", None, "task_unknown"),
        ("canceled", "canceled", "task_canceled"),
        ("expired", None, "result_expired"),
    ],
)
def test_task_failures_are_looked_up_by_code_then_state(state: str, code: str | None, expected: str) -> None:
    """Task-level codes win over the state."""
    assert expected == G.for_task(state, code).id


@pytest.mark.parametrize(("kind", "expected"), [("connect", "connect_failed"), ("timeout", "read_timeout"),
                                                ("dropped", "read_timeout")])
def test_transport_failures(kind: str, expected: str) -> None:
    """No connection is safe to retry; a lost answer is not, for a create."""
    entry = G.for_transport(kind)  # type: ignore[arg-type]
    assert expected == entry.id
    assert ("retry" if kind == "connect" else "outcome_unknown") == entry.retry.on_create


def test_the_guide_pages_policy_is_what_the_table_says() -> None:
    """400/401/403 never retried; 429 exponential with jitter and Retry-After; 500 retried 2-3 times."""
    for status, code in ((400, "invalid_request_error"), (401, "authentication_error"), (403, "AccessDenied")):
        assert not G.for_refusal(status, code).retry.retry
    limited = G.for_refusal(429, "rate_limit_exceeded").retry
    assert limited.backoff == "exponential" and limited.jitter > 0 and limited.honour_retry_after
    assert limited.planned_waits() == [1.0, 2.0, 4.0]
    server = G.for_refusal(500, "internal_error").retry
    assert 2 <= server.max_attempts - 1 <= 3


def test_no_4xx_other_than_408_and_429_is_ever_retried() -> None:
    """A refused payload, key or permission is never retried blindly."""
    for e in G.entries:
        statuses = set(e.match.status) | ({400, 404, 422} if e.match.status_class == 4 else set())
        if statuses and all(400 <= s < 500 and s not in (408, 429) for s in statuses):
            assert not e.retry.retry, e.id


def test_create_is_never_resent_when_the_answer_was_lost() -> None:
    """Every retried entry that cannot prove 'no task started' says outcome_unknown for a create."""
    for entry_id in ("read_timeout", "proxy_no_answer", "unexpected_response", "request_timeout"):
        policy = G.entry(entry_id).retry
        assert policy.on_create == "outcome_unknown"
        assert not policy.allows(1, is_create=True)


def test_summary_is_written_from_the_numbers() -> None:
    """The retry sentence a user reads names the waits the client uses."""
    text = G.entry("rate_limited").retry.summary()
    assert "4 attempts" in text and "1 s / 2 s / 4 s" in text and "Retry-After" in text
    assert "no automatic retry" in G.entry("bad_request").retry.summary()
    assert "not sent again" in G.entry("read_timeout").retry.summary()


def test_lines_show_all_five_parts() -> None:
    """What happened, how to fix it, retry, and what was done."""
    lines = G.entry("server_error").lines(attempts=3, waits="1.0 s, 2.0 s", request_id="req-9")
    assert lines[0].startswith("Server error")
    assert any("req-9" in line for line in lines)
    assert any(line.startswith("Retry:") for line in lines)


def test_a_missing_fact_reads_as_unknown() -> None:
    """A template never crashes on a fact the caller did not have."""
    assert "(unknown)" in G.entry("server_error").did_text()


def test_retry_after_wins_and_too_long_means_give_up() -> None:
    """A server-directed wait replaces the backoff; one beyond the cap ends the retries."""
    policy = G.entry("rate_limited").retry
    assert policy.delay_s(1, retry_after_s=3.0) == 3.0
    assert policy.delay_s(1, retry_after_s=policy.retry_after_cap_s + 1) is None


def test_policy_rules_are_validated() -> None:
    """A retried entry needs attempts; 'retry on create' needs retry."""
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(retry=True, max_attempts=1)
    with pytest.raises(ValueError, match="on_create"):
        RetryPolicy(retry=False, on_create="retry")


@given(
    retry_number=st.integers(min_value=1, max_value=10),
    rand=st.floats(min_value=0, max_value=0.999),
    entry=st.sampled_from([e for e in G.entries if e.retry.retry]),
)
def test_backoff_stays_within_cap_plus_jitter(retry_number: int, rand: float, entry: object) -> None:
    """Exponential waits grow but never pass the cap plus the jitter."""
    policy = entry.retry  # type: ignore[attr-defined]
    wait = policy.delay_s(retry_number, None, rand)
    assert wait is not None
    assert 0 <= wait <= policy.cap_s + policy.jitter


def test_guidance_is_a_frozen_model() -> None:
    """The table cannot be changed at run time by accident."""
    assert isinstance(G, Guidance)
    with pytest.raises(ValueError, match="frozen"):
        G.entries = ()  # type: ignore[misc]
