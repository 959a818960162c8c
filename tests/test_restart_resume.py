"""A run in flight when the server stops is not cancelled: the restarted server finishes it."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.fixtures_app import gradio_client, start_app, stop_app
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def ledger_row(data_dir: Path) -> tuple[str, str | None, int]:
    with sqlite3.connect(data_dir / "ledger.sqlite3") as db:
        row = db.execute("SELECT state, task_id, finished FROM runs ORDER BY created_at DESC LIMIT 1").fetchone()
    return row if row else ("", None, 0)


def test_restart_mid_run_resumes_it(tmp_path: Path) -> None:
    app = start_app(tmp_path, delay_scale=0.1)
    restarted = None
    try:
        client = gradio_client(app.url)
        job = client.submit("sandbox", "dashscope", "", "slow", "Through a restart", None, 2, "720P", "16:9", 1,
                            True, True, False, "", api_name="/send_text_to_video")
        deadline = time.monotonic() + 60
        while ledger_row(tmp_path)[1] is None and time.monotonic() < deadline:
            time.sleep(0.2)
        state, task_id, finished = ledger_row(tmp_path)
        assert task_id and not finished, state
        job.cancel()
        client.close()
        port = int(app.url.rsplit(":", 1)[1])
        stop_app(app)
        state, same_task, finished = ledger_row(tmp_path)
        assert same_task == task_id and not finished, f"the shutdown ended the run: {state}"
        restarted = start_app(tmp_path, delay_scale=0.1, port=port)
        deadline = time.monotonic() + 120
        while ledger_row(tmp_path)[0] != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.5)
        state, final_task, finished = ledger_row(tmp_path)
        assert (state, final_task, finished) == ("succeeded", task_id, 1), restarted.logs()[-2000:]
        assert "resumed 1 unfinished run" in restarted.logs()
    finally:
        stop_app(restarted or app)


def test_a_stopped_playground_leaves_no_staging_folder_behind(tmp_path: Path) -> None:
    """Every start stages videos for Gradio in a private temp folder; a stop removes it, so
    restarts (and test runs) do not pile folders up in the temp directory."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    app = start_app(tmp_path / "data", extra_env={"TMPDIR": str(temp)})
    try:
        staged = wait_until(lambda: list(temp.glob("wan27-handout-*")), "the app's staging folder", timeout_s=30)
        assert len(staged) == 1 and staged[0].is_dir()
    finally:
        stop_app(app)
    assert not list(temp.glob("wan27-handout-*")), "the staging folder outlived the app"
