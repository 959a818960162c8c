"""Hand a run's video to Gradio without serving the data directory.

Gradio serves a file only if it lies under ``allowed_paths`` or in its own cache; a returned
file is copied into that cache when it lies under the working directory or the system's temp
directory. Putting the data directory in ``allowed_paths`` made all of it (the ledger, the
server's secret, every browser's videos) downloadable by path. Instead each video handed to a
browser is linked into a private staging folder under the temp directory, from which Gradio
copies it into its cache under an unguessable name; the data directory is never served.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path


class Handout:
    """A private staging folder for files returned to Gradio components."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="wan27-handout-"))  # mode 0700
        return self._root

    def close(self) -> None:
        """Remove the staging folder, if one was made: Gradio keeps its own copies in its cache."""
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __call__(self, path: str | Path | None) -> str | None:
        """A path Gradio may serve for this file, or None when there is no such file."""
        if not path:
            return None
        source = Path(path)
        if not source.is_file():
            return None
        stat = source.stat()
        tag = hashlib.sha256(f"{source.resolve()}|{stat.st_mtime_ns}|{stat.st_size}".encode()).hexdigest()[:24]
        target = self.root / tag / source.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = target.with_name(f".{uuid.uuid4().hex}.part")
            try:
                os.link(source, staging)  # free when both are on one file system
            except OSError:
                shutil.copyfile(source, staging)
            staging.replace(target)
        return str(target)
