"""A variations batch driven from start to end: the runs, the gates, and the summary files.

The sweep command (``playground/sweep_cli.py``) builds a :class:`SweepPlan` from a judged grid
(:mod:`playground.core.variations`), and :func:`run_sweep` runs its valid variations at once,
each as an ordinary run (:func:`playground.client.runner.run`) holding its key's
:class:`~playground.client.pressure.KeyPressure`, filed under one batch id in the ledger.

``summary.json`` (the plan: each variation's axis values, wire body, run id and outcome) and
``summary.csv`` (one row per variation) are rewritten whenever a variation changes state, so
an interrupted sweep leaves a summary that says which run each variation is. Run ids are given
out before anything starts; the ledger records a run before its create is sent, so a run id
the ledger does not know was never sent. :func:`work_for` decides, on ``--resume``, what each
variation still needs: nothing (it ended, or its create's outcome is unknown: never resent),
a resume of its run, or (never sent) a fresh run.

The API key is never written: the plan names the provider by kind, wire, base URL and scenario.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from playground.client.billing import stored
from playground.client.ledger import Ledger, RunRecord
from playground.client.pressure import pressure_for
from playground.client.providers import ProviderConfig
from playground.client.run_state import RunEvent, RunOptions
from playground.client.runner import resume, run
from playground.core.quote import Quote
from playground.core.run_states import RunState

SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"
CSV_COLUMNS = ("index", "label", "state", "run_id", "task_id", "video_path", "width", "height", "duration_s", "fps",
               "billed_seconds", "problems")
Work = Literal["done", "resume", "fresh", "invalid"]


class SweepFileError(ValueError):
    """A summary that cannot be read back (for ``--resume``): one printable line."""


@dataclass
class SweepItem:
    """One variation of the batch and what became of it."""

    index: int
    label: str
    values: dict[str, Any]
    body: dict[str, Any]  # the wire body to send; {} when invalid
    problems: list[str] = field(default_factory=list)
    run_id: str | None = None
    task_id: str | None = None
    state: str | None = None
    video_path: str | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    fps: float | None = None
    billed_seconds: float | None = None

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass
class SweepPlan:
    """The batch: its id, how it was made, where it runs, and its variations in grid order."""

    batch_id: str
    mode: str
    axes: list[dict[str, Any]]
    provider: dict[str, Any]  # kind, wire, base_url, scenario: never the key
    ledger: str
    items: list[SweepItem]
    created_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "items": [asdict(i) for i in self.items]}


def new_batch_id() -> str:
    return datetime.now(UTC).strftime("batch-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("run-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


def describe_provider(provider: ProviderConfig) -> dict[str, Any]:
    return {"kind": provider.kind, "wire": provider.wire, "base_url": provider.base_url, "scenario": provider.scenario}


# -- the summary files --------------------------------------------------------------------------


def write_summary(folder: Path, plan: SweepPlan) -> None:
    """summary.json and summary.csv, each replaced whole (a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    _replace(folder / SUMMARY_JSON, json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS[:2], *_axis_names(plan), *CSV_COLUMNS[2:]])
    for item in plan.items:
        row = asdict(item)
        row["problems"] = " | ".join(item.problems)
        axis = [_cell(item.values.get(name)) for name in _axis_names(plan)]
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS[:2]] + axis + [_cell(row[c]) for c in CSV_COLUMNS[2:]])
    _replace(folder / SUMMARY_CSV, out.getvalue())


def read_summary(folder: Path) -> SweepPlan:
    """The plan an earlier sweep wrote into ``folder``."""
    path = folder / SUMMARY_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = [SweepItem(**item) for item in data.pop("items")]
        return SweepPlan(**data, items=items)
    except FileNotFoundError:
        raise SweepFileError(f"--resume {folder}: no {SUMMARY_JSON} there; give the --out folder of a sweep") from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SweepFileError(f"--resume {folder}: {SUMMARY_JSON} cannot be read ({exc}); it was not written by "
                             "a sweep, or was edited") from None


