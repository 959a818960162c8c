"""One ledger per data directory: the CLI, the UI and the server see each other's runs, and the
CLI's old ``ledger.db`` is merged in (nothing lost, nothing doubled) the first time one starts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from playground.client import (
    LEDGER_FILE,
    Ledger,
    ProviderConfig,
    RunRecord,
    RunState,
    ledger_path,
    open_ledger,
    run,
)
from playground.client.ledger_location import merge_legacy
from playground.core.profile import load_profile
from playground.settings import Settings
from tests.fixtures_client import FAST, T2V, new_key

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("no_backoff")


def _env(data: Path, **extra: str) -> dict[str, str]:
    """A child's environment: no settings of the caller's, this data dir, short sandbox delays."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYGROUND_", "DASHSCOPE_"))}
    return {**env, "PLAYGROUND_DATA_DIR": str(data), "PLAYGROUND_SANDBOX_DELAY_SCALE": "0.02", **extra}


def _submit(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playground", "submit", "--data-dir", str(data), *args],
                          cwd=ROOT, env=_env(data, **env), capture_output=True, text=True, timeout=180)


def _record(run_id: str, *, state: str = "succeeded", updated: float = 1000.0, **columns: Any) -> RunRecord:
    return RunRecord(run_id=run_id, created_at=1000.0, updated_at=updated, provider="sandbox", wire="dashscope",
                     base_url="http://127.0.0.1:9/sandbox", state=state, finished=1, **columns)


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT run_id, at, state, detail FROM events ORDER BY run_id, id").fetchall()


# -- the merge ---------------------------------------------------------------------------------


def test_an_old_ledger_db_is_merged_once_with_nothing_lost_or_doubled(tmp_path: Path) -> None:
    old = Ledger(tmp_path / "ledger.db")
    old.create(_record("run-old-only", task_id="task-1"))
    old.event("run-old-only", "succeeded", at=1001.0, detail="video saved")
    old.create(_record("run-in-both", state="queued", updated=1000.0))
    old.create(_record("run-newer-in-old", state="queued", updated=1000.0))
    old.event("run-newer-in-old", "stalled", at=2000.0, detail="gave up for now", finished=0)
    current = Ledger(ledger_path(tmp_path))
    current.create(_record("run-current", state="running"))
    current.create(_record("run-in-both", state="queued", updated=1000.0))
    current.event("run-in-both", "succeeded", at=3000.0, detail="finished here")
    current.create(_record("run-newer-in-old", state="queued", updated=1000.0))
    old_events = _rows(tmp_path / "ledger.db")

    ledger = open_ledger(tmp_path)

    assert ledger.path == tmp_path / LEDGER_FILE
    assert not (tmp_path / "ledger.db").exists() and (tmp_path / "ledger.db.merged").is_file()
    runs = {r.run_id: r for r in ledger.runs()}
    assert sorted(runs) == ["run-current", "run-in-both", "run-newer-in-old", "run-old-only"]
    # A row both files hold keeps its newer version, whichever file that was in.
    assert runs["run-in-both"].state == "succeeded" and runs["run-newer-in-old"].state == "stalled"
    assert runs["run-old-only"].task_id == "task-1" and ledger.find_task("task-1") is not None
    merged = _rows(ledger.path)
    assert set(old_events) <= set(merged), "every event of the old file is kept"
    assert len(merged) == len(set(merged)), "an event both files held is there once"
    assert [e.detail for e in ledger.events("run-old-only")] == ["run recorded", "video saved"], "in their order"

    # The old file is set aside: opening again merges nothing more; and merging the same file
    # once more (a copy put back by hand) adds nothing either.
    assert _rows(open_ledger(tmp_path).path) == merged
    shutil.copy(tmp_path / "ledger.db.merged", tmp_path / "ledger.db")
    again = merge_legacy(tmp_path / "ledger.db", ledger)
    assert again is not None and (again.runs, again.events) == (0, 0)
    assert again.kept_as == tmp_path / "ledger.db.merged.1"
    assert _rows(ledger.path) == merged


def test_a_file_that_is_not_a_ledger_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "ledger.db").write_bytes(b"not a database at all" * 100)
    ledger = open_ledger(tmp_path)
    assert ledger.runs() == []
    assert (tmp_path / "ledger.db").read_bytes().startswith(b"not a database"), "evidence is not touched"


