"""One way to open the playground's SQLite file: the ledger and the showcase store share it.

Each call opens its own short connection (safe across threads and processes), in WAL mode so
readers never wait for a writer, with the same busy timeout and row type everywhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 30.0


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A short autocommit connection with named rows; closed when the block ends."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        yield db
    finally:
        db.close()


def create(path: Path, schema: str, migrate: Callable[[sqlite3.Connection], None] | None = None) -> None:
    """Make the file's folder, switch it to WAL and create (then migrate) the given tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)
        if migrate is not None:
            migrate(db)
