"""A variations batch as a group in History: the Batch filter, and the batch's bundle.

Choosing a batch in History's *Batch* filter lists only its runs (so Compare offers them), and
*Build batch bundle* zips every run's bundle (``history.write_run_bundle``) under
``runs/<n>-<run id>/``, with ``batch.json`` naming each run's axis values and how it ended.
Only this browser's batches are listed, and a batch id of another browser lists nothing.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from playground.client import RunRecord, label_of
from playground.ui import batch_runs, history_views
from playground.ui.handlers import owner_of
from playground.ui.services import Services

if TYPE_CHECKING:
    from playground.ui.history import HistoryTab

BundleWriter = Callable[[Services, RunRecord, list[str]], Path]
Secrets = Callable[[Services, gr.Request], list[str]]
_LISTED = 30  # the newest batches the filter offers


def batch_records(services: Services, owner: str, batch: object) -> list[RunRecord]:
    """The owner's runs of a batch, newest first as History lists runs; none for another
    browser's batch. Anything that is no batch id at all is refused, naming the parameter."""
    found = batch_runs.valid_batch_id(batch)
    if found is None:
        raise gr.Error("batch: not a batch id; choose a batch in the Batch filter (or all)")
    return list(reversed(batch_runs.batch_of(services, owner, found)))


def batch_choice(batch_id: str, records: list[RunRecord]) -> tuple[str, str]:
    """``2026-11-29 12:03 · text-to-video · 4 runs (batch-1a2b…)``: one entry of the filter."""
    first = records[0]
    mode = history_views.request_of(first).get("mode", "?")
    count = len(records)
    when = history_views._when(first.created_at)[:16]
    return f"{when} · {mode} · {count} run{'s' * (count != 1)} ({batch_id})", batch_id


def make_choices(services: Services) -> Callable[[str | None, gr.Request], Any]:
    def history_batches(current: str | None, request: gr.Request) -> Any:
        """The Batch filter's choices: this browser's newest batches."""
        owner = owner_of(services, request)
        ledger = services.ledger()
        choices: list[tuple[str, str]] = [("all runs", "all")]
        for batch_id in ledger.batches(owner, limit=_LISTED):
            records = [r for r in ledger.batch(batch_id) if r.session_id == owner]
            if records:
                choices.append(batch_choice(batch_id, records))
        keep = current if any(value == current for _, value in choices) else "all"
        return gr.update(choices=choices, value=keep)

    return history_batches


def write_batch_bundle(services: Services, batch_id: str, records: list[RunRecord], secrets: list[str],
                       write_one: BundleWriter) -> Path:
    """One zip for the batch: ``batch.json`` and each run's bundle under ``runs/<n>-<run id>/``."""
    path = services.data_dir / "bundles" / f"{batch_id}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for number, record in enumerate(records, 1):
            folder = f"runs/{number:02d}-{record.run_id}"
            runs.append({
                "run_id": record.run_id, "folder": folder, "values": record.variation() or {},
                "label": batch_runs.label(record.variation()), "state": record.state,
                "state_label": label_of(record.state),
                "task_id": record.task_id,
            })
            with zipfile.ZipFile(write_one(services, record, secrets)) as one:
                for item in one.infolist():
                    out.writestr(f"{folder}/{item.filename}", one.read(item))
        summary = {"batch_id": batch_id, "runs": runs}
        out.writestr("batch.json", json.dumps(summary, indent=2, ensure_ascii=False))
    return path


def make_bundle(services: Services, write_one: BundleWriter, secrets_of: Secrets) -> Callable[..., str | None]:
    def batch_bundle(batch: str | None, request: gr.Request) -> str | None:
        """A zip of every run of one of this browser's batches, with each run's axis values."""
        found = batch_runs.valid_batch_id(batch)
        records = batch_runs.batch_of(services, owner_of(services, request), found) if found else []
        if found is None or not records:
            raise gr.Error("batch: choose one of your batches in the Batch filter first")
        return services.handout(write_batch_bundle(services, found, records, secrets_of(services, request),
                                                   write_one))

    return batch_bundle


def wire_batches(services: Services, tab: HistoryTab, triggers: Iterable[Any], write_one: BundleWriter,
                 secrets_of: Secrets) -> None:
    if tab.batch_filter is None or tab.batch_bundle is None:
        return
    gr.on(list(triggers), make_choices(services), [tab.batch_filter], [tab.batch_filter],
          api_visibility="private", queue=False, show_progress="hidden")
    tab.batch_bundle.click(make_bundle(services, write_one, secrets_of), [tab.batch_filter], [tab.bundle_file],
                           api_name="batch_bundle")
