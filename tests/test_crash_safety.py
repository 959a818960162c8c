"""Crash safety: SIGKILL in the middle of heavy ledger writes, and in the middle of a download.

Both halves kill real processes with ``kill -9`` (nothing gets to clean up) and then check what a
restart finds: a ledger that opens, passes SQLite's integrity check and still holds every run
committed before the kill, and unfinished runs that resume to a playable video without a second
task. Nothing here asserts on elapsed time; the waits are bounds on waiting, not measurements.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from playground.client.ledger import Ledger, RunRecord, this_owner
from playground.client.ledger_location import ledger_path
from tests.fixtures_client import T2V
from tests.fixtures_servers import asyncio_server
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _clean_env() -> dict[str, str]:
    """The environment for child processes, without any playground or provider settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PLAYGROUND_", "DASHSCOPE_"))}


# -- (a) kill -9 during heavy ledger writes ---------------------------------------------------
#
# Each run goes through the same six writes a real run makes (row, then state changes with
# their columns, one plain update). The hammer process appends "<run id> <write index>" to its
# own acknowledgement file after each write has committed, so after a kill every acknowledged
# write must be in the ledger, and at most one more (committed, not yet acknowledged) per thread.

HAMMER_THREADS = 2
KILLS = 8


def _blob(run_id: str, poll: int) -> str:
    # A few KiB per answer, so pages fill, the WAL grows and checkpoints run during the kills.
    filler = hashlib.sha256(f"{run_id}/{poll}".encode()).hexdigest() * 64
    return json.dumps({"output": {"task_id": f"task-{run_id}", "task_status": "RUNNING", "poll": poll,
                                  "filler": filler}})


