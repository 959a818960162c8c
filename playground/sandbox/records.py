"""What a task is, and the registry on disk that lets tasks outlive the process that took them.

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

import asyncio
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from playground.core.contract import WRITTEN_STATUS, read_state
from playground.core.polling import State
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


_WORDS = WRITTEN_STATUS["dashscope"]


class Status(StrEnum):
    """Where a task is, spelled as DashScope writes it (the stored records keep these words)."""

    PENDING = _WORDS["queued"]
    RUNNING = _WORDS["running"]
    SUCCEEDED = _WORDS["succeeded"]
    FAILED = _WORDS["failed"]
    CANCELED = _WORDS["canceled"]

    @property
    def state(self) -> State:
        """The state in the playground's terms, which each surface writes in its own words."""
        return read_state("dashscope", self.value)


FINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELED})


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    param: str | None = None


@dataclass
class Task:
    """One submitted request and what has become of it."""

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
    status: Status = Status.PENDING
    scheduled_at: float | None = None
    ended_at: float | None = None
    outcome: Outcome | None = None
    failure: Failure | None = None
    expired: bool = False
    # Live state, never stored: a restored task starts its render over anyway.
    runner: asyncio.Task[None] | None = field(default=None, repr=False)
    render_started_at: float | None = None
    render_estimate_s: float = 0.0  # fixed when the render starts, so progress only grows

    @property
    def finished(self) -> bool:
        return self.status in FINAL


def to_json(task: Task) -> str:
    """The stored form of a task: everything but its runner."""
    document: dict[str, Any] = {
        "v": _VERSION,
        "surface": task.surface,
        "owner": task.owner,
        "model": task.model,
        "request": REQUEST_ADAPTER.dump_python(task.request, mode="json"),
        "seed": task.seed,
        "scenario": task.scenario.name if task.scenario is not None else None,
        "delays": asdict(task.delays),
        "origin": {
            "netlocs": sorted(task.origin.netlocs),
            "prefixes": sorted(task.origin.prefixes),
            "owner": task.origin.owner,
        },
        "seq": task.seq,
        "submitted_at": task.submitted_at,
        "status": task.status.value,
        "scheduled_at": task.scheduled_at,
        "ended_at": task.ended_at,
        "outcome": asdict(task.outcome) if task.outcome is not None else None,
        "failure": asdict(task.failure) if task.failure is not None else None,
        "expired": task.expired,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def from_json(task_id: str, text: str) -> Task:
    """The task a stored document describes; ValueError, KeyError or TypeError if it cannot be read."""
    doc = json.loads(text)
    if doc.get("v") != _VERSION:
        raise ValueError(f"record version {doc.get('v')!r} is not {_VERSION}")
    surface = doc["surface"]
    if surface not in _SURFACES:
        raise ValueError(f"unknown surface {surface!r}")
    scenario = doc["scenario"]
    origin = doc["origin"]
    outcome = doc["outcome"]
    failure = doc["failure"]
    return Task(
        task_id=task_id,
        surface=surface,
        owner=str(doc["owner"]),
        model=str(doc["model"]),
        # The stored JSON turned tuples into lists, which strict validation would refuse.
        request=REQUEST_ADAPTER.validate_python(doc["request"], strict=False),
        seed=int(doc["seed"]),
        scenario=SCENARIOS[scenario] if scenario is not None else None,
        delays=timing.Delays(float(doc["delays"]["queue_s"]), float(doc["delays"]["run_s"])),
        origin=Origin(frozenset(origin["netlocs"]), frozenset(origin["prefixes"]), str(origin["owner"])),
        seq=int(doc["seq"]),
        submitted_at=float(doc["submitted_at"]),
        status=Status(doc["status"]),
        scheduled_at=_optional_float(doc["scheduled_at"]),
        ended_at=_optional_float(doc["ended_at"]),
        outcome=Outcome(**outcome) if outcome is not None else None,
        failure=Failure(**failure) if failure is not None else None,
        expired=bool(doc["expired"]),
    )


def _optional_float(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a time")
    return float(value)


class TaskRecords:
    """One SQLite file of task records; safe to call from any thread."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILE_NAME
        # One connection shared under a lock: the loop thread writes, the sweep deletes from a
        # worker thread, and SQLite connections are not to be used from two threads at once.
        self._lock = threading.Lock()
        try:
            self._db: sqlite3.Connection | None = self._open()
        except sqlite3.DatabaseError as exc:
            # Not a database (a truncated copy, another program's file): keep it for a look,
            # start empty. Losing old tasks beats a sandbox that cannot start.
            aside = self.path.with_name(f"{FILE_NAME}.unreadable")
            _log.warning("sandbox: %s cannot be read (%s); moved to %s", self.path, exc, aside.name)
            for suffix in ("", "-wal", "-shm"):
                part = Path(f"{self.path}{suffix}")
                if part.exists():
                    part.replace(f"{aside}{suffix}")
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # A sandbox restarted on the same folder may briefly overlap the one shutting down.
            db.execute("PRAGMA busy_timeout=5000")
            db.execute("CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, document TEXT NOT NULL)")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def save(self, task: Task) -> None:
        text = to_json(task)
        with self._lock:
            if self._db is None:
                return  # closed: a late transition during shutdown is not worth an error
            self._db.execute(
                "INSERT INTO tasks (task_id, document) VALUES (?, ?) "
                "ON CONFLICT(task_id) DO UPDATE SET document = excluded.document",
                (task.task_id, text),
            )

    def load(self) -> list[Task]:
        """Every readable task; unreadable rows are logged and deleted."""
        with self._lock:
            assert self._db is not None, "load before close"
            rows = self._db.execute("SELECT task_id, document FROM tasks").fetchall()
        tasks: list[Task] = []
        broken: list[str] = []
        for task_id, text in rows:
            try:
                tasks.append(from_json(task_id, text))
            except (ValueError, KeyError, TypeError) as exc:
                _log.warning("sandbox: dropping the unreadable record of task %s: %s", task_id, exc)
                broken.append(task_id)
        self.delete(broken)
        return tasks

    def delete(self, task_ids: Iterable[str]) -> None:
        ids = [(task_id,) for task_id in task_ids]
        if not ids:
            return
        with self._lock:
            if self._db is not None:
                self._db.execute("BEGIN")
                self._db.executemany("DELETE FROM tasks WHERE task_id = ?", ids)
                self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
