"""One sandbox per data directory: an exclusive lock taken when a sandbox starts.

A sandbox resumes the unfinished tasks it finds in ``<data dir>/sandbox/tasks.sqlite3``. Two
processes on one data directory (``python app.py`` and ``python -m playground sandbox
--data-dir`` the same folder) would both resume, render and sweep the same tasks and files, so
the second refuses to start instead, with one line naming the directory and the fix.

The lock is ``flock`` on ``<data dir>/sandbox/sandbox.lock``, held for the sandbox's life. The
kernel drops it when the process ends however it ends (kill -9 included), so a crash never
leaves a stale lock behind; the file itself stays and only records the holder's process id for
the message. Render workers are started with their own file descriptors closed, so they never
hold it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "sandbox.lock"


class DataDirBusy(RuntimeError):
    """Another process's sandbox holds this data directory; the message is one line with the fix."""


class DataDirLock:
    """The exclusive lock on one sandbox folder (``<data dir>/sandbox``)."""

    def __init__(self, folder: Path, data_dir: Path) -> None:
        self.path = folder / LOCK_FILE
        self._data_dir = data_dir
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise DataDirBusy at once (never waits)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            by = f" (process {holder})" if holder.isdigit() else ""
            raise DataDirBusy(
                f"another sandbox is already running on the data directory {self._data_dir.resolve()}{by}; "
                "stop it, or start this one with another --data-dir (PLAYGROUND_DATA_DIR)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let the next sandbox start here; harmless when not held."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