def _writes(run_id: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    """The writes of one run, in order: (operation, state, columns)."""
    return [
        ("create", "submitting", {"wire_body": json.dumps({"model": "wan2.7-t2v", "run": run_id})}),
        ("event", "queued", {"task_id": f"task-{run_id}", "submit_request_id": f"req-{run_id}"}),
        ("event", "running", {"poll_count": 1, "last_response": _blob(run_id, 1)}),
        ("update", None, {"poll_count": 2, "last_response": _blob(run_id, 2)}),
        ("event", "downloading", {"result_url": f"http://cdn.invalid/{run_id}.mp4"}),
        ("event", "succeeded", {"result_path": f"/runs/{run_id}/video.mp4", "finished": 1}),
    ]


CHECKED = ("state", "wire_body", "task_id", "submit_request_id", "poll_count", "last_response", "result_url",
           "result_path", "finished")


def _expected(run_id: str, done: int) -> tuple[dict[str, Any], list[str]]:
    """The row's checked columns and the event states once the first ``done`` writes committed."""
    row: dict[str, Any] = {name: None for name in CHECKED} | {"poll_count": 0, "finished": 0}
    states: list[str] = []
    for _, state, columns in _writes(run_id)[:done]:
        row |= columns
        if state is not None:
            row["state"] = state
            states.append(state)
    return row, states


def hammer(path: str, round_no: int, acks_dir: str) -> None:
    """Write runs to the ledger as fast as it goes, from several threads, until killed."""
    ledger = Ledger(Path(path))

    def work(thread_no: int) -> None:
        with (Path(acks_dir) / f"acks-{round_no}-{thread_no}.txt").open("a", buffering=1) as acks:
            n = 0
            while True:
                run_id = f"r{round_no}t{thread_no}n{n}"
                for index, (op, state, columns) in enumerate(_writes(run_id)):
                    now = time.time()
                    if op == "create":
                        ledger.create(RunRecord(
                            run_id=run_id, created_at=now, updated_at=now, provider="sandbox", wire="dashscope",
                            base_url="http://127.0.0.1:9/sandbox", state=str(state), owner=this_owner(),
                            heartbeat_at=now, **columns,
                        ))
                    elif op == "event":
                        ledger.event(run_id, str(state), at=now, detail=f"write {index}", **columns)
                    else:
                        ledger.update(run_id, **columns)
                    acks.write(f"{run_id} {index}\n")
                n += 1

    threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(HAMMER_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _acknowledged(acks_dir: Path) -> dict[str, int]:
    """Run id -> how many of its writes the hammer acknowledged (complete lines only)."""
    done: dict[str, int] = {}
    for file in acks_dir.glob("acks-*.txt"):
        text = file.read_text()
        lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
        for line in lines:
            run_id, index = line.split()
            done[run_id] = max(done.get(run_id, 0), int(index) + 1)
    return done


def _ledger_contents(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        rows = {r["run_id"]: {name: r[name] for name in CHECKED} for r in db.execute("SELECT * FROM runs")}
        events: dict[str, list[str]] = {}
        for run_id, state in db.execute("SELECT run_id, state FROM events ORDER BY id"):
            events.setdefault(run_id, []).append(state)
    return rows, events


def _check_after_kill(path: Path, acks_dir: Path) -> tuple[int, int]:
    """The ledger opens, is intact, and holds every acknowledged write; (runs, unfinished)."""
    ledger = Ledger(path)  # what a restart does first: open it (schema, WAL mode)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    rows, events = _ledger_contents(path)
    acked = _acknowledged(acks_dir)
    missing = sorted(set(acked) - set(rows))
    assert not missing, f"acknowledged runs lost: {missing[:5]}"
    total = len(_writes("x"))
    open_runs: set[str] = set()
    for run_id, row in rows.items():
        # Which prefix of the run's writes is in the file: it must be exactly one of them (no
        # torn transaction: a state change and its columns land together or not at all).
        found = [n for n in range(1, total + 1) if _expected(run_id, n) == (row, events.get(run_id, []))]
        assert found, f"{run_id} matches no committed prefix: {row['state']} {events.get(run_id)}"
        done = found[0]
        # Every acknowledged write is there; at most one more was committed and not yet acknowledged.
        assert acked.get(run_id, 0) <= done <= acked.get(run_id, 0) + 1, (run_id, acked.get(run_id), done)
        if done < total:
            open_runs.add(run_id)
    # The runs cut short are exactly the ones a restart would resume, and it can take them over
    # (their writer is dead).
    assert {r.run_id for r in ledger.unfinished()} == open_runs
    assert all(ledger.claim(run_id) for run_id in open_runs)
    return len(rows), len(open_runs)


def test_kill_9_during_heavy_ledger_writes_loses_nothing_committed(tmp_path: Path) -> None:
    """Several SIGKILLs at random moments of a write storm: the file is intact every time."""
    path = tmp_path / "ledger.db"
    acks_dir = tmp_path / "acks"
    acks_dir.mkdir()
    Ledger(path)
    rng = random.Random(20240607)  # fixed seed: the kill moments vary, the test is repeatable
    reader = Ledger(path)
    last_total = 0
    for round_no in range(KILLS):
        code = f"from tests.test_crash_safety import hammer; hammer({str(path)!r}, {round_no}, {str(acks_dir)!r})"
        child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=_clean_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            def wrote(r: int = round_no) -> bool:
                return any(f.stat().st_size for f in acks_dir.glob(f"acks-{r}-*.txt"))

            wait_until(wrote, "the hammer's first committed write", interval_s=0.02)
            # Readers keep reading while it writes, as the History tab does during a run.
            end = time.monotonic() + rng.uniform(0.05, 0.6)
            while time.monotonic() < end:
                reader.runs(limit=5)
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        total, _ = _check_after_kill(path, acks_dir)
        assert total > last_total, "the hammer wrote something in every round"
        last_total = total


# -- (b) kill -9 during a download ------------------------------------------------------------


@dataclass
class SlowProxy:
    """A TCP proxy in front of the sandbox that stalls result downloads while ``hold`` is set.

    One request per connection (it asks the sandbox to close after each answer), so each
    request's first line tells what it is. The sandbox builds result URLs from the Host header,
    which stays the proxy's, so downloads come through here too.
    """

    url: str = ""
    hold: threading.Event = field(default_factory=threading.Event)
    requests: list[str] = field(default_factory=list)
    result_bytes: int = 0

    def count(self, method: str, fragment: str) -> int:
        return sum(1 for line in self.requests if line.startswith(method) and fragment in line)


# Bytes of a result that pass before the proxy stalls: headers and the start of the video.
_TRICKLE = 16 * 1024


@contextlib.contextmanager
def slow_proxy(upstream: str) -> Iterator[SlowProxy]:
    host, port = upstream.removeprefix("http://").split(":")
    box = SlowProxy()

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, result: bool = False) -> None:
        with contextlib.suppress(Exception):
            while data := await src.read(4096):
                if result:
                    # The test flips ``hold`` from its own thread, so this loop looks rather than awaits.
                    while box.hold.is_set() and box.result_bytes >= _TRICKLE:  # noqa: ASYNC110
                        await asyncio.sleep(0.02)
                    box.result_bytes += len(data)
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(Exception):
            dst.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        box.requests.append(lines[0])
        kept = [ln for ln in lines[1:] if ln and not ln.lower().startswith("connection:")]
        up_writer.write("\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1"))
        is_result = lines[0].startswith("GET") and "/files/results/" in lines[0]
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer, result=is_result))

    with asyncio_server(handle, name="slow-proxy") as url:
        box.url = url
        try:
            yield box
        finally:
            box.hold.clear()


