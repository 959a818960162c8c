"""Tasks outlive the sandbox process: a restart on the same data dir loses nothing.

A finished task reads the same after a restart (status, times, video); a task that was queued
or running carries on and completes with its id, submit time and geometry; a cancelled task
stays cancelled; expired tasks are gone from disk too. The last test kills a real
``python -m playground sandbox`` process with SIGKILL mid-render.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from playground.media.probe import probe
from playground.media.samples import make_image
from playground.sandbox import serve_in_thread, standalone_app
from playground.sandbox.records import FILE_NAME
from tests.fixtures_sandbox import (
    MovableClock,
    auth,
    dashscope_headers,
    download,
    sandbox_config,
    upload,
    wait_dashscope,
    wait_gateway,
)
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"
GENERATIONS = "/v1/videos/generations"
# Delay scale 100 makes a task queue for 300 s: it is certainly still queued when we stop.
HOLD = 100.0


@contextlib.contextmanager
def sandbox_on(data_dir: Path, **overrides: Any) -> Iterator[str]:
    """A sandbox on a given data dir, stopped (gracefully) when the block ends; yields its base URL."""
    with serve_in_thread(standalone_app(sandbox_config(data_dir, **overrides))) as root:
        yield f"{root}/sandbox"


def t2v_dashscope(prompt: str, **parameters: Any) -> dict[str, Any]:
    return {"model": "wan2.7-t2v", "input": {"prompt": prompt},
            "parameters": {"resolution": "720P", "duration": 2, **parameters}}


def t2v_gateway(prompt: str, **extra: Any) -> dict[str, Any]:
    return {"model": "wan-2-7-video", "mode": "text-to-video",
            "input": {"prompt": prompt, "resolution": "720P", "duration": 2, **extra}}


def submit_dashscope(client: httpx.Client, base: str, body: dict[str, Any], scenario: str | None = None) -> str:
    answer = client.post(base + CREATE, json=body, headers=dashscope_headers(scenario=scenario))
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["output"]["task_id"]
    return task_id


def submit_gateway(client: httpx.Client, base: str, body: dict[str, Any], scenario: str | None = None) -> str:
    answer = client.post(base + GENERATIONS, json=body, headers=auth(scenario=scenario))
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["task_id"]
    return task_id


def read_dashscope(client: httpx.Client, base: str, task_id: str) -> dict[str, Any]:
    output: dict[str, Any] = client.get(f"{base}/api/v1/tasks/{task_id}", headers=auth()).json()["output"]
    return output


def read_gateway(client: httpx.Client, base: str, task_id: str) -> dict[str, Any]:
    answer = client.get(f"{base}{GENERATIONS}/{task_id}", headers=auth())
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def without_host(body: dict[str, Any]) -> dict[str, Any]:
    """A task body with its URLs reduced to their paths: a restarted sandbox may have a new port."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        if isinstance(value, str):
            return re.sub(r"^https?://[^/]+", "", value)
        return value

    return {k: strip(v) for k, v in body.items() if k != "request_id"}


def stored_ids(data_dir: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(data_dir / "sandbox" / FILE_NAME)) as db:
        return {row[0] for row in db.execute("SELECT task_id FROM tasks")}


