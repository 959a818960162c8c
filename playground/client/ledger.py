"""The run ledger: every run and its status history, in SQLite (WAL), so nothing is lost.

A run's row is written before its create request is sent (state ``submitting``) and gets its
task id the moment the create answers, before the first poll. After a crash, a restart or a
browser refresh, :meth:`Ledger.unfinished` lists the runs to pick up again.

Tables::

    runs(run_id PK, session_id, created_at, updated_at, provider, wire, base_url, scenario,
         request_json, wire_body, body_hash, task_id, state, finished, submit_request_id,
         last_request_id, guidance_id, guidance_text, error_text, result_url, expires_at,
         result_path, media_json, last_response, poll_count, out_dir, deadline_s,
         cancel_requested, owner, heartbeat_at, quote_json, bill_json, batch_id, variation_json)
    events(id PK, run_id, at, state, detail, request_id)
    responses(id PK, run_id, at, body)    every answer the provider gave, oldest first: each
                                          ``last_response`` written is also kept here

Columns added after the first release are in ``_ADDED_COLUMNS``: opening an older file adds
them (``ALTER TABLE ... ADD COLUMN``, idempotent and safe when two processes open it at once), so
rows written before keep NULL there. ``quote_json`` is the quote shown at Send
(:meth:`playground.core.quote.Quote.to_json`), ``bill_json`` what a succeeded task cost
(:meth:`playground.core.quote.Bill.to_json` plus ``billed_at``); failed and cancelled runs have none.
``batch_id`` groups the runs of one variations batch (:meth:`Ledger.batch`), ``variation_json``
holds a run's axis values in it (``{"seed": 7, "resolution": "720P"}``).

Never stored: the API key (provider rows hold kind, wire format, base URL and scenario only;
the key comes from the settings again when a run resumes).

Each call opens its own short connection, so a ledger object is safe to share between threads
and several processes can use one file; WAL lets readers (the UI's history) run while a
poller writes. A run is worked on by one process at a time: :meth:`Ledger.claim` takes it when
its owner has died (same host) or stopped heart-beating.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from playground.client import sqlite_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    session_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    provider TEXT NOT NULL,
    wire TEXT NOT NULL,
    base_url TEXT NOT NULL,
    scenario TEXT,
    request_json TEXT,
    wire_body TEXT,
    body_hash TEXT,
    task_id TEXT,
    state TEXT NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0,
    submit_request_id TEXT,
    last_request_id TEXT,
    guidance_id TEXT,
    guidance_text TEXT,
    error_text TEXT,
    result_url TEXT,
    expires_at REAL,
    result_path TEXT,
    media_json TEXT,
    last_response TEXT,
    poll_count INTEGER NOT NULL DEFAULT 0,
    out_dir TEXT,
    deadline_s REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    heartbeat_at REAL,
    quote_json TEXT,
    bill_json TEXT
);
CREATE INDEX IF NOT EXISTS runs_session ON runs (session_id, created_at);
CREATE INDEX IF NOT EXISTS runs_open ON runs (finished, created_at);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    at REAL NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    request_id TEXT
);
CREATE INDEX IF NOT EXISTS events_run ON events (run_id, id);
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_run ON responses (run_id, id);
"""
# Columns later versions added, with their SQL type: an older ledger gets them when opened.
_ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("quote_json", "TEXT"), ("bill_json", "TEXT"), ("batch_id", "TEXT"), ("variation_json", "TEXT"),
)
# Another process's claim counts as abandoned after this long without a heartbeat.
STALE_AFTER_S = 120.0


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``."""

    run_id: str
    created_at: float
    updated_at: float
    provider: str
    wire: str
    base_url: str
    state: str
    session_id: str | None = None
    scenario: str | None = None
    request_json: str | None = None
    wire_body: str | None = None
    body_hash: str | None = None
    task_id: str | None = None
    finished: int = 0
    submit_request_id: str | None = None
    last_request_id: str | None = None
    guidance_id: str | None = None
    guidance_text: str | None = None
    error_text: str | None = None
    result_url: str | None = None
    expires_at: float | None = None
    result_path: str | None = None
    media_json: str | None = None
    last_response: str | None = None
    poll_count: int = 0
    out_dir: str | None = None
    deadline_s: float | None = None
    cancel_requested: int = 0
    owner: str | None = None
    heartbeat_at: float | None = None
    quote_json: str | None = None  # the quote shown at Send
    bill_json: str | None = None  # what the succeeded task cost
    batch_id: str | None = None  # the variations batch this run belongs to
    variation_json: str | None = None  # its axis values in that batch

    def variation(self) -> dict[str, Any] | None:
        """The axis values this run took in its batch (None outside a batch)."""
        return json.loads(self.variation_json) if self.variation_json else None

    def body(self) -> dict[str, Any] | None:
        """The wire body that was (or is about to be) sent."""
        return json.loads(self.wire_body) if self.wire_body else None


@dataclass(frozen=True)
class LedgerEvent:
    """One row of ``events``: a state the run reached, when, and what was said."""

    run_id: str
    at: float
    state: str
    detail: str | None
    request_id: str | None


_COLUMNS = tuple(f.name for f in fields(RunRecord))


def this_owner() -> str:
    """Who is working on a run: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    """The run ledger in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        sqlite_file.create(self.path, _SCHEMA, _add_columns)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_file.connect(self.path)

    # -- writing -----------------------------------------------------------------------------

    def create(self, record: RunRecord) -> None:
        """Insert a new run (its first event is its state)."""
        values = {name: getattr(record, name) for name in _COLUMNS}
        names = ", ".join(values)
        marks = ", ".join(f":{n}" for n in values)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", values)
            db.execute(
                "INSERT INTO events (run_id, at, state, detail, request_id) VALUES (?, ?, ?, ?, ?)",
                (record.run_id, record.created_at, record.state, "run recorded", None),
            )
            db.execute("COMMIT")

    def update(self, run_id: str, **changes: Any) -> None:
        """Change some columns of a run (``updated_at`` is set for you)."""
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise KeyError(f"no such ledger columns: {', '.join(sorted(unknown))}")
        changes["updated_at"] = time.time()
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(f"UPDATE runs SET {assignments} WHERE run_id = :run_id", {**changes, "run_id": run_id})
            if cursor.rowcount:
                _keep_response(db, run_id, changes["updated_at"], changes)
            db.execute("COMMIT")

    def event(self, run_id: str, state: str, *, at: float | None = None, detail: str | None = None,
              request_id: str | None = None, **changes: Any) -> None:
        """Record that a run reached a state (and update its row in the same transaction)."""
        at = time.time() if at is None else at
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise KeyError(f"no such ledger columns: {', '.join(sorted(unknown))}")
        row = {"state": state, "updated_at": at, **changes}
        assignments = ", ".join(f"{name} = :{name}" for name in row)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(f"UPDATE runs SET {assignments} WHERE run_id = :run_id", {**row, "run_id": run_id})
            db.execute(
                "INSERT INTO events (run_id, at, state, detail, request_id) VALUES (?, ?, ?, ?, ?)",
                (run_id, at, state, detail, request_id),
            )
            _keep_response(db, run_id, at, changes)
            db.execute("COMMIT")

    def request_cancel(self, run_id: str) -> bool:
        """Flag a run for cancellation (its poller acts on it); False if it already ended."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE runs SET cancel_requested = 1, updated_at = ? WHERE run_id = ? AND finished = 0",
                (time.time(), run_id),
            )
            return cursor.rowcount > 0

    def claim(self, run_id: str, owner: str | None = None, *, now: float | None = None) -> bool:
        """Take a run for this process unless a live owner is working on it."""
        owner = owner or this_owner()
        now = time.time() if now is None else now
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT owner, heartbeat_at FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                db.execute("ROLLBACK")
                return False
            holder, beat = row["owner"], row["heartbeat_at"]
            free = (
                holder is None
                or holder == owner
                or not _owner_alive(holder)
                or beat is None
                or now - beat > STALE_AFTER_S
            )
            if free:
                db.execute("UPDATE runs SET owner = ?, heartbeat_at = ? WHERE run_id = ?", (owner, now, run_id))
            db.execute("COMMIT")
            return free

    def release(self, run_id: str, owner: str | None = None) -> None:
        owner = owner or this_owner()
        with self._connect() as db:
            db.execute("UPDATE runs SET owner = NULL WHERE run_id = ? AND owner = ?", (run_id, owner))

    # -- reading -----------------------------------------------------------------------------

    def get(self, run_id: str) -> RunRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _record(row) if row is not None else None

    def find_task(self, task_id: str) -> RunRecord | None:
        """The newest run that follows this task id."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM runs WHERE task_id = ? ORDER BY created_at DESC LIMIT 1", (task_id,)
            ).fetchone()
        return _record(row) if row is not None else None

    def runs(self, session_id: str | None = None, *, limit: int = 50) -> list[RunRecord]:
        """Newest first; one browser session's runs when ``session_id`` is given."""
        query = "SELECT * FROM runs"
        params: tuple[Any, ...] = ()
        if session_id is not None:
            query += " WHERE session_id = ?"
            params = (session_id,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at DESC LIMIT ?", (*params, limit)).fetchall()
        return [_record(r) for r in rows]

    def unfinished(self, session_id: str | None = None) -> list[RunRecord]:
        """Runs that have not reached an end, oldest first."""
        query = "SELECT * FROM runs WHERE finished = 0"
        params: tuple[Any, ...] = ()
        if session_id is not None:
            query += " AND session_id = ?"
            params = (session_id,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at", params).fetchall()
        return [_record(r) for r in rows]

    def costed(self, session_id: str | None = None, *, since: float = 0.0) -> list[RunRecord]:
        """What budgets and cost totals are computed from, newest first: runs with a bill,
        updated since ``since``, and unfinished runs with a quote, created since ``since``
        (one browser's when ``session_id`` is given)."""
        query = ("SELECT * FROM runs WHERE ((bill_json IS NOT NULL AND updated_at >= :since)"
                 " OR (finished = 0 AND quote_json IS NOT NULL AND created_at >= :since))")
        params: dict[str, Any] = {"since": since}
        if session_id is not None:
            query += " AND session_id = :session_id"
            params["session_id"] = session_id
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at DESC", params).fetchall()
        return [_record(r) for r in rows]

    def responses(self, run_id: str) -> list[Any]:
        """Every answer the provider gave for a run, oldest first (the create's, then each poll's).

        A run recorded before answers were kept has only its last one, ``last_response``.
        """
        with self._connect() as db:
            rows = db.execute("SELECT body FROM responses WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
            if not rows:
                rows = db.execute(
                    "SELECT last_response AS body FROM runs WHERE run_id = ? AND last_response IS NOT NULL", (run_id,)
                ).fetchall()
        return [json.loads(r["body"]) for r in rows]

    def latest(self, session_id: str, mode: str) -> RunRecord | None:
        """The newest run of one browser (or API session) in one mode, ended or not."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM runs WHERE session_id = ? AND json_valid(request_json)"
                " AND json_extract(request_json, '$.mode') = ? ORDER BY created_at DESC LIMIT 1",
                (session_id, mode),
            ).fetchone()
        return _record(row) if row is not None else None

    def batch(self, batch_id: str) -> list[RunRecord]:
        """The runs of one variations batch, in the order they were recorded."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM runs WHERE batch_id = ? ORDER BY created_at, rowid", (batch_id,)
            ).fetchall()
        return [_record(r) for r in rows]

    def batches(self, session_id: str | None = None, *, limit: int = 50) -> list[str]:
        """Batch ids, newest first; one browser session's when ``session_id`` is given."""
        query = "SELECT batch_id, MIN(created_at) AS started FROM runs WHERE batch_id IS NOT NULL"
        params: tuple[Any, ...] = ()
        if session_id is not None:
            query += " AND session_id = ?"
            params = (session_id,)
        with self._connect() as db:
            rows = db.execute(query + " GROUP BY batch_id ORDER BY started DESC LIMIT ?", (*params, limit)).fetchall()
        return [r["batch_id"] for r in rows]

    def events(self, run_id: str) -> list[LedgerEvent]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id, at, state, detail, request_id FROM events WHERE run_id = ? ORDER BY id", (run_id,)
            ).fetchall()
        return [LedgerEvent(r["run_id"], r["at"], r["state"], r["detail"], r["request_id"]) for r in rows]


def _add_columns(db: sqlite3.Connection) -> None:
    """Give a ledger written by an older version the columns added since (its rows keep NULL)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    for name, kind in _ADDED_COLUMNS:
        if name in have:
            continue
        try:
            db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc).lower():  # another process added it a moment ago
                raise
    db.execute("CREATE INDEX IF NOT EXISTS runs_batch ON runs (batch_id, created_at)")


def _keep_response(db: sqlite3.Connection, run_id: str, at: float, changes: dict[str, Any]) -> None:
    """Keep an answer written as ``last_response`` in ``responses`` too (same transaction)."""
    body = changes.get("last_response")
    if body is not None:
        db.execute("INSERT INTO responses (run_id, at, body) VALUES (?, ?, ?)", (run_id, at, body))


def _record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(**{name: row[name] for name in _COLUMNS})