def _kill_mid_download(command: list[str], proxy: SlowProxy, ledger: Ledger, run_folder: Callable[[], Path | None],
                       ) -> None:
    """Start ``command``, wait until it is stuck part way through the download, SIGKILL it."""
    proxy.result_bytes = 0
    proxy.hold.set()
    child = subprocess.Popen(command, cwd=ROOT, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        def downloading() -> bool:
            rows = ledger.unfinished() if ledger.path.exists() else []
            folder = run_folder()
            return (bool(rows) and rows[0].state == "downloading" and proxy.result_bytes >= _TRICKLE
                    and folder is not None and (folder / ".video.mp4.part").exists())

        wait_until(downloading, "the download to be under way", interval_s=0.02)
        assert child.poll() is None
        child.send_signal(signal.SIGKILL)
        output, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, output


def test_kill_9_during_a_download_then_resume_finishes_it(start_sandbox: Callable[..., str], tmp_path: Path) -> None:
    """`submit --wait` and then `submit --resume` are both killed mid-download; a last
    `submit --resume` delivers a playable video, the task having been created once."""
    from playground.media.probe import probe

    root = start_sandbox()
    data = tmp_path / "data"
    out = data / "runs"
    request = tmp_path / "t2v.json"
    request.write_text(json.dumps(T2V))
    ledger = Ledger(ledger_path(data))  # the one ledger the CLI writes

    def run_folder() -> Path | None:
        rows = ledger.unfinished() if ledger.path.exists() else []
        return out / rows[0].run_id if rows else None

    with slow_proxy(root) as proxy:
        command = [sys.executable, "-m", "playground", "submit", "--provider", "sandbox", "--data-dir", str(data)]
        _kill_mid_download([*command, str(request), "--base-url", f"{proxy.url}/sandbox", "--wait"], proxy, ledger,
                           run_folder)
        (crashed,) = ledger.unfinished()
        folder = out / crashed.run_id
        assert crashed.state == "downloading" and crashed.task_id and crashed.result_url
        assert crashed.result_url.startswith(proxy.url), "the download went through the stalling proxy"
        # Killed part way: the bytes so far sit under the temporary name, never the final one.
        assert (folder / ".video.mp4.part").exists() and not (folder / "video.mp4").exists()

        # The resume is killed too, at the same point; the ledger still says where things stand.
        _kill_mid_download([*command, "--resume"], proxy, ledger, run_folder)
        (again,) = ledger.unfinished()
        assert (again.run_id, again.state, again.task_id) == (crashed.run_id, "downloading", crashed.task_id)
        assert not (folder / "video.mp4").exists()

        proxy.hold.clear()
        finished = subprocess.run([*command, "--resume"], cwd=ROOT, env=_clean_env(), capture_output=True, text=True,
                                  timeout=120)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        creates = proxy.count("POST", "video-synthesis")
        # Each process started the download over (the resumes went straight to it, no new task).
        assert proxy.count("GET", "/files/results/") == 3

    video = Path(finished.stdout.strip().splitlines()[-1])
    assert video == folder / "video.mp4"
    info = probe(video)
    assert info.kind == "video" and (info.width, info.height) == (1280, 720) and info.duration_s
    assert sorted(p.name for p in folder.iterdir()) == ["video.mp4"], "no partial file is left behind"
    done = ledger.get(crashed.run_id)
    assert done is not None and done.state == "succeeded" and done.finished and done.result_path == str(video)
    assert done.task_id == crashed.task_id and ledger.unfinished() == []
    # Created once: one create went through the proxy, and the sandbox knows one task.
    assert creates == 1
    listing = httpx.get(f"{root}/sandbox/api/v1/tasks", headers={"Authorization": "Bearer sk-sandbox"}, timeout=10)
    assert listing.json()["total"] == 1 and listing.json()["data"][0]["task_id"] == crashed.task_id
