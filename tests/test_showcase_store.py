"""The showcase store: stars per browser in order, shares with expiry and revocation, and the
signed capability tokens that name a share."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from playground.client import (
    Ledger,
    ShowcaseStore,
    active_share_for_token,
    ledger_path,
    open_ledger,
    open_showcase,
    share_id_of,
    share_url,
)
from playground.core.signing import sign

SECRET = b"s" * 32
NOW = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> ShowcaseStore:
    return open_showcase(tmp_path)


def test_lives_in_the_ledgers_file_beside_its_tables(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    store = open_showcase(tmp_path)
    assert store.path == ledger.path == ledger_path(tmp_path)
    store.star("b1", "run-1")
    with sqlite3.connect(ledger.path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "events", "stars", "shares"} <= tables
    Ledger(ledger.path)  # the ledger still opens with the store's tables in its file
    assert ShowcaseStore(ledger.path).starred("b1") == ["run-1"]


def test_stars_are_per_browser_in_order_and_idempotent(store: ShowcaseStore) -> None:
    for run_id in ("a", "b", "c"):
        store.star("b1", run_id)
    store.star("b1", "a")  # starring again keeps its place
    store.star("b2", "z")
    assert store.starred("b1") == ["a", "b", "c"]
    assert store.starred("b2") == ["z"]
    assert store.is_starred("b1", "b") and not store.is_starred("b2", "b")
    assert store.unstar("b1", "b") is True and store.unstar("b1", "b") is False
    assert store.unstar("b2", "a") is False, "one browser cannot unstar another's run"
    assert store.starred("b1") == ["a", "c"]
    store.star("b1", "d")
    assert store.starred("b1") == ["a", "c", "d"]


def test_reorder_moves_named_runs_first_and_ignores_others(store: ShowcaseStore) -> None:
    for run_id in ("a", "b", "c", "d"):
        store.star("b1", run_id)
    store.star("b2", "x")
    assert store.reorder("b1", ["c", "a", "x", "c"]) == ["c", "a", "b", "d"]
    assert store.starred("b1") == ["c", "a", "b", "d"]
    assert store.starred("b2") == ["x"], "another browser's run is neither moved nor starred"
    assert not store.is_starred("b1", "x")


def test_share_expires_and_revokes_only_for_its_owner(store: ShowcaseStore) -> None:
    share = store.share("b1", ["r1", "r2", "r1"], ttl_s=3600, now=NOW)
    assert share.run_ids == ("r1", "r2") and share.expires_at == NOW + 3600
    assert store.active_share(share.share_id, now=NOW + 10) == share
    assert store.active_share(share.share_id, now=NOW + 3600) is None, "expired at its expiry"
    assert store.revoke("b2", share.share_id) is False, "another browser cannot revoke it"
    assert store.active_share(share.share_id, now=NOW + 10) is not None
    assert store.revoke("b1", share.share_id, now=NOW + 20) is True
    assert store.revoke("b1", share.share_id) is False, "revoked once"
    assert store.active_share(share.share_id, now=NOW + 30) is None
    listed = store.shares("b1")
    assert [s.share_id for s in listed] == [share.share_id] and listed[0].revoked_at == NOW + 20
    assert store.shares("b2") == []
    assert store.active_share("no-such-share", now=NOW) is None


@pytest.mark.parametrize(("run_ids", "ttl", "field"), [([], 60, "run_ids"), (["r"] * 1 + [str(i) for i in range(300)],
                                                                              60, "run_ids"), (["r"], 0, "ttl_s")])
def test_bad_share_requests_name_the_field(store: ShowcaseStore, run_ids: list[str], ttl: float, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        store.share("b1", run_ids, ttl_s=ttl, now=NOW)
    assert store.shares("b1") == []


def test_share_tokens_are_signed_expiring_and_checked_against_the_store(store: ShowcaseStore) -> None:
    share = store.share("b1", ["r1"], ttl_s=60, now=NOW)
    path = share_url(SECRET, share)
    assert path.startswith("/share/")
    token = path.removeprefix("/share/")
    assert share_id_of(SECRET, token, now=NOW) == share.share_id, "the token names the share, not owner or runs"
    assert active_share_for_token(store, SECRET, token, now=NOW) == share
    # Attacks: another secret, another purpose, a changed expiry, a past expiry, junk.
    body, expiry, mac = token.split(".")
    forged = [
        share_url(b"x" * 32, share).removeprefix("/share/"),
        sign(SECRET, "run-media", share.share_id, expires_at=int(share.expires_at)),
        f"{body}.{int(expiry) + 3600}.{mac}",
        f"{body}.0.{mac}",
        "../../server-secret.key",
        "",
    ]
    for bad in forged:
        assert active_share_for_token(store, SECRET, bad, now=NOW) is None, bad
    assert active_share_for_token(store, SECRET, token, now=NOW + 60) is None, "expired"
    store.revoke("b1", share.share_id)
    assert share_id_of(SECRET, token, now=NOW) == share.share_id, "the signature alone still holds"
    assert active_share_for_token(store, SECRET, token, now=NOW) is None, "but the store says revoked"
