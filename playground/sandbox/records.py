"""The task registry on disk, so tasks outlive the process that accepted them.

A real provider keeps a task for 24 h whatever happens to the machine that took it; the
playground's "resume unfinished runs after a restart" can only be rehearsed against a sandbox
that does the same. Every change of a task's state is written here before anyone can see it:
the submit before its answer leaves, each later transition as it happens. On start-up the
board reads the records back (see ``TaskBoard.restore`` in tasks.py).

Storage is one SQLite file, ``<data_dir>/sandbox/tasks.sqlite3``, one row per task holding a
JSON document. WAL with ``synchronous=NORMAL`` makes each write a small append with no fsync:
a committed write survives the process being killed (what matters here), though not
necessarily a power cut, which is an acceptable trade for a sandbox. Writes are a fraction of
a millisecond, so they run on the event loop rather than paying a thread hop each.

Rows that no longer decode (written by an incompatible version, say) are skipped with a
warning and deleted, never fatal: a sandbox must start.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from playground.core.request import REQUEST_ADAPTER, VideoRequest
from playground.core.wire import WireFormat
from playground.sandbox import timing
from playground.sandbox.files import Origin
from playground.sandbox.scenarios import SCENARIOS, Scenario
from playground.sandbox.worker import Outcome

FILE_NAME = "tasks.sqlite3"
_VERSION = 1  # bump when the document's meaning changes; other versions are not read
_SURFACES: tuple[WireFormat, ...] = ("dashscope", "gateway")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    param: str | None = None


@dataclass(frozen=True)
class Record:
    """Everything about a task except its live asyncio runner."""

    task_id: str
    surface: WireFormat
    owner: str
    model: str
    request: VideoRequest
    seed: int
    scenario: Scenario | None
    delays: timing.Delays
    origin: Origin
    seq: int
    submitted_at: float
    status: str
    scheduled_at: float | None
    ended_at: float | None
    outcome: Outcome | None
    failure: Failure | None
    expired: bool


def encode(record: Record) -> str:
    document: dict[str, Any] = {
        "v": _VERSION,
        "surface": record.surface,
        "owner": record.owner,
        "model": record.model,
        "request": REQUEST_ADAPTER.dump_python(record.request, mode="json"),
        "seed": record.seed,
        "scenario": record.scenario.name if record.scenario is not None else None,
        "delays": asdict(record.delays),
        "origin": {
            "netlocs": sorted(record.origin.netlocs),
            "prefixes": sorted(record.origin.prefixes),
            "owner": record.origin.owner,
        },
        "seq": record.seq,
        "submitted_at": record.submitted_at,
        "status": record.status,
        "scheduled_at": record.scheduled_at,
        "ended_at": record.ended_at,
        "outcome": asdict(record.outcome) if record.outcome is not None else None,
        "failure": asdict(record.failure) if record.failure is not None else None,
        "expired": record.expired,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def decode(task_id: str, text: str) -> Record:
    """The record a row holds; ValueError (or KeyError, TypeError) when it cannot be read."""
    doc = json.loads(text)
    if doc.get("v") != _VERSION:
        raise ValueError(f"record version {doc.get('v')!r} is not {_VERSION}")
    surface = doc["surface"]
    if surface not in _SURFACES:
        raise ValueError(f"unknown surface {surface!r}")
    scenario_name = doc["scenario"]
    origin = doc["origin"]
    outcome = doc["outcome"]
    failure = doc["failure"]
    return Record(
        task_id=task_id,
        surface=surface,
        owner=str(doc["owner"]),
        model=str(doc["model"]),
        request=REQUEST_ADAPTER.validate_python(doc["request"], strict=False),
        seed=int(doc["seed"]),
        scenario=SCENARIOS[scenario_name] if scenario_name is not None else None,
        delays=timing.Delays(**doc["delays"]),
        origin=Origin(frozenset(origin["netlocs"]), frozenset(origin["prefixes"]), str(origin["owner"])),
        seq=int(doc["seq"]),
        submitted_at=float(doc["submitted_at"]),
        status=str(doc["status"]),
        scheduled_at=doc["scheduled_at"],
        ended_at=doc["ended_at"],
        outcome=Outcome(**outcome) if outcome is not None else None,
        failure=Failure(**failure) if failure is not None else None,
        expired=bool(doc["expired"]),
    )


class TaskRecords:
    """One SQLite file of task records; safe to call from any thread."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILE_NAME
        # One connection shared under a lock: the loop thread writes, the sweep deletes from a
        # worker thread, and SQLite connections are not to be used from two threads at once.
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A sandbox restarted on the same folder may briefly overlap the one shutting down.
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, document TEXT NOT NULL)")

    def save(self, record: Record) -> None:
        text = encode(record)
        with self._lock:
            if self._db is None:
                return  # closed: a late transition during shutdown is not worth an error
            self._db.execute(
                "INSERT INTO tasks (task_id, document) VALUES (?, ?) "
                "ON CONFLICT(task_id) DO UPDATE SET document = excluded.document",
                (record.task_id, text),
            )

    def load(self) -> list[Record]:
        """Every readable record; unreadable rows are logged and deleted."""
        with self._lock:
            assert self._db is not None, "load before close"
            rows = self._db.execute("SELECT task_id, document FROM tasks").fetchall()
        records: list[Record] = []
        broken: list[str] = []
        for task_id, text in rows:
            try:
                records.append(decode(task_id, text))
            except (ValueError, KeyError, TypeError) as exc:
                _log.warning("sandbox: dropping the unreadable record of task %s: %s", task_id, exc)
                broken.append(task_id)
        self.delete(broken)
        return records

    def delete(self, task_ids: Iterable[str]) -> None:
        ids = [(task_id,) for task_id in task_ids]
        if not ids:
            return
        with self._lock:
            if self._db is not None:
                self._db.executemany("DELETE FROM tasks WHERE task_id = ?", ids)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
