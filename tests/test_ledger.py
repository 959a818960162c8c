"""The run ledger: WAL, history, claims across processes, no key, and a real crash mid-poll."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from playground.client.ledger import STALE_AFTER_S, Ledger, RunRecord, this_owner
from playground.client.ledger_location import ledger_path
from playground.client.runner import run
from tests.fixtures_client import T2V, collect, options, sandbox_provider
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]


def record(run_id: str = "run-1", **kw: object) -> RunRecord:
    values: dict[str, object] = {"run_id": run_id, "created_at": 100.0, "updated_at": 100.0, "provider": "sandbox",
                                 "wire": "dashscope", "base_url": "http://127.0.0.1:1/sandbox", "state": "submitting"}
    values.update(kw)
    return RunRecord(**values)  # type: ignore[arg-type]


def ledger_files(folder: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in folder.glob("l.db*")]


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    """Readers never block the poller's writes."""
    Ledger(tmp_path / "l.db")
    with sqlite3.connect(tmp_path / "l.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_events_record_every_state_with_its_time(tmp_path: Path) -> None:
    """create + event + update keep the row and the history in step."""
    ledger = Ledger(tmp_path / "l.db")
    ledger.create(record(session_id="browser-a"))
    ledger.event("run-1", "queued", at=101.0, detail="created", request_id="r-1", task_id="t-1")
    ledger.update("run-1", poll_count=3)
    row = ledger.get("run-1")
    assert row is not None and (row.state, row.task_id, row.poll_count) == ("queued", "t-1", 3)
    assert [(e.state, e.at) for e in ledger.events("run-1")] == [("submitting", 100.0), ("queued", 101.0)]
    assert ledger.events("run-1")[-1].request_id == "r-1"
    assert [row.run_id] == [r.run_id for r in ledger.runs("browser-a")] and ledger.runs("browser-b") == []
    assert row == ledger.find_task("t-1")


def test_unknown_columns_are_refused(tmp_path: Path) -> None:
    """A typo cannot write a column that does not exist."""
    ledger = Ledger(tmp_path / "l.db")
    ledger.create(record())
    with pytest.raises(KeyError, match="api_key"):
        ledger.update("run-1", api_key="sk-nope")


def test_unfinished_lists_only_open_runs(tmp_path: Path) -> None:
    """Finished runs drop out; order is oldest first."""
    ledger = Ledger(tmp_path / "l.db")
    ledger.create(record("a", created_at=2.0))
    ledger.create(record("b", created_at=1.0))
    ledger.create(record("c", created_at=3.0, finished=1))
    assert [r.run_id for r in ledger.unfinished()] == ["b", "a"]


def test_a_live_owner_keeps_its_run_and_a_dead_one_loses_it(tmp_path: Path) -> None:
    """Claims: this process, a dead pid on this host, and a stale heartbeat elsewhere."""
    ledger = Ledger(tmp_path / "l.db")
    ledger.create(record(owner=this_owner(), heartbeat_at=time.time()))
    assert ledger.claim("run-1", "otherhost:1") is False
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = this_owner().rpartition(":")[0]
    ledger.update("run-1", owner=f"{host}:{dead.stdout.strip()}")
    assert ledger.claim("run-1")
    ledger.update("run-1", owner="otherhost:1", heartbeat_at=time.time() - STALE_AFTER_S - 1)
    assert ledger.claim("run-1")
    ledger.release("run-1")
    assert ledger.get("run-1") is not None and ledger.get("run-1").owner is None  # type: ignore[union-attr]


def test_cancel_requests_only_touch_open_runs(tmp_path: Path) -> None:
    """A finished run cannot be flagged."""
    ledger = Ledger(tmp_path / "l.db")
    ledger.create(record("open"))
    ledger.create(record("done", finished=1))
    assert ledger.request_cancel("open") and not ledger.request_cancel("done")


async def test_the_key_is_never_written(sandbox_base: str, tmp_path: Path) -> None:
    """After a full run, neither the database nor its WAL holds the key's bytes."""
    provider = sandbox_provider(sandbox_base, "gateway")
    ledger = Ledger(tmp_path / "l.db")
    events = await collect(run(T2V, provider, ledger, tmp_path / "out", options=options()))
    assert events[-1].state == "succeeded"
    key = provider.api_key.get_secret_value().encode() if provider.api_key else b"?"
    for name, content in ledger_files(tmp_path):
        assert key not in content, name
    row = ledger.get(events[-1].run_id)
    assert row is not None and row.wire_body and row.last_response and row.submit_request_id and row.media_json
    assert json.loads(row.media_json)["kind"] == "video"


@pytest.mark.slow
def test_a_killed_process_is_finished_from_the_ledger(start_sandbox: Callable[..., str], tmp_path: Path) -> None:
    """SIGKILL a real `submit --wait` mid-poll; `submit --resume` finishes the same task, nothing lost."""
    root = start_sandbox(delay_scale=0.06)  # the slow scenario then queues ~2.7 s and runs ~2.3 s
    base = f"{root}/sandbox"
    data = tmp_path / "data"
    request = tmp_path / "t2v.json"
    request.write_text(json.dumps(T2V))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYGROUND_", "DASHSCOPE_"))}
    command = [sys.executable, "-m", "playground", "submit", "--provider", "sandbox", "--base-url", base,
               "--data-dir", str(data)]
    first = subprocess.Popen([*command, str(request), "--wait", "--rehearse", "slow"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert first.stdout is not None
        seen: list[str] = []
        for line in first.stdout:
            seen.append(line)
            if "] queued" in line:
                break
        ledger = Ledger(ledger_path(data))  # the one ledger the CLI writes

        def polled() -> bool:
            rows = ledger.unfinished()
            return bool(rows) and rows[0].poll_count >= 1

        wait_until(polled, "the first poll")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL, "".join(seen)
    (crashed,) = ledger.unfinished()
    assert crashed.task_id and crashed.state in ("queued", "running") and crashed.poll_count >= 1

    second = subprocess.run([*command, "--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    video = Path(second.stdout.strip().splitlines()[-1])
    assert video.is_file() and video.parent.name == crashed.run_id

    done = ledger.get(crashed.run_id)
    assert done is not None and done.state == "succeeded" and done.finished and done.task_id == crashed.task_id
    history = [e.state for e in ledger.events(crashed.run_id)]
    assert history[:2] == ["submitting", "queued"] and history[-2:] == ["downloading", "succeeded"]
    assert ledger.unfinished() == []
    # Exactly one task exists: the resume followed the old one instead of submitting again.
    listing = httpx.get(f"{base}/api/v1/tasks", headers={"Authorization": "Bearer sk-sandbox"}, timeout=10).json()
    assert listing["total"] == 1 and crashed.task_id == listing["data"][0]["task_id"]
