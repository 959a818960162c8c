"""Many concurrent gradio_client sessions, each running one text-to-video task on the sandbox.

Shared by the load test (a small count) and the load benchmark (the full 50): every session must
finish, no task may be lost, and each session's History must hold its own run and no other.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from gradio_client import Client


@dataclass
class SessionResult:
    index: int
    prompt: str
    state: str = ""
    seconds: float = 0.0
    own_rows: int = 0
    foreign_rows: int = 0
    error: str = ""


@dataclass
class LoadReport:
    sessions: list[SessionResult] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def succeeded(self) -> int:
        return sum(s.state == "succeeded" for s in self.sessions)

    @property
    def crossed(self) -> int:
        """Sessions that saw someone else's run, or not exactly their own one."""
        return sum(s.foreign_rows > 0 or s.own_rows != 1 for s in self.sessions)


def _one(url: str, result: SessionResult) -> None:
    start = time.perf_counter()
    try:
        client = Client(url, verbose=False, download_files=False)
        status = client.predict(
            "sandbox", "dashscope", "", "none", result.prompt, None, 2, "720P", "16:9", 1, True, True, False, "",
            api_name="/send_text_to_video",
        )[0]
        marker = 'data-state="'
        result.state = status.split(marker, 1)[1].split('"', 1)[0] if marker in status else "?"
        table, _ = client.predict("all", "all", api_name="/history")
        prompts = [row[6] for row in table["data"]]
        result.own_rows = sum(p == result.prompt for p in prompts)
        result.foreign_rows = sum(p != result.prompt for p in prompts)
        client.close()
    except Exception as exc:  # a session that breaks is reported, not allowed to hide the others
        result.error = f"{type(exc).__name__}: {exc}"[:300]
    result.seconds = time.perf_counter() - start


def run_sessions(url: str, count: int) -> LoadReport:
    """Start ``count`` sessions at once and wait for all of them."""
    report = LoadReport([SessionResult(i, f"load session {i} {time.time_ns()}") for i in range(count)])
    threads = [threading.Thread(target=_one, args=(url, r), daemon=True) for r in report.sessions]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    report.wall_s = time.perf_counter() - start
    return report
