"""A browser's showcase (its starred runs, in order) and its read-only share links, in SQLite.

The tables live in the ledger's own file (:func:`playground.client.ledger_location.ledger_path`)
so a data directory stays one file to back up, but they are this module's alone::

    stars(owner, run_id, position, starred_at)          PK (owner, run_id)
    shares(share_id PK, owner, run_ids_json, created_at, expires_at, revoked_at)

``owner`` is the signed browser id (``playground.web.identity``): the store never takes an owner
from a request, its callers pass the one the cookie proves. Each call opens its own short
connection like :class:`playground.client.ledger.Ledger`, so one store object is safe to share.

A share link is a capability: ``/share/<token>`` where the token is the share id signed with the
server's secret (``playground.core.signing``, purpose ``share``) with the share's expiry. The
token alone is not enough: the server also asks :meth:`ShowcaseStore.active_share`, so a revoked
share stops working at once although its signature is still good.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from playground.client import sqlite_file
from playground.client.ledger_location import ledger_path
from playground.core.signing import sign, verify

SHARE_PURPOSE = "share"
SHARE_PREFIX = "/share"
MAX_SHARED_RUNS = 200  # a showcase is a handful of runs; this only bounds a hostile caller

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stars (
    owner TEXT NOT NULL,
    run_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    starred_at REAL NOT NULL,
    PRIMARY KEY (owner, run_id)
);
CREATE INDEX IF NOT EXISTS stars_owner ON stars (owner, position);
CREATE TABLE IF NOT EXISTS shares (
    share_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    run_ids_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS shares_owner ON shares (owner, created_at);
"""


@dataclass(frozen=True)
class Share:
    """One share link's record: which runs it names, until when, and whether it was revoked."""

    share_id: str
    owner: str
    run_ids: tuple[str, ...]
    created_at: float
    expires_at: float
    revoked_at: float | None = None

    def active(self, now: float) -> bool:
        return self.revoked_at is None and now < self.expires_at


