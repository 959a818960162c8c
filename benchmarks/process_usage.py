"""Resident memory and CPU of a process and its children, read from /proc (Linux only).

psutil is not a dependency of the playground, and /proc answers the two questions the
benchmarks ask: how much memory does the server hold (the app process plus its render
workers), and how much CPU has it used. Memory is summed over the processes, so pages they
share are counted once per process: an upper bound, which is what a memory budget needs.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")
MB = 1_000_000


def tree(root: int) -> list[int]:
    """``root`` and every live descendant (children of any of its threads, recursively)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # it ended while we looked
            continue
    return found


def rss(pids: list[int]) -> int:
    """Resident bytes of these processes together (one that ended counts nothing)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def cpu_seconds(root: int) -> float:
    """User + system CPU of ``root``, its live descendants, and the children it has reaped."""
    total = 0.0
    for pid in tree(root):
        try:
            # Fields after the parenthesised name: utime, stime, cutime, cstime are 14-17 of stat.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15]) / _TICK
    return total


def steady_rss(root: int, seconds: float = 1.0) -> int:
    """The median of the tree's memory over ``seconds``: a baseline one sample's noise cannot skew."""
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(rss(tree(root)))
        time.sleep(0.05)
    return sorted(samples)[len(samples) // 2]


@dataclass
class PeakSampler:
    """Sample the tree's resident memory every ``interval_s`` in a thread; keep the peak.

    The set of processes is re-read every ``rescan_s`` (a render worker may start meanwhile);
    reading /proc for every process on each sample would cost more than the sampling itself.
    """

    root: int
    with_children: bool = True
    interval_s: float = 0.02
    rescan_s: float = 0.5
    peak: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> PeakSampler:
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _pids(self) -> list[int]:
        return tree(self.root) if self.with_children else [self.root]

    def _loop(self) -> None:
        pids, scanned = self._pids(), time.monotonic()
        while True:
            self.peak = max(self.peak, rss(pids))
            self.samples += 1
            if self._stop.wait(self.interval_s):
                return
            if time.monotonic() - scanned > self.rescan_s:
                pids, scanned = self._pids(), time.monotonic()
