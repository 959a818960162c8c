"""Where the sandbox's videos are rendered: long-lived child processes at a lower priority.

Why processes, not threads in the server. The sandbox is served by the same process as the
playground's UI, and rendering used to run in a thread pool there. Two things then slowed
every UI request while renders ran:

* CPU: a render keeps about a core and a half busy (x264's threads plus the frame producer),
  and the server's one event-loop thread got only its fair share of two cores;
* the GIL: the render threads run Python between their numpy and PyAV calls, so the loop
  thread kept waiting for the lock; niced render threads do not fix that part, since a
  render thread holding the lock may itself be waiting for a CPU, stalling the loop behind it.

A separate process shares no GIL with the server, and started at nice ``RENDER_NICE`` (its
threads inherit it) it gets a CPU only when the server's threads leave one free. The cost is
one process start per worker (about 0.3 s of CPU, once, overlapping the task's queue delay;
``python -m benchmarks bench_render`` measures it) and a pickle of a small job each way;
renders take as long as before when the machine is idle.

Measured with ``python -m benchmarks bench_ui`` on the 2-core machine, preview p95 over HTTP
while four 1080P renders run (idle p95 16-19 ms throughout): render threads 154-595 ms;
threads at nice 10, 72 ms; these processes, 21-32 ms.

The children are plain subprocesses running render_worker.py, not ``multiprocessing``: its
``spawn`` and ``forkserver`` methods re-import the parent's ``__main__`` (``app.py``, hence
Gradio) in every child, and ``fork`` is unsafe in a threaded server. Each child renders one
job at a time; a thread of this process waits on its pipe (blocked in a read, holding no
GIL). A child stays for the next job. If its task is cancelled mid-render, or it dies, it is
killed and a fresh one starts on the next job; a job whose process died is tried once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import playground
from playground.sandbox.render_worker import BOOT, receive, send
from playground.sandbox.worker import Outcome, RenderJob

# 10 of 19: the CFS weight drops from 1024 to 110, so the server's loop thread gets a core
# nearly at once when it wakes, yet renders still use whatever the server leaves idle.
RENDER_NICE = 10
_STOP_WAIT_S = 5.0
# The directory holding the playground package, so a child finds it whatever its cwd.
_PACKAGE_ROOT = str(Path(playground.__file__).resolve().parent.parent)


def worker_command(nice: int = RENDER_NICE) -> list[str]:
    """The command line of one render process (also what bench_render times a start of)."""
    return [sys.executable, "-c", BOOT, str(nice), _PACKAGE_ROOT]


class WorkerGone(Exception):
    """A render process ended without answering."""


class _Worker:
    """One render process and the two pipes to it."""

    def __init__(self, nice: int) -> None:
        self.process = subprocess.Popen(worker_command(nice), stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def call(self, job: RenderJob) -> Outcome:
        """Render one job (blocking: run it in a thread)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            send(self.process.stdin, job)
            answer = receive(self.process.stdout)
        except OSError as exc:  # a broken pipe: the process is gone
            raise WorkerGone(self._ending()) from exc
        if not isinstance(answer, Outcome):
            raise WorkerGone(self._ending())
        return answer

    def _ending(self) -> str:
        try:
            code = self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        return f"exit code {code}"

    def kill(self) -> None:
        """Stop it now; a thread reading its pipe then sees the end of the stream."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    def close(self) -> None:
        """Kill it and release its pipes; only once no thread is using them."""
        self.kill()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_STOP_WAIT_S)


class RenderPool:
    """Up to ``workers`` render processes, started on demand and kept for the next job."""

    def __init__(self, workers: int, nice: int = RENDER_NICE) -> None:
        self._size = workers
        self._nice = nice
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        # Threads that only wait on pipes. Two spare ones cover a killed worker whose waiting
        # thread has not yet seen its pipe close when the next job starts.
        self._waiters = ThreadPoolExecutor(workers + 2, thread_name_prefix="sandbox-render-wait")

    def warm(self, wanted: int) -> None:
        """Have up to ``wanted`` processes started now, so start-up overlaps the queue delay."""
        with self._lock:
            if self._closed:
                return
            while len(self._idle) + len(self._busy) < min(wanted, self._size):
                self._idle.append(_Worker(self._nice))

    async def run(self, job: RenderJob) -> Outcome:
        """Render a job; a process that dies under it is replaced and the job tried once more.

        The retry covers a process lost for reasons of its own (the OOM killer, a kill by
        hand, dying just before it was handed the job); a job that kills two processes fails.
        """
        for attempt in (1, 2):
            worker = self._take()
            future = self._waiters.submit(worker.call, job)
            try:
                outcome = await asyncio.wrap_future(future)
            except WorkerGone as gone:
                self._discard(worker, future)
                if attempt == 2:
                    return Outcome(fail_code="InternalError",
                                   fail_message=f"the render process stopped unexpectedly, twice: {gone}")
                continue
            except BaseException:
                # Cancelled (or a bug) mid-job: the process is still busy with this job and its
                # answer would arrive out of step with the next one, so it is never reused.
                self._discard(worker, future)
                raise
            self._give_back(worker)
            return outcome
        raise AssertionError("unreachable: the second attempt returns")

    def pids(self) -> list[int]:
        """The process ids of the render processes alive now, busy or idle."""
        with self._lock:
            return [w.process.pid for w in (*self._idle, *self._busy) if w.process.poll() is None]

    def _take(self) -> _Worker:
        dead: list[_Worker] = []
        with self._lock:
            if self._closed:
                raise RuntimeError("the render pool is closed")
            worker = None
            while self._idle and worker is None:
                candidate = self._idle.pop()
                # One that died while idle (killed by hand, the OOM killer) must not fail a task.
                if candidate.process.poll() is None:
                    worker = candidate
                else:
                    dead.append(candidate)
            worker = worker or _Worker(self._nice)
            self._busy.add(worker)
        for gone in dead:
            gone.close()
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if not self._closed and len(self._idle) + len(self._busy) < self._size:
                self._idle.append(worker)
                return
        worker.close()

    def _discard(self, worker: _Worker, future: Future[Outcome]) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.kill()
        # Its pipes are closed only once the thread reading them has let go.
        future.add_done_callback(lambda _: worker.close())

    def close(self) -> None:
        """Stop every process (a render in progress is abandoned; its task resumes after a restart)."""
        with self._lock:
            self._closed = True
            idle, busy = self._idle, list(self._busy)
            self._idle, self._busy = [], set()
        for worker in busy:
            worker.kill()
        for worker in idle:
            worker.close()
        self._waiters.shutdown(wait=False, cancel_futures=True)
