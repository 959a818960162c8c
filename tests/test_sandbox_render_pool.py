"""Renders run in separate, lower-priority processes that are reused, replaced when they die,
and killed when their task is cancelled; none outlives the server that started it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from playground.media.probe import probe
from playground.sandbox.render_pool import RENDER_NICE, RenderPool
from playground.sandbox.worker import RenderJob


def job(out: Path, resolution: str = "720P", duration: int = 1) -> RenderJob:
    return RenderJob(mode="text-to-video", resolution=resolution, ratio="16:9", duration=duration, seed=1,
                     title="pool test", caption="a caption", inputs=(), out_path=out, limits={})


def gone(pid: int) -> bool:
    """Whether a process has ended (a zombie not yet reaped counts as ended)."""
    try:
        with Path(f"/proc/{pid}/stat").open() as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped meanwhile
        return True


def wait_until_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.05)


def next_pid(pool: RenderPool, old: int, timeout: float = 30) -> int:
    """The pool's new process, once it has replaced old."""
    deadline = time.monotonic() + timeout
    while not (fresh := [pid for pid in pool.pids() if pid != old]):
        assert time.monotonic() < deadline, "no new render process"
        time.sleep(0.01)
    return fresh[0]


@pytest.fixture
async def pool() -> AsyncIterator[RenderPool]:
    renders = RenderPool(1)
    yield renders
    renders.close()


async def test_renders_run_at_a_lower_priority_in_a_reused_process(pool: RenderPool, tmp_path: Path) -> None:
    first = await pool.run(job(tmp_path / "a.mp4"))
    assert first.ok and (first.width, first.height, first.duration_s) == (1280, 720, 1.0)
    assert (probe(tmp_path / "a.mp4").width, probe(tmp_path / "a.mp4").height) == (1280, 720)
    [pid] = pool.pids()
    assert pid != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + RENDER_NICE)
    assert (await pool.run(job(tmp_path / "b.mp4"))).ok
    assert pool.pids() == [pid]


async def test_a_render_process_that_dies_is_replaced(pool: RenderPool, tmp_path: Path) -> None:
    pool.warm(1)
    [idle] = pool.pids()
    os.kill(idle, signal.SIGKILL)  # dies while idle: the job goes to a new process
    assert (await pool.run(job(tmp_path / "a.mp4"))).ok
    [busy] = pool.pids()
    assert busy != idle

    # Dies under a job: the job is tried again on a new process...
    rendering = asyncio.ensure_future(pool.run(job(tmp_path / "b.mp4", "1080P", 2)))
    await asyncio.sleep(0)  # the job is handed over
    os.kill(busy, signal.SIGKILL)
    assert (await rendering).ok
    assert probe(tmp_path / "b.mp4").height == 1080

    # ...and a job under which two processes die fails its task alone.
    [first] = pool.pids()
    rendering = asyncio.ensure_future(pool.run(job(tmp_path / "c.mp4", "1080P", 15)))
    await asyncio.sleep(0)
    os.kill(first, signal.SIGKILL)
    second = await asyncio.to_thread(next_pid, pool, first)
    os.kill(second, signal.SIGKILL)
    failed = await rendering
    assert failed.fail_code == "InternalError"
    assert "render process stopped unexpectedly" in (failed.fail_message or "")
    assert not (tmp_path / "c.mp4").exists()
    assert (await pool.run(job(tmp_path / "d.mp4"))).ok


async def test_cancelling_a_render_kills_its_process(pool: RenderPool, tmp_path: Path) -> None:
    pool.warm(1)
    [pid] = pool.pids()
    rendering = asyncio.ensure_future(pool.run(job(tmp_path / "long.mp4", "1080P", 15)))
    await asyncio.sleep(0)
    rendering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await rendering
    await asyncio.to_thread(wait_until_gone, pid)
    assert pool.pids() == []
    assert (await pool.run(job(tmp_path / "next.mp4"))).ok


def test_render_processes_end_with_a_killed_server(tmp_path: Path) -> None:
    """SIGKILL the process that owns a pool mid-render: its render process ends too."""
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from playground.sandbox.render_pool import RenderPool\n"
        "from playground.sandbox.worker import RenderJob\n"
        "pool = RenderPool(1)\n"
        "pool.warm(1)\n"
        "print(pool.pids()[0], flush=True)\n"
        "job = RenderJob('text-to-video', '1080P', '16:9', 15, 1, 'orphan', '', (), Path(sys.argv[1]), {})\n"
        "asyncio.run(pool.run(job))\n"
    )
    out = tmp_path / "orphan.mp4"
    owner = subprocess.Popen([sys.executable, "-c", script, str(out)],
                             cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    child = int(owner.stdout.readline())
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".orphan.*.part")):  # the render has begun writing
        assert owner.poll() is None and time.monotonic() < deadline, "the render never started"
        time.sleep(0.05)
    owner.kill()
    owner.wait(timeout=15)
    wait_until_gone(child)
    assert not out.exists()