def _axis_names(plan: SweepPlan) -> list[str]:
    return [str(a["field"]) for a in plan.axes]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _replace(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


# -- what each variation needs ------------------------------------------------------------------


def work_for(item: SweepItem, ledger: Ledger) -> Work:
    """What a variation of an interrupted sweep still needs, from its run's row in the ledger."""
    if not item.valid:
        return "invalid"
    if item.run_id is None:
        return "fresh"
    record = ledger.get(item.run_id)
    if record is None:
        return "fresh"  # the row is written before the create, so nothing was ever sent
    if not record.finished:
        return "resume"  # waiting (created now), in flight (followed), or a lost create (looked for)
    if record.state == RunState.CANCELED and record.task_id is None:
        return "fresh"  # cancelled while it waited: nothing was sent; it gets a new run
    return "done"  # ended: succeeded, failed, or an outcome unknown, which is never resent


def refresh(item: SweepItem, record: RunRecord | None) -> None:
    """Copy a run's outcome from its ledger row into the item (the ledger is the one source)."""
    if record is None:
        return
    item.state, item.task_id, item.video_path = record.state, record.task_id, record.result_path
    media = stored(record.media_json) or {}
    item.width, item.height = media.get("width"), media.get("height")
    item.duration_s, item.fps = media.get("duration_s"), media.get("fps")
    bill = stored(record.bill_json) or {}
    item.billed_seconds = bill.get("billed_seconds")


# -- running ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepRun:
    """Where and how the batch runs."""

    provider: ProviderConfig
    ledger: Ledger
    out_dir: Path
    summary_dir: Path
    options: RunOptions
    concurrency: int
    deadline_s: float = 900.0
    session_id: str | None = None
    quotes: Mapping[int, Quote] = field(default_factory=dict)
    on_event: Callable[[SweepItem, RunEvent], None] | None = None


async def run_sweep(plan: SweepPlan, how: SweepRun) -> SweepPlan:
    """Run every variation that still needs work, at most ``concurrency`` tasks at a time for
    the key; the summary is rewritten at every state change and once more at the end (also
    when the sweep is cancelled: Ctrl-C)."""
    gate = pressure_for(how.provider, how.concurrency)
    jobs: list[tuple[SweepItem, Work]] = [(item, work_for(item, how.ledger)) for item in plan.items]
    for item, work in jobs:
        if work == "fresh":
            item.run_id, item.task_id, item.state = new_run_id(), None, None
    write_summary(how.summary_dir, plan)
    try:
        async with asyncio.TaskGroup() as group:
            for item, work in jobs:
                if work in ("fresh", "resume"):
                    group.create_task(_drive(plan, item, work, how, gate))
    finally:
        for item in plan.items:
            if item.run_id is not None:
                refresh(item, how.ledger.get(item.run_id))
        write_summary(how.summary_dir, plan)
    return plan


async def _drive(plan: SweepPlan, item: SweepItem, work: Work, how: SweepRun, gate: Any) -> None:
    assert item.run_id is not None
    options = replace(how.options, gates=(gate,), batch=(plan.batch_id, item.values), quote=how.quotes.get(item.index))
    if work == "resume":
        stream = resume(item.run_id, how.ledger, how.provider, out_dir=how.out_dir, options=options)
    else:
        stream = run(item.body, how.provider, how.ledger, how.out_dir, deadline_s=how.deadline_s,
                     session_id=how.session_id, run_id=item.run_id, options=options)
    async for event in stream:
        if event.state != item.state or event.task_id != item.task_id:
            item.state, item.task_id = event.state, event.task_id
            if event.terminal:
                refresh(item, how.ledger.get(item.run_id))
            write_summary(how.summary_dir, plan)
        if how.on_event is not None:
            how.on_event(item, event)
        if event.terminal:
            break


def counts(plan: SweepPlan) -> dict[str, int]:
    """How many variations are invalid, succeeded, ended otherwise, or not ended."""
    found = {"invalid": 0, "succeeded": 0, "failed": 0, "open": 0}
    for item in plan.items:
        state = RunState.parse(item.state)
        if not item.valid:
            found["invalid"] += 1
        elif state is RunState.SUCCEEDED:
            found["succeeded"] += 1
        elif state is not None and state.terminal:
            found["failed"] += 1
        else:
            found["open"] += 1
    return found


__all__ = [
    "SUMMARY_CSV",
    "SUMMARY_JSON",
    "SweepFileError",
    "SweepItem",
    "SweepPlan",
    "SweepRun",
    "counts",
    "describe_provider",
    "new_batch_id",
    "read_summary",
    "refresh",
    "run_sweep",
    "work_for",
    "write_summary",
]
