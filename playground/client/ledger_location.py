"""Where the run ledger lives, and the merge of the old second ledger into it.

There is one ledger per data directory, ``<data dir>/ledger.sqlite3``, for the UI, the
``submit`` command and the server alike, so a run started in one is resumed, recovered and
listed by the others. Every opener goes through :func:`open_ledger`.

Earlier versions of ``submit`` kept their runs in ``<data dir>/ledger.db``. The first
:func:`open_ledger` that finds that file merges it in (rows and their events; a row both files
hold keeps the newer version, an event already present is not added twice), then renames it to
``ledger.db.merged`` so it is merged once and kept for reference. The merge is one transaction
and repeatable, so two processes starting together cannot lose or double anything.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass, fields
from pathlib import Path

from playground.client.ledger import Ledger, RunRecord

log = logging.getLogger(__name__)

LEDGER_FILE = "ledger.sqlite3"
LEGACY_LEDGER_FILE = "ledger.db"  # where `submit` kept its runs before there was one ledger
MERGED_SUFFIX = ".merged"
_COLUMNS = tuple(f.name for f in fields(RunRecord))
_EVENT_COLUMNS = ("run_id", "at", "state", "detail", "request_id")


@dataclass(frozen=True)
class Merged:
    """What a merge added: rows new to the ledger (or newer than its copy), and events."""

    runs: int
    events: int
    kept_as: Path | None  # where the old file went, None if it could not be renamed


def ledger_path(data_dir: Path) -> Path:
    """The ledger file of a data directory: the one place this is decided."""
    return Path(data_dir) / LEDGER_FILE


def open_ledger(data_dir: Path) -> Ledger:
    """The data directory's ledger, with an old ``ledger.db`` merged in first if one is there."""
    ledger = Ledger(ledger_path(data_dir))
    legacy = Path(data_dir) / LEGACY_LEDGER_FILE
    if legacy.is_file():
        merge_legacy(legacy, ledger)
    return ledger


def merge_legacy(legacy: Path, ledger: Ledger) -> Merged | None:
    """Merge an old ledger file into ``ledger`` and rename it; None if it was not merged (gone
    already, or not a ledger: then it is left where it is, and the reason logged)."""
    try:
        _settle(legacy)
        with contextlib.closing(sqlite3.connect(ledger.path.resolve().as_uri(), uri=True, timeout=30.0,
                                                isolation_level=None)) as db:
            # Read-only: the old file is evidence; whatever happens here must not change it.
            db.execute("ATTACH DATABASE ? AS legacy", (legacy.resolve().as_uri() + "?mode=ro",))
            try:
                runs, events = _copy(db)
            finally:
                db.execute("DETACH DATABASE legacy")
    except sqlite3.Error as exc:
        if not legacy.exists():
            return None  # another process merged and renamed it a moment ago
        log.warning("could not merge the old ledger %s into %s (left as it is): %s", legacy, ledger.path, exc)
        return None
    kept = _set_aside(legacy)
    log.info("merged %d run(s) and %d event(s) from %s into %s", runs, events, legacy, ledger.path)
    return Merged(runs, events, kept)


def _settle(legacy: Path) -> None:
    """Fold the old file's write-ahead log into it, so it is complete on its own (opened read
    and write, but only if it exists: ``mode=rw`` never creates a file)."""
    with contextlib.closing(sqlite3.connect(legacy.resolve().as_uri() + "?mode=rw", uri=True, timeout=30.0,
                                            isolation_level=None)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with contextlib.suppress(sqlite3.OperationalError):  # still open elsewhere: the log stays
            db.execute("PRAGMA journal_mode=DELETE")


def _copy(db: sqlite3.Connection) -> tuple[int, int]:
    old = {row[1] for row in db.execute("PRAGMA legacy.table_info(runs)")}
    if not old:
        raise sqlite3.DatabaseError("it has no runs table")
    # An older file may lack newer columns; those keep their defaults.
    columns = [c for c in _COLUMNS if c in old]
    names = ", ".join(columns)
    newer = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "run_id")
    db.execute("BEGIN IMMEDIATE")
    try:
        before = db.total_changes
        # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
        db.execute(
            f"INSERT INTO main.runs ({names}) SELECT {names} FROM legacy.runs WHERE true "
            f"ON CONFLICT (run_id) DO UPDATE SET {newer} WHERE excluded.updated_at > main.runs.updated_at"
        )
        runs = db.total_changes - before
        before = db.total_changes
        event_names = ", ".join(_EVENT_COLUMNS)
        same = " AND ".join(f"e.{c} IS l.{c}" for c in _EVENT_COLUMNS)
        db.execute(
            f"INSERT INTO main.events ({event_names}) SELECT {', '.join('l.' + c for c in _EVENT_COLUMNS)} "
            f"FROM legacy.events AS l WHERE NOT EXISTS (SELECT 1 FROM main.events AS e WHERE {same}) ORDER BY l.id"
        )
        events = db.total_changes - before
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return runs, events


def _set_aside(legacy: Path) -> Path | None:
    """Rename the merged file (and any journal files beside it) so it is not merged again."""
    target = legacy.with_name(legacy.name + MERGED_SUFFIX)
    number = 1
    while target.exists():
        target = legacy.with_name(f"{legacy.name}{MERGED_SUFFIX}.{number}")
        number += 1
    try:
        legacy.rename(target)
    except FileNotFoundError:
        return None  # another process set it aside first
    for extra in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            legacy.with_name(legacy.name + extra).rename(target.with_name(target.name + extra))
    return target