class ShowcaseStore:
    """Stars and shares over their own tables in one SQLite file (the ledger's)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        sqlite_file.create(self.path, _SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_file.connect(self.path)

    # -- stars -----------------------------------------------------------------------------------

    def star(self, owner: str, run_id: str, *, now: float | None = None) -> None:
        """Add a run to the end of this owner's showcase (a run starred already keeps its place)."""
        at = time.time() if now is None else now
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            last = db.execute("SELECT MAX(position) FROM stars WHERE owner = ?", (owner,)).fetchone()[0]
            db.execute(
                "INSERT OR IGNORE INTO stars (owner, run_id, position, starred_at) VALUES (?, ?, ?, ?)",
                (owner, run_id, (last if last is not None else -1) + 1, at),
            )
            db.execute("COMMIT")

    def unstar(self, owner: str, run_id: str) -> bool:
        """Take a run out of the showcase; False if it was not in it."""
        with self._connect() as db:
            return db.execute("DELETE FROM stars WHERE owner = ? AND run_id = ?", (owner, run_id)).rowcount > 0

    def starred(self, owner: str) -> list[str]:
        """This owner's starred run ids, in showcase order."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id FROM stars WHERE owner = ? ORDER BY position, starred_at", (owner,)
            ).fetchall()
        return [r["run_id"] for r in rows]

    def is_starred(self, owner: str, run_id: str) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT 1 FROM stars WHERE owner = ? AND run_id = ?", (owner, run_id)).fetchone()
        return row is not None

    def reorder(self, owner: str, run_ids: Sequence[str]) -> list[str]:
        """Put the named starred runs first, in the given order; the others keep their relative
        order after them. Ids that are not starred are ignored (never starred by this call)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            current = [r["run_id"] for r in db.execute(
                "SELECT run_id FROM stars WHERE owner = ? ORDER BY position, starred_at", (owner,))]
            have = set(current)
            first = list(dict.fromkeys(r for r in run_ids if r in have))
            order = first + [r for r in current if r not in set(first)]
            db.executemany(
                "UPDATE stars SET position = ? WHERE owner = ? AND run_id = ?",
                [(i, owner, run_id) for i, run_id in enumerate(order)],
            )
            db.execute("COMMIT")
        return order

    # -- shares ----------------------------------------------------------------------------------

    def share(self, owner: str, run_ids: Sequence[str], *, ttl_s: float, now: float | None = None) -> Share:
        """Record a new share of these runs (in this order) that lasts ``ttl_s`` seconds.

        The caller checks the runs are the owner's; this only refuses an empty or oversized list.
        """
        ids = tuple(dict.fromkeys(run_ids))
        if not ids:
            raise ValueError("run_ids: name at least one run to share")
        if len(ids) > MAX_SHARED_RUNS:
            raise ValueError(f"run_ids: at most {MAX_SHARED_RUNS} runs per share link; share fewer")
        if ttl_s <= 0:
            raise ValueError("ttl_s: a share must last a positive number of seconds")
        at = time.time() if now is None else now
        # Whole seconds: the signed token carries the expiry as an integer, and the two must agree.
        record = Share(secrets.token_hex(16), owner, ids, at, float(int(at + ttl_s)))
        with self._connect() as db:
            db.execute(
                "INSERT INTO shares (share_id, owner, run_ids_json, created_at, expires_at, revoked_at)"
                " VALUES (?, ?, ?, ?, ?, NULL)",
                (record.share_id, owner, json.dumps(list(ids)), record.created_at, record.expires_at),
            )
        return record

    def shares(self, owner: str) -> list[Share]:
        """This owner's shares, newest first, revoked and expired ones included (History lists them)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM shares WHERE owner = ? ORDER BY created_at DESC", (owner,)).fetchall()
        return [_share(r) for r in rows]

    def revoke(self, owner: str, share_id: str, *, now: float | None = None) -> bool:
        """Stop one of this owner's shares from working; False if it is not theirs or already revoked."""
        at = time.time() if now is None else now
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE shares SET revoked_at = ? WHERE share_id = ? AND owner = ? AND revoked_at IS NULL",
                (at, share_id, owner),
            )
            return cursor.rowcount > 0

    def get_share(self, share_id: str) -> Share | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM shares WHERE share_id = ?", (share_id,)).fetchone()
        return _share(row) if row is not None else None

    def active_share(self, share_id: str, *, now: float | None = None) -> Share | None:
        """The share if it exists, is not revoked and has not expired; otherwise None."""
        record = self.get_share(share_id)
        at = time.time() if now is None else now
        return record if record is not None and record.active(at) else None


def open_showcase(data_dir: Path) -> ShowcaseStore:
    """The showcase store of a data directory: its tables in the ledger's file."""
    return ShowcaseStore(ledger_path(data_dir))


def _share(row: sqlite3.Row) -> Share:
    return Share(row["share_id"], row["owner"], tuple(json.loads(row["run_ids_json"])),
                 row["created_at"], row["expires_at"], row["revoked_at"])


# -- capability links ------------------------------------------------------------------------------

def share_token(secret: bytes, share: Share) -> str:
    """The signed token naming a share id, expiring with the share."""
    return sign(secret, SHARE_PURPOSE, share.share_id, expires_at=int(share.expires_at))


def share_url(secret: bytes, share: Share) -> str:
    """The share's capability path, ``/share/<token>`` (the caller prefixes its own origin)."""
    return f"{SHARE_PREFIX}/{share_token(secret, share)}"


def share_id_of(secret: bytes, token: str | None, *, now: float | None = None) -> str | None:
    """The share id a token names if this server signed it and it has not expired; else None.

    Only half of the check: the caller must still ask :meth:`ShowcaseStore.active_share`.
    """
    value = verify(secret, SHARE_PURPOSE, token, now=time.time() if now is None else now)
    return value if value and value.isalnum() and len(value) <= 64 else None


def active_share_for_token(store: ShowcaseStore, secret: bytes, token: str | None,
                           *, now: float | None = None) -> Share | None:
    """Both halves: a good signature, and a share that exists, is not revoked and not expired."""
    at = time.time() if now is None else now
    share_id = share_id_of(secret, token, now=at)
    return store.active_share(share_id, now=at) if share_id else None
