"""The render process: a child that takes RenderJobs on stdin and answers Outcomes on stdout.

Started by render_pool.py as ``python -c BOOT NICE ROOT``. BOOT lowers the process's priority
before anything heavy is imported, then calls :func:`main`; every thread the process makes
later (the frame producer, x264's own threads) inherits the lower priority, so on a busy
machine the server that spawned it always wins the CPU.

This module is the child's whole entry point on purpose: ``multiprocessing``'s ``spawn`` and
``forkserver`` re-import the parent's ``__main__`` in every child, which for ``python app.py``
means importing Gradio and the whole UI into each render process. A plain subprocess running
this module imports only what a render needs: sandbox/worker.py and the media code (the
package's ``__init__`` resolves its re-exports lazily, so the ASGI app and FastAPI stay out).
``python -m benchmarks bench_render`` reports the CPU one start costs.

Framing: each message is an 8-byte big-endian length and that many bytes of pickle. Only the
parent and its own children speak on these pipes, so pickle is safe here.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import threading
import time
from typing import IO

from playground.sandbox.worker import Outcome, RenderJob, produce

_HEADER = struct.Struct(">Q")
# Run as: python -c BOOT <nice> <directory holding the playground package>. Niceness comes
# first so even the imports yield to the server; the directory lets the child find the
# package whatever its working directory.
#
# OPENBLAS_NUM_THREADS=1 is set for this process alone, before numpy loads OpenBLAS: rendering
# never calls BLAS, yet OpenBLAS starts a spinning thread per core when it loads, about 0.1 s
# of CPU per process start on the 2-core machine (the renderer's parallelism is x264's own).
BOOT = (
    "import os, sys\n"
    "try:\n"
    "    os.nice(int(sys.argv[1]))\n"
    "except (AttributeError, OSError):\n"
    "    pass\n"
    "os.putenv('OPENBLAS_NUM_THREADS', '1')\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "from playground.sandbox.render_worker import main\n"
    "sys.exit(main())\n"
)


def send(stream: IO[bytes], message: object) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def receive(stream: IO[bytes]) -> object | None:
    """The next message, or None when the other side has closed the pipe."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    payload = _read_exactly(stream, size)
    if payload is None:
        return None
    message: object = pickle.loads(payload)
    return message


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def render_one(job: RenderJob) -> Outcome:
    """produce(), with a bug turned into a failed task instead of a dead worker."""
    try:
        return produce(job)
    except Exception as exc:
        return Outcome(fail_code="InternalError", fail_message=f"the sandbox failed: {exc!r}")


def _exit_with_parent(interval_s: float = 0.5) -> None:
    """End this process soon after the server that started it dies (SIGKILL, OOM killer).

    Without this an orphan would finish its render for nobody, taking CPU from the server
    that replaces its parent; the replacement renders the task again from its record.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> int:
    _exit_with_parent()
    # Ctrl-C in the terminal reaches the whole process group; the parent decides when its
    # workers stop (it closes our stdin or kills us), so a render is never cut off mid-file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The pipe to the parent is the original stdout; point fd 1 at stderr so a stray print
    # (ours or a library's) can never corrupt a message.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    jobs = sys.stdin.buffer
    # The codec libraries now, while the task that started this process is still queued,
    # rather than inside its first render.
    import playground.media.probe
    import playground.media.render  # noqa: F401
    while True:
        job = receive(jobs)
        if job is None:  # the parent closed the pipe or died: nothing more will come
            return 0
        if not isinstance(job, RenderJob):
            print(f"sandbox render worker: ignoring a {type(job).__name__}, not a RenderJob", file=sys.stderr)
            return 2
        try:
            send(answers, render_one(job))
        except BrokenPipeError:  # the parent is gone; the file on disk is all that is left
            return 0
