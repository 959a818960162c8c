"""Deletes what the playground keeps once it is older than the retention period.

Covers every copy a run leaves on disk: downloaded videos (``runs/``), built bundles
(``bundles/``), the files handed to Gradio and Gradio's own cache of them. The ledger rows
stay (History still lists the run and says its video is gone).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterable
from pathlib import Path


def prune(folders: Iterable[Path], *, max_age_s: float, now: float | None = None) -> int:
    """Remove entries of each folder not modified for ``max_age_s``; how many were removed."""
    cutoff = (now if now is not None else time.time()) - max_age_s
    removed = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            with contextlib.suppress(OSError):  # a file in use or gone already: next time
                if _newest_mtime(entry) >= cutoff:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed += 1
    return removed


def _newest_mtime(entry: Path) -> float:
    if entry.is_dir() and not entry.is_symlink():
        times = [p.stat().st_mtime for p in entry.rglob("*") if not p.is_symlink()]
        return max([entry.stat().st_mtime, *times])
    return entry.lstat().st_mtime
