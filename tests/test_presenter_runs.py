"""What the presenter's screens are built from (issue 12, items 3 and 13), without a browser.

* The ledger keeps every answer of a run (a bundle's responses.json holds them all, as its
  README says), and the wire body in the order it was sent (History and exports show the
  preview's order).
* The ledger names a browser's latest run per mode: what a reloaded tab shows.
* The status names one request id per request: the create's, not each poll's.
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gradio_client import Client

from playground.client import Ledger, RunRecord
from playground.client.runner import run
from playground.ui.restore import RESTORE_WINDOW_S, latest_run
from tests.fixtures_app import RunningApp, gradio_client
from tests.fixtures_client import collect, options, sandbox_provider

CONNECTION = ["sandbox", "dashscope", "", "none"]


def t2v_form(prompt: str) -> list[Any]:
    """The text-to-video form: prompt, negative prompt, duration, resolution, ratio, seed,
    random seed, prompt extend, watermark, audio URL."""
    return [prompt, None, 2, "720P", "16:9", 42, True, True, False, ""]


def record(ledger: Ledger, run_id: str, *, owner: str, mode: str | None, at: float, finished: int = 1) -> None:
    request = json.dumps({"mode": mode, "prompt": run_id}) if mode else None
    ledger.create(RunRecord(run_id=run_id, created_at=at, updated_at=at, provider="sandbox", wire="dashscope",
                            base_url="http://127.0.0.1:1/sandbox", state="succeeded" if finished else "running",
                            session_id=owner, request_json=request, finished=finished))


def test_the_ledger_keeps_every_answer_in_order(ledger: Ledger) -> None:
    record(ledger, "run-a", owner="b1", mode="text-to-video", at=1.0, finished=0)
    answers = [{"output": {"task_status": s}, "request_id": f"r{i}"}
               for i, s in enumerate(("PENDING", "RUNNING", "SUCCEEDED"))]
    ledger.event("run-a", "queued", request_id="r0", last_response=json.dumps(answers[0]))
    ledger.update("run-a", last_response=json.dumps(answers[1]), poll_count=1)
    ledger.update("run-a", poll_count=1)  # a write without an answer adds none
    ledger.update("run-a", last_response=json.dumps(answers[2]), poll_count=2)
    assert ledger.responses("run-a") == answers
    # A row from before answers were kept: its last answer is all there is.
    record(ledger, "run-old", owner="b1", mode="text-to-video", at=2.0)
    with __import__("sqlite3").connect(ledger.path) as db:
        db.execute("UPDATE runs SET last_response = ? WHERE run_id = 'run-old'", (json.dumps(answers[2]),))
    assert ledger.responses("run-old") == [answers[2]]
    assert ledger.responses("no-such-run") == []


async def test_a_run_keeps_its_wire_body_in_sent_order_and_every_answer(
    sandbox_base: str, ledger: Ledger, tmp_path: Path
) -> None:
    request = {"mode": "text-to-video", "prompt": "ordered keys", "duration": 2, "resolution": "720P"}
    events = await collect(run(request, sandbox_provider(sandbox_base), ledger, tmp_path, options=options()))
    last = events[-1]
    assert last.state == "succeeded", last.message
    stored = ledger.get(last.run_id)
    assert stored is not None and stored.wire_body is not None
    sent = last.wire_body
    assert sent is not None
    assert stored.wire_body == json.dumps(sent, ensure_ascii=False)  # not re-sorted
    assert list(json.loads(stored.wire_body)) == list(sent) == ["model", "input", "parameters"]
    answers = ledger.responses(last.run_id)
    # The create's answer, then one per status read.
    assert len(answers) == stored.poll_count + 1 and len(answers) >= 2, answers
    assert answers[-1] == json.loads(stored.last_response or "null")


def test_the_latest_run_per_mode_of_one_browser(ledger: Ledger) -> None:
    now = time.time()
    record(ledger, "t2v-old", owner="me", mode="text-to-video", at=now - 50)
    record(ledger, "t2v-new", owner="me", mode="text-to-video", at=now - 10)
    record(ledger, "i2v", owner="me", mode="image-to-video", at=now - 5, finished=0)
    record(ledger, "theirs", owner="someone else", mode="text-to-video", at=now)
    record(ledger, "recovered", owner="me", mode=None, at=now)
    found = ledger.latest("me", "text-to-video")
    assert found is not None and found.run_id == "t2v-new"
    assert ledger.latest("me", "video-edit") is None
    services: Any = SimpleNamespace(ledger=lambda: ledger)
    assert (latest_run(services, "me", "image-to-video") or SimpleNamespace(run_id="")).run_id == "i2v"
    # A run that ended long ago is History's; one still under way is shown whatever its age.
    later = now + RESTORE_WINDOW_S + 60
    assert latest_run(services, "me", "text-to-video", now=later) is None
    assert (latest_run(services, "me", "image-to-video", now=later) or SimpleNamespace(run_id="")).run_id == "i2v"


def _fact(status: str, name: str) -> str | None:
    marker = f"<th>{name}</th><td><code>"
    if marker not in status:
        return None
    return status.split(marker, 1)[1].split("</code>", 1)[0]


def test_one_request_id_per_request_and_a_bundle_with_every_answer(
    playground_app: RunningApp, tmp_path: Path
) -> None:
    client: Client = gradio_client(playground_app.url, download_files=str(tmp_path))
    try:
        job = client.submit(*CONNECTION, *t2v_form("One request id"), api_name="/send_text_to_video")
        job.result(timeout=180)
        statuses = [out[0] for out in job.outputs()]
        assert 'data-state="succeeded"' in statuses[-1]
        shown = {_fact(s, "Request id") for s in statuses} - {None, "—"}
        polls = {_fact(s, "Polls") for s in statuses} - {None, "0"}
        assert len(polls) >= 2, "the run was too short to poll more than once"
        assert len(shown) == 1, f"the request id changed while the run was followed: {shown}"
        table, _ = client.predict("all", "all", api_name="/history")
        run_id = next(row[-1] for row in table["data"] if "One request id" in json.dumps(row))
        bundle = client.predict(run_id, api_name="/run_bundle")
        path = Path(bundle if isinstance(bundle, str) else bundle["path"])
        with zipfile.ZipFile(path) as archive:
            answers = json.loads(archive.read("responses.json"))
            wire = archive.read("wire.json").decode()
        assert len(answers) >= 3, answers  # the create's answer and each poll's
        assert answers[0].get("output", {}).get("task_status") in ("PENDING", "QUEUED", "RUNNING"), answers[0]
        assert answers[-1]["output"]["task_status"] == "SUCCEEDED"
        assert list(json.loads(wire)) == ["model", "input", "parameters"]
    finally:
        client.close()