def test_finished_and_queued_tasks_survive_restarts(client: httpx.Client, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    tall = make_image(tmp_path / "tall.png", 480, 854, seed=9)

    # 1. Tasks that finish, one per format.
    with sandbox_on(data_dir, delay_scale=0.0) as base:
        done_ds = submit_dashscope(client, base, t2v_dashscope("finished dashscope", seed=5))
        done_gw = submit_gateway(client, base, t2v_gateway("finished gateway", aspect_ratio="9:16"))
        finished_ds = wait_dashscope(client, base, done_ds)
        finished_gw = wait_gateway(client, base, done_gw)
        assert finished_ds["output"]["task_status"] == "SUCCEEDED"
        assert finished_gw["status"] == "completed"

    # 2. Restarted with delays so long that new tasks stay queued; then stopped under them.
    with sandbox_on(data_dir, delay_scale=HOLD) as base:
        assert without_host(wait_dashscope(client, base, done_ds)) == without_host(finished_ds)
        assert without_host(read_gateway(client, base, done_gw)) == without_host(finished_gw)
        # An image-to-video task: its output takes the aspect of a stored upload.
        frame_url = upload(client, base, tall)
        i2v = {"model": "wan2.7-i2v", "input": {"prompt": "queued dashscope",
                                                 "media": [{"type": "first_frame", "url": frame_url}]},
               "parameters": {"resolution": "720P", "duration": 2}}
        queued_ds = submit_dashscope(client, base, i2v)
        queued_gw = submit_gateway(client, base, t2v_gateway("queued gateway", aspect_ratio="1:1"))
        cancelled = submit_dashscope(client, base, t2v_dashscope("cancelled"))
        assert client.post(f"{base}/api/v1/tasks/{cancelled}/cancel", headers=auth()).status_code == 200
        before_ds = read_dashscope(client, base, queued_ds)
        before_gw = read_gateway(client, base, queued_gw)
        assert before_ds["task_status"] == "PENDING"
        assert before_gw["status"] == "queued"

    # 3. Restarted without delays: the queued tasks complete; nothing else changed.
    with sandbox_on(data_dir, delay_scale=0.0) as base:
        again_ds = wait_dashscope(client, base, done_ds)
        assert without_host(again_ds) == without_host(finished_ds)
        assert without_host(read_gateway(client, base, done_gw)) == without_host(finished_gw)
        video = download(client, again_ds["output"]["video_url"], tmp_path / "finished.mp4")
        assert (probe(video).width, probe(video).height) == (1280, 720)

        after_ds = wait_dashscope(client, base, queued_ds)["output"]
        assert after_ds["task_status"] == "SUCCEEDED"
        assert after_ds["submit_time"] == before_ds["submit_time"]
        resumed = probe(download(client, after_ds["video_url"], tmp_path / "resumed.mp4"))
        assert (resumed.width, resumed.height) == (720, 1280)  # 9:16, from the tall first frame

        after_gw = wait_gateway(client, base, queued_gw)
        assert after_gw["status"] == "completed"
        assert after_gw["created_at"] == before_gw["created_at"]
        assert (after_gw["result"]["width"], after_gw["result"]["height"]) == (960, 960)
        assert client.get(after_gw["result"]["url"]).status_code == 200

        assert read_dashscope(client, base, cancelled)["task_status"] == "CANCELED"
        listed = client.get(f"{base}/api/v1/tasks", headers=auth()).json()["data"]
        assert [t["task_id"] for t in listed] == [cancelled, queued_ds, done_ds]


def test_expired_tasks_leave_the_disk_too(client: httpx.Client, tmp_path: Path) -> None:
    # Tasks that fail (no render needed) expire like any other finished task.
    # The TTL runs out on the sandbox's clock, moved forward: no waiting for it.
    data_dir = tmp_path / "data"
    clock = MovableClock()
    with sandbox_on(data_dir, delay_scale=0.0, ttl_s=60.0, sweep_interval_s=0.1, clock=clock) as base:
        task_id = submit_dashscope(client, base, t2v_dashscope("short-lived"), "task_failed")
        assert wait_dashscope(client, base, task_id)["output"]["task_status"] == "FAILED"
        assert task_id in stored_ids(data_dir)
        clock.advance(61.0)
        wait_until(lambda: read_dashscope(client, base, task_id)["task_status"] == "UNKNOWN",
                   "the expired task to read UNKNOWN", timeout_s=10)
        # The sweep deletes the record right after.
        wait_until(lambda: task_id not in stored_ids(data_dir), "the sweep to delete its record", timeout_s=10)

    # A record whose TTL ran out while no sandbox was running is dropped at the next start.
    with sandbox_on(data_dir, delay_scale=0.0, ttl_s=60.0) as base:
        kept = submit_dashscope(client, base, t2v_dashscope("kept"), "task_failed")
        assert wait_dashscope(client, base, kept)["output"]["task_status"] == "FAILED"
    later = MovableClock()
    later.advance(61.0)  # the next start comes after the TTL
    with sandbox_on(data_dir, delay_scale=0.0, ttl_s=60.0, clock=later) as base:
        assert read_dashscope(client, base, kept)["task_status"] == "UNKNOWN"
    assert stored_ids(data_dir) == set()


def test_unreadable_records_never_stop_a_sandbox(client: httpx.Client, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with sandbox_on(data_dir, delay_scale=0.0) as base:
        good = submit_dashscope(client, base, t2v_dashscope("good"), "task_failed")
        assert wait_dashscope(client, base, good)["output"]["task_status"] == "FAILED"
    with contextlib.closing(sqlite3.connect(data_dir / "sandbox" / FILE_NAME)) as db, db:
        db.execute("INSERT INTO tasks VALUES ('broken-json', '{not json')")
        db.execute("""INSERT INTO tasks VALUES ('old-version', '{"v": 0}')""")
    with sandbox_on(data_dir, delay_scale=0.0) as base:
        assert read_dashscope(client, base, good)["task_status"] == "FAILED"
        assert read_dashscope(client, base, "broken-json")["task_status"] == "UNKNOWN"
    assert stored_ids(data_dir) == {good}

    # A file that is not a database at all is set aside, and the sandbox starts empty.
    (data_dir / "sandbox" / FILE_NAME).write_bytes(b"this is not sqlite" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{data_dir / 'sandbox' / FILE_NAME}{suffix}").unlink(missing_ok=True)
    with sandbox_on(data_dir, delay_scale=0.0) as base:
        assert read_dashscope(client, base, good)["task_status"] == "UNKNOWN"
        fresh = submit_dashscope(client, base, t2v_dashscope("fresh"), "task_failed")
        assert wait_dashscope(client, base, fresh)["output"]["task_status"] == "FAILED"
    assert (data_dir / "sandbox" / f"{FILE_NAME}.unreadable").exists()


# -- a real process, killed -------------------------------------------------------------------


@contextlib.contextmanager
def sandbox_process(data_dir: Path, delay_scale: float, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python -m playground sandbox` in its own process group; yields it and its base URL.

    Whatever is left of the group (the process, should the test not kill it) is killed after.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "playground", "sandbox", "--port", "0", "--delay-scale", str(delay_scale),
             "--data-dir", str(data_dir)],
            cwd=ROOT, stdout=out, stderr=out, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"Uvicorn running on (http://\S+)", log.read_text(errors="replace"))):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the sandbox did not start:\n" + log.read_text(errors="replace")
            time.sleep(0.1)
        yield process, f"{found.group(1)}/sandbox"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server alone, as the OOM killer would; its render process is left to notice."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=15)


def test_a_killed_process_loses_nothing(client: httpx.Client, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    with sandbox_process(data_dir, 0.0, tmp_path / "first.log") as (process, base):
        finished = submit_dashscope(client, base, t2v_dashscope("done before the crash", seed=3))
        done = wait_dashscope(client, base, finished)
        assert done["output"]["task_status"] == "SUCCEEDED"
        kill(process)

    # Scale 0.3: a 10 s 720P task runs for 4.8 s, so it is surely RUNNING when the kill comes;
    # the slow scenario queues for 13.5 s, so that one is surely still queued.
    with sandbox_process(data_dir, 0.3, tmp_path / "second.log") as (process, base):
        assert without_host(wait_dashscope(client, base, finished)) == without_host(done)
        queued = submit_gateway(client, base, t2v_gateway("queued at the crash", aspect_ratio="4:3"), "slow")
        running = submit_dashscope(client, base, t2v_dashscope("running at the crash", duration=10, ratio="3:4"))
        while (status := read_dashscope(client, base, running))["task_status"] == "PENDING":
            time.sleep(0.05)
        assert status["task_status"] == "RUNNING"
        assert read_gateway(client, base, queued)["status"] == "queued"
        kill(process)

    with sandbox_process(data_dir, 0.0, tmp_path / "third.log") as (_, base):
        again = wait_dashscope(client, base, finished)
        assert without_host(again) == without_host(done)
        assert client.get(again["output"]["video_url"]).status_code == 200
        resumed = wait_dashscope(client, base, running)["output"]
        assert resumed["task_status"] == "SUCCEEDED"
        assert (resumed["submit_time"], resumed["scheduled_time"]) == (status["submit_time"], status["scheduled_time"])
        video = probe(download(client, resumed["video_url"], tmp_path / "running.mp4"))
        assert (video.width, video.height, round(video.duration_s or 0)) == (832, 1104, 10)
        after = wait_gateway(client, base, queued)
        assert after["status"] == "completed"
        assert (after["result"]["width"], after["result"]["height"]) == (1104, 832)
