"""Concurrent sessions through gradio_client: all finish, none is lost or crosses another."""

from __future__ import annotations

import sqlite3

import pytest

from tests.fixtures_app import RunningApp
from tests.load_sessions import run_sessions

pytestmark = pytest.mark.slow

SESSIONS = 10  # the benchmark runs 50; this keeps the test command's time in check


def test_concurrent_sessions_each_get_their_own_run(playground_app: RunningApp) -> None:
    """Every session's task succeeds and its History shows its run and only its run.

    The app is shared with other test modules, so only this test's runs (by their unique
    prompts) are counted: what other modules left in the ledger does not matter.
    """
    report = run_sessions(playground_app.url + "/", SESSIONS)
    errors = [s.error for s in report.sessions if s.error]
    assert not errors, errors
    assert report.succeeded == SESSIONS, [s.state for s in report.sessions]
    assert report.crossed == 0
    with sqlite3.connect(playground_app.data_dir / "ledger.sqlite3") as db:
        prompts = [row[0] for row in db.execute("SELECT json_extract(request_json, '$.prompt') FROM runs")]
    assert sorted(p for p in prompts if p in {s.prompt for s in report.sessions}) == sorted(
        s.prompt for s in report.sessions), "one ledger row per session, none lost, none doubled"