# -- the CLI, the UI and the server share it ------------------------------------------------------


def test_a_cli_run_is_in_the_servers_ledger_and_an_old_ledger_is_merged_at_server_start(tmp_path: Path) -> None:
    """`submit` with the embedded sandbox, as a separate process; then the server, started on the
    same data directory, serves that run's video through its ledger (a signed /media link), and
    also the video of a run that only the old ``ledger.db`` knew."""
    from playground.sandbox import serve_in_thread
    from playground.server import create_app, server_secret
    from playground.web.media import media_url
    from tests.fixtures_servers import free_port

    data = tmp_path / "data"
    request = tmp_path / "t2v.json"
    request.write_text(json.dumps(T2V))
    done = _submit(data, str(request))
    assert done.returncode == 0, done.stdout + done.stderr
    video = Path(done.stdout.strip().splitlines()[-1])
    (cli_run,) = Ledger(ledger_path(data)).runs()
    assert cli_run.state == "succeeded" and cli_run.result_path == str(video)
    assert not (data / "ledger.db").exists(), "the CLI writes the one ledger, not a second"

    old_video = data / "old-runs" / "video.mp4"
    old_video.parent.mkdir()
    shutil.copy(video, old_video)
    Ledger(data / "ledger.db").create(_record("run-from-an-old-cli", result_path=str(old_video)))

    port = free_port()
    settings = Settings(data_dir=data, port=port, sandbox_delay_scale=0.02)
    with serve_in_thread(create_app(settings), port=port) as root:
        secret = server_secret(data)
        for run_id, expected in ((cli_run.run_id, video), ("run-from-an-old-cli", old_video)):
            answer = httpx.get(root + media_url(secret, run_id), timeout=30)
            assert answer.status_code == 200, (run_id, answer.text)
            assert answer.content == expected.read_bytes()
    assert (data / "ledger.db.merged").is_file() and not (data / "ledger.db").exists()


def test_a_ui_run_is_resumed_and_recovered_from_the_cli(sandbox_base: str, tmp_path: Path) -> None:
    """Runs the UI's way (its Services' ledger and run options), left unfinished as a server
    stop leaves them; `submit --resume` and `submit --recover TASK_ID` finish them from the
    same ledger, following the task the UI created instead of creating another."""
    from playground.ui.runs import run_options
    from playground.ui.services import Services

    data = tmp_path / "data"
    key = new_key()
    settings = Settings(data_dir=data, provider="gateway", gateway_api_key=key)
    services = Services(settings, load_profile(), f"{sandbox_base}", data)
    provider = ProviderConfig(kind="gateway", wire="gateway", base_url=f"{sandbox_base}/v1", api_key=key)
    options = dataclasses.replace(run_options(services), schedule=FAST)

    async def left_queued(session: str) -> tuple[str, str]:
        stream = run(T2V, provider, services.ledger(), services.runs_dir, session_id=session, options=options)
        async for event in stream:
            if event.state is RunState.QUEUED:
                await stream.aclose()  # the server stopped: the run stays in the ledger, unfinished
                assert event.task_id
                return event.run_id, event.task_id
        raise AssertionError("the run never reached the provider")

    resumed_id, _ = asyncio.run(left_queued("browser-a"))
    recovered_id, recovered_task = asyncio.run(left_queued("browser-b"))
    assert {r.run_id for r in services.ledger().unfinished()} == {resumed_id, recovered_id}

    cli_env = {"PLAYGROUND_GATEWAY_API_KEY": key.get_secret_value()}
    done = _submit(data, "--resume", resumed_id, **cli_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert Path(done.stdout.strip().splitlines()[-1]).is_file()
    done = _submit(data, "--provider", "gateway", "--base-url", f"{sandbox_base}/v1", "--recover", recovered_task,
                   **cli_env)
    assert done.returncode == 0, done.stdout + done.stderr

    ledger = services.ledger()
    runs = {r.run_id: r for r in ledger.runs()}
    assert set(runs) == {resumed_id, recovered_id}, "the CLI followed the UI's runs, it made none of its own"
    for run_id, session in ((resumed_id, "browser-a"), (recovered_id, "browser-b")):
        assert runs[run_id].state == "succeeded" and runs[run_id].finished
        assert runs[run_id].session_id == session, "still in that browser's History"
