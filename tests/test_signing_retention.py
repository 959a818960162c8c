"""Signed values (cookies, media links, sandbox keys) and the retention sweep, as units."""

from __future__ import annotations

import os
from pathlib import Path

from playground.core.signing import (
    browser_id,
    browser_token,
    is_sandbox_key,
    sandbox_key,
    sign,
    verify,
)
from playground.web.retention import prune

SECRET = b"s" * 32
OTHER = b"o" * 32


def test_a_signed_value_round_trips_only_for_its_purpose_and_secret() -> None:
    token = sign(SECRET, "run-media", "run-1", expires_at=2000)
    assert verify(SECRET, "run-media", token, now=1000) == "run-1"
    assert verify(SECRET, "browser", token, now=1000) is None
    assert verify(OTHER, "run-media", token, now=1000) is None
    assert verify(SECRET, "run-media", token, now=2000) is None  # expired
    body, expiry, mac = token.split(".")
    assert verify(SECRET, "run-media", f"{body}.9999.{mac}", now=1000) is None  # a longer life is a forgery
    assert verify(SECRET, "run-media", f"{sign(SECRET, 'x', 'run-2').split('.')[0]}.{expiry}.{mac}", now=1) is None
    for junk in ("", ".", "a.b.c", "a" * 5000, None):
        assert verify(SECRET, "run-media", junk, now=1) is None


def test_browser_ids_are_alphanumeric_and_unforgeable() -> None:
    token = browser_token(SECRET, "abc123")
    assert browser_id(SECRET, token, now=0) == "abc123"
    assert browser_id(SECRET, browser_token(SECRET, "../etc"), now=0) is None
    assert browser_id(OTHER, token, now=0) is None


def test_sandbox_keys_are_per_owner_and_recognised_only_when_issued() -> None:
    a, b = sandbox_key(SECRET, "browser-a"), sandbox_key(SECRET, "browser-b")
    assert a != b and a == sandbox_key(SECRET, "browser-a")
    assert is_sandbox_key(SECRET, a) and is_sandbox_key(SECRET, b)
    assert not is_sandbox_key(OTHER, a)
    assert not is_sandbox_key(SECRET, "sk-sandbox")
    assert not is_sandbox_key(SECRET, a[:-1] + ("0" if a[-1] != "0" else "1"))


def test_prune_removes_only_what_is_older_than_the_period(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    old_run, new_run = runs / "run-old", runs / "run-new"
    for folder in (old_run, new_run):
        folder.mkdir(parents=True)
        (folder / "video.mp4").write_bytes(b"x")
    old_zip = tmp_path / "bundles" / "old.zip"
    old_zip.parent.mkdir()
    old_zip.write_bytes(b"z")
    now = 1_000_000_000.0
    for path in (old_run / "video.mp4", old_run, old_zip):
        os.utime(path, (now - 10 * 86400, now - 10 * 86400))
    removed = prune([runs, tmp_path / "bundles", tmp_path / "missing"], max_age_s=7 * 86400, now=now)
    assert removed == 2
    assert not old_run.exists() and not old_zip.exists()
    assert new_run.exists()
