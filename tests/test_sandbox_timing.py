"""Timing like the real service, scaled; rendering off the loop; the same seed, the same frames."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from playground.sandbox import SandboxConfig
from playground.sandbox.timing import RenderSpeed, delays
from playground.settings import Settings
from tests.fixtures_sandbox import auth, dashscope_headers, download, wait_dashscope, wait_gateway

CREATE = "/api/v1/services/aigc/video-generation/video-synthesis"


def moment(text: str) -> float:
    return datetime.strptime(text + "+0800", "%Y-%m-%d %H:%M:%S.%f%z").timestamp()


def frame_digest(path: Path) -> str:
    """A hash of every decoded picture, so container metadata cannot hide a difference."""
    digest = hashlib.sha256()
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            for plane in frame.to_ndarray(format="yuv420p"):
                digest.update(plane.tobytes())
    return digest.hexdigest()


def test_tasks_queue_then_run_for_the_scaled_delays(client: httpx.Client, start_sandbox: Any) -> None:
    """At scale 0.1 a 2 s 720P task queues ~0.3 s and runs at least ~0.64 s."""
    base = start_sandbox(delay_scale=0.1) + "/sandbox"
    body = {"model": "wan2.7-t2v", "input": {"prompt": "timed"}, "parameters": {"resolution": "720P", "duration": 2}}
    task_id = client.post(base + CREATE, json=body, headers=dashscope_headers()).json()["output"]["task_id"]
    first = client.get(f"{base}/api/v1/tasks/{task_id}", headers=auth()).json()["output"]
    assert first["task_status"] == "PENDING"
    assert set(first) == {"task_id", "task_status", "submit_time"}
    out = wait_dashscope(client, base, task_id)["output"]
    expected = delays("720P", 2, None, 0.1)
    queued = moment(out["scheduled_time"]) - moment(out["submit_time"])
    running = moment(out["end_time"]) - moment(out["scheduled_time"])
    assert expected.queue_s - 0.02 <= queued <= expected.queue_s + 0.5
    assert running >= expected.run_s - 0.02


def test_zero_scale_means_render_time_only(client: httpx.Client, start_sandbox: Any) -> None:
    base = start_sandbox(delay_scale=0.0) + "/sandbox"
    body = {"model": "wan2.7-t2v", "input": {"prompt": "instant"}, "parameters": {"resolution": "720P", "duration": 2}}
    task_id = client.post(base + CREATE, json=body, headers=dashscope_headers()).json()["output"]["task_id"]
    out = wait_dashscope(client, base, task_id)["output"]
    assert moment(out["scheduled_time"]) - moment(out["submit_time"]) < 0.1


def test_realistic_defaults_grow_with_duration_resolution_and_slow() -> None:
    short, long_ = delays("720P", 5, None, 1.0), delays("1080P", 15, None, 1.0)
    assert 2 <= short.queue_s <= 5 and 8 <= short.run_s <= 20
    assert long_.run_s > short.run_s
    from playground.sandbox.scenarios import SCENARIOS

    slow = delays("720P", 5, SCENARIOS["slow"], 1.0)
    assert slow.queue_s >= 30 and slow.run_s >= 60
    assert delays("1080P", 15, SCENARIOS["slow"], 0.0) == delays("720P", 2, None, 0.0)


def test_rendering_never_stalls_the_server(client: httpx.Client, start_sandbox: Any) -> None:
    """Six renders queued on two workers; the server still answers within a fraction of a second."""
    root = start_sandbox(delay_scale=0.0, workers=2)
    base = root + "/sandbox"
    body = {"model": "wan-2-7-video", "mode": "text-to-video",
            "input": {"prompt": "load", "resolution": "720P", "duration": 2}}
    ids = [client.post(f"{base}/v1/videos/generations", json=body, headers=auth()).json()["task_id"] for _ in range(6)]
    slowest = 0.0
    while True:
        started = time.perf_counter()
        bodies = [client.get(f"{base}/v1/videos/generations/{i}", headers=auth()).json() for i in ids]
        slowest = max(slowest, (time.perf_counter() - started) / len(ids))
        assert client.get(f"{root}/healthz").status_code == 200
        if all(b["status"] == "completed" for b in bodies):
            break
        time.sleep(0.05)
    assert slowest < 0.25
    # Never more than two running at once: walk the start and end times (ends first on ties).
    events = sorted([(b["started_at"], 1) for b in bodies] + [(b["completed_at"], -1) for b in bodies])
    running = [sum(step for _, step in events[: n + 1]) for n in range(len(events))]
    assert max(running) == 2


def test_same_request_and_seed_give_the_same_frames(client: httpx.Client, sandbox_base: str, tmp_path: Path) -> None:
    def render(seed: int, name: str) -> str:
        body = {"model": "wan-2-7-video", "mode": "text-to-video",
                "input": {"prompt": "same again", "resolution": "720P", "duration": 2, "seed": seed}}
        created = client.post(f"{sandbox_base}/v1/videos/generations", json=body, headers=auth()).json()
        done = wait_gateway(client, sandbox_base, created["task_id"])
        return frame_digest(download(client, done["result"]["url"], tmp_path / name))

    results: dict[str, str] = {}
    threads = [threading.Thread(target=lambda n=n, s=s: results.__setitem__(n, render(s, n)))
               for n, s in (("a.mp4", 11), ("b.mp4", 11), ("c.mp4", 12))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["a.mp4"] == results["b.mp4"]
    assert results["a.mp4"] != results["c.mp4"]


def test_a_missing_seed_is_chosen_and_reported(client: httpx.Client, sandbox_base: str) -> None:
    body = {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "x", "resolution": "720P",
                                                                          "duration": 2}}
    created = client.post(f"{sandbox_base}/v1/videos/generations", json=body, headers=auth()).json()
    seed = wait_gateway(client, sandbox_base, created["task_id"])["result"]["seed"]
    assert 0 <= seed <= 2147483647


def test_settings_and_the_environment_reach_the_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PLAYGROUND_SANDBOX_DELAY_SCALE", "0")
    monkeypatch.setenv("PLAYGROUND_SANDBOX_TTL_S", "60")
    monkeypatch.setenv("PLAYGROUND_SANDBOX_WORKERS", "3")
    monkeypatch.setenv("PLAYGROUND_MAX_UPLOAD_MB", "7")
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    config = SandboxConfig.from_settings(Settings())
    assert (config.delay_scale, config.ttl_s, config.workers) == (0.0, 60.0, 3)
    assert config.max_upload_bytes == 7 * 1024 * 1024
    assert config.store_dir == tmp_path / "sandbox"
    assert SandboxConfig.from_settings(Settings(), delay_scale=0.5).delay_scale == 0.5


def test_render_time_is_learnt_and_grows_with_the_work() -> None:
    speed = RenderSpeed(0.01)
    assert speed.estimate_s("1080P", 10) == pytest.approx(2 * speed.estimate_s("1080P", 5))
    assert speed.estimate_s("1080P", 5) == pytest.approx(2.25 * speed.estimate_s("720P", 5))
    slow = 3 * speed.estimate_s("720P", 5)
    speed.observe(slow, "720P", 5)
    assert speed.estimate_s("720P", 5) < slow  # one slow render moves the estimate, not all the way
    for _ in range(30):
        speed.observe(slow, "720P", 5)
    assert speed.estimate_s("720P", 5) == pytest.approx(slow, rel=0.01)


def test_poll_hints_count_the_render_time(client: httpx.Client, start_sandbox: Any) -> None:
    """With no artificial delay left, the hint still waits for the render instead of saying 0.1 s."""
    base = start_sandbox(delay_scale=0.0) + "/sandbox"
    body = {"model": "wan2.7-t2v", "input": {"prompt": "hinted"}, "parameters": {"resolution": "1080P", "duration": 5}}
    task_id = client.post(base + CREATE, json=body, headers=dashscope_headers()).json()["output"]["task_id"]
    first = client.get(f"{base}/api/v1/tasks/{task_id}", headers=auth())
    assert first.json()["output"]["task_status"] in ("PENDING", "RUNNING")
    # A fresh sandbox's first guess for 1080P 5 s is about 1.9 s of rendering: a hint of a
    # quarter second or more, where a hint from the artificial delays alone was the 0.1 s floor.
    assert int(first.headers["X-Sandbox-Poll-After-Ms"]) >= 200
    assert wait_dashscope(client, base, task_id)["output"]["task_status"] == "SUCCEEDED"
