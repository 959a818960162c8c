"""One sandbox per data directory: a second process on the same folder refuses to start.

Both would resume, render and sweep the same stored tasks, so the second one (``python app.py``
next to ``python -m playground sandbox``, or two sandboxes) says so in one line, naming the
data directory and the fix, and exits; nothing of the first is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from playground.sandbox import DataDirBusy
from playground.sandbox.runtime import Runtime
from tests.fixtures_sandbox import sandbox_config
from tests.fixtures_servers import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]


def test_a_second_sandbox_on_one_data_dir_waits_for_the_first_to_close(tmp_path: Path) -> None:
    first = Runtime(sandbox_config(tmp_path))
    with pytest.raises(DataDirBusy, match=rf"data directory {tmp_path.resolve()} \(process {os.getpid()}\)"):
        Runtime(sandbox_config(tmp_path))
    asyncio.run(first.close())
    second = Runtime(sandbox_config(tmp_path))  # the lock went with the first
    asyncio.run(second.close())
    other = Runtime(sandbox_config(tmp_path / "elsewhere"))  # another data dir was never in the way
    asyncio.run(other.close())


@contextlib.contextmanager
def running_sandbox(data_dir: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m playground sandbox --data-dir DIR`, healthy, in its own process group."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "playground", "sandbox", "--port", str(port), "--delay-scale", "0",
             "--data-dir", str(data_dir)],
            cwd=ROOT, stdout=out, stderr=out, start_new_session=True,
        )

    def healthy() -> bool:
        assert process.poll() is None, log.read_text(errors="replace")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        return False

    try:
        wait_until(healthy, "the first sandbox to answer /healthz")
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def refused_line(command: list[str], env: dict[str, str]) -> str:
    """Run a second server that must refuse to start; its one-line message."""
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, timeout=180)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 1, (done.returncode, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "the refusal says nothing"
    return lines[-1]


@pytest.mark.slow
def test_app_and_sandbox_cannot_share_a_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_sandbox(data_dir, tmp_path / "sandbox.log") as first:
        expected = f"error: another sandbox is already running on the data directory {data_dir.resolve()} " \
                   f"(process {first.pid}); stop it, or start this one with another --data-dir (PLAYGROUND_DATA_DIR)"
        app = refused_line([sys.executable, "app.py"],
                           {"PLAYGROUND_DATA_DIR": str(data_dir), "PLAYGROUND_PORT": str(free_port()),
                            "GRADIO_ANALYTICS_ENABLED": "False"})
        assert app == expected
        again = refused_line([sys.executable, "-m", "playground", "sandbox", "--port", str(free_port()),
                              "--data-dir", str(data_dir)], {})
        assert again == expected
        assert first.poll() is None  # the first carries on, untouched
