"""Variations without a browser: the Gradio endpoints as a script calls them (preview, send,
batch_status, the History batch filter and bundle), the contact sheet's cell actions as handler
functions, and the attacks: another browser's batch id, a forged cell action, bad parameters."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import httpx
import pytest

from playground.client import Ledger, RunRecord, open_ledger
from playground.core.profile import load_profile
from playground.core.signing import BROWSER_COOKIE
from playground.core.variations import VariationError
from playground.settings import Settings
from playground.ui import batch_runs, contact_sheet, variations_panel
from playground.ui.forms import field_names
from playground.ui.services import Services
from playground.ui.showcase_actions import store_of
from tests.fixtures_app import RunningApp, gradio_client, start_app, stop_app
from tests.waiting import wait_until

PROFILE = load_profile("wan-2.7")
# The text-to-video form as the page sends it: prompt, negative prompt, duration (empty: the
# API's default), resolution, ratio, seed, random seed, prompt extend, watermark, soundtrack, model.
FORM = ["A lantern floating over a dark lake", None, None, "720P", "16:9", 42, True, "default", "default", "",
        "default"]
SANDBOX = ["sandbox", "dashscope", "", "none"]


def axes(field_1: str = "aspect_ratio", values_1: str = "16:9, 1:1", field_2: str = "duration",
         values_2: str = "2, 3, 99", draw: int = 7) -> list[Any]:
    return [field_1, values_1, field_2, values_2, draw]


def browser(url: str) -> Any:
    """A script that carries its own signed browser cookie, as a browser does."""
    cookie = httpx.get(url + "/").cookies.get(BROWSER_COOKIE)
    assert cookie
    return gradio_client(url, headers={"Cookie": f"{BROWSER_COOKIE}={cookie}"})


def finished(client: Any, batch_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        _, data = client.predict(batch_id, api_name="/batch_status")
        return data if data and data["found"] and not data["running"] else None

    found: dict[str, Any] = wait_until(done, f"batch {batch_id} to finish", timeout_s=timeout_s, interval_s=0.5)
    return found


# -- the grid (pure parts) ---------------------------------------------------------------------


def test_seed_axis_from_n_random_is_the_same_for_the_same_draw() -> None:
    first = variations_panel.axis_of("text-to-video", PROFILE, "seed", "3 random", 11)
    again = variations_panel.axis_of("text-to-video", PROFILE, "seed", "3 random", 11)
    other = variations_panel.axis_of("text-to-video", PROFILE, "seed", "3 random", 12)
    assert first is not None and again is not None and other is not None
    assert len(first.values) == 3 and first.values == again.values and first.values != other.values


def test_prompt_template_with_value_lines() -> None:
    axis = variations_panel.axis_of("text-to-video", PROFILE, "prompt",
                                    "A {animal} at {time}\nanimal: cat, owl\ntime: dawn, dusk, noon", 1)
    assert axis is not None and len(axis.values) == 6
    assert axis.values[0] == "A cat at dawn" and axis.labels[0] == "animal=cat · time=dawn"


def test_template_without_values_names_the_placeholder() -> None:
    with pytest.raises(VariationError, match=r"\{animal\}"):
        variations_panel.axis_of("text-to-video", PROFILE, "prompt", "A {animal} at dawn", 1)


def test_none_is_no_axis_and_a_list_of_prompts_is_one_per_line() -> None:
    assert variations_panel.axis_of("text-to-video", PROFILE, "none", "anything", 1) is None
    axis = variations_panel.axis_of("text-to-video", PROFILE, "prompt", "a red kite\na blue kite", 1)
    assert axis is not None and axis.values == ("a red kite", "a blue kite")


# -- the endpoints -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(playground_app: RunningApp) -> Iterator[Any]:
    found = browser(playground_app.url)
    yield found
    found.close()


def test_preview_shows_every_body_marks_the_invalid_and_quotes(client: Any) -> None:
    shown, data = client.predict(*SANDBOX, *axes(), *FORM, api_name="/variations_preview_text_to_video")
    assert (data["count"], data["valid"], data["invalid"]) == (6, 4, 2)
    bad = [e for e in data["entries"] if not e["ok"]]
    assert [e["values"]["duration"] for e in bad] == [99, 99]
    assert all("parameters.duration: 99 is above 15" in e["problems"][0] for e in bad)
    for entry in data["entries"]:
        if entry["ok"]:  # the text the tab's Request JSON shows for one request
            assert entry["body_text"] == json.dumps(entry["body"], indent=2, ensure_ascii=False)
            assert entry["body"]["parameters"]["ratio"] == entry["values"]["aspect_ratio"]
    assert data["quote"]["count"] == 4 and data["quote"]["billed_seconds_max"] == 10
    assert "would cost" in data["headline"]
    assert 'data-invalid="2"' in shown and "invalid: not sent" in shown


def test_gateway_format_previews_gateway_bodies(client: Any) -> None:
    _, data = client.predict("sandbox", "gateway", "", "none", *axes("seed", "1, 2", "none", ""), *FORM,
                             api_name="/variations_preview_text_to_video")
    assert [e["body"]["input"]["seed"] if "input" in e["body"] else e["body"]["seed"] for e in data["entries"]] \
        == [1, 2]


def test_over_the_limit_names_the_count_and_the_fix(client: Any) -> None:
    shown, data = client.predict(*SANDBOX, *axes("seed", "17 random", "none", ""), *FORM,
                                 api_name="/variations_preview_text_to_video")
    assert "17 = 17 requests, over the limit of 16" in data["error"] and "PLAYGROUND_MAX_VARIATIONS" in data["error"]
    assert "give fewer values" in shown
    sent, _, batch = client.predict(*SANDBOX, *axes("seed", "4 random", "duration", "2, 3, 4, 5, 6"), *FORM,
                                    api_name="/variations_send_text_to_video")
    # Nothing sent: the batch output is left as it was (no id), the JSON says why.
    assert "Not sent" in sent and "20 requests" in sent and not isinstance(batch, str)


def test_bad_parameters_are_refused_by_name(client: Any) -> None:
    with pytest.raises(Exception, match="axis1_field"):
        client.predict(*SANDBOX, *axes("model_id", "x"), *FORM, api_name="/variations_preview_text_to_video")
    with pytest.raises(Exception, match="axis2_values"):
        client.predict(*SANDBOX, *axes(values_2=["2"]), *FORM,  # type: ignore[arg-type]
                       api_name="/variations_preview_text_to_video")
    with pytest.raises(Exception, match="batch_id"):
        client.predict("../../server-secret.key", api_name="/batch_status")


def test_an_all_invalid_grid_sends_nothing(client: Any, playground_app: RunningApp) -> None:
    before = len(open_ledger(playground_app.data_dir).runs(None, limit=10_000))
    shown, _, batch = client.predict(*SANDBOX, *axes("duration", "50, 99", "none", ""), *FORM,
                                     api_name="/variations_send_text_to_video")
    assert "Not sent: no request of the grid is valid" in shown and not isinstance(batch, str)
    assert len(open_ledger(playground_app.data_dir).runs(None, limit=10_000)) == before


def test_send_all_runs_the_valid_ones_as_one_batch(client: Any, playground_app: RunningApp) -> None:
    shown, data, batch_id = client.predict(*SANDBOX, *axes(), *FORM, api_name="/variations_send_text_to_video")
    assert batch_runs.valid_batch_id(batch_id) and data["batch_id"] == batch_id
    assert f"Sent 4 of 6 as batch {batch_id}; 2 invalid not sent" in shown
    status = finished(client, batch_id)
    assert status["total"] == 4 and status["states"] == {"succeeded": 4}
    labels = sorted(batch_runs.label(run["values"]) for run in status["runs"])
    assert labels == sorted(f"aspect_ratio={r} · duration={d}" for r in ("16:9", "1:1") for d in (2, 3))
    video = httpx.get(playground_app.url + status["runs"][0]["video_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    sheet, _ = client.predict(batch_id, api_name="/batch_status")
    assert sheet.count('class="sheet-cell"') == 4 and "Play all in sync" in sheet
    assert str(playground_app.data_dir) not in sheet  # signed links only, never server paths
    # The ledger holds what each run was: its body (the previewed one) and its axis values.
    records = open_ledger(playground_app.data_dir).batch(batch_id)
    previewed = {json.dumps(e["body"], sort_keys=True) for e in data["entries"] if e["ok"]}
    assert {json.dumps(r.body(), sort_keys=True) for r in records} == previewed
    # History lists the batch as a group, and bundles it whole.
    table, _ = client.predict("all", "all", batch_id, api_name="/history")
    assert sorted(row[-1] for row in table["data"]) == sorted(r.run_id for r in records)
    bundle = client.predict(batch_id, api_name="/batch_bundle")
    with zipfile.ZipFile(bundle["path"] if isinstance(bundle, dict) else bundle) as zipped:
        summary = json.loads(zipped.read("batch.json"))
        names = zipped.namelist()
    assert [run["run_id"] for run in summary["runs"]] == [r.run_id for r in records]
    assert sum(name.endswith("request.json") for name in names) == 4, names


def test_another_browsers_batch_reads_as_not_found(client: Any, playground_app: RunningApp) -> None:
    """The attack: a batch id of browser A, asked by browser B, is as good as absent."""
    _, _, batch_id = client.predict(*SANDBOX, *axes("seed", "1, 2", "none", ""), *FORM,
                                    api_name="/variations_send_text_to_video")
    mine, data = client.predict(batch_id, api_name="/batch_status")
    assert data["found"] and data["total"] == 2, "the owner sees it (the test can fail)"
    thief = browser(playground_app.url)
    try:
        shown, stolen = thief.predict(batch_id, api_name="/batch_status")
        table, _ = thief.predict("all", "all", batch_id, api_name="/history")
        with pytest.raises(Exception, match="choose one of your batches"):
            thief.predict(batch_id, api_name="/batch_bundle")
    finally:
        thief.close()
    assert stolen == {"batch_id": batch_id, "found": False, "runs": [],
                      "message": f"batch_id: no batch {batch_id} in this browser's history"}
    assert "run-" not in shown and "/media/" not in shown
    assert table["data"] in ([], [[]], None) or all(row[-1] not in mine for row in table["data"])


# -- the cell actions, as handler functions ----------------------------------------------------


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = Settings(data_dir=tmp_path)
    return Services(settings, PROFILE, "http://127.0.0.1:1/sandbox", tmp_path, b"s" * 32)


def request_of(session: str) -> Any:
    return SimpleNamespace(session_hash=session, request=None)


def planted_batch(ledger: Ledger, owner: str, batch_id: str, count: int = 2) -> list[str]:
    ids = []
    for index in range(count):
        run_id = f"run-20260101-000000-{owner[-1]}{index:07d}"
        body = {"mode": "text-to-video", "prompt": "a kite", "seed": index}
        ledger.create(RunRecord(run_id, time.time() + index, time.time(), "sandbox", "dashscope", "http://x",
                                "succeeded", session_id=owner, request_json=json.dumps(body), finished=1,
                                wire_body=json.dumps({"input": {"prompt": "a kite"}}), batch_id=batch_id,
                                variation_json=json.dumps({"seed": index})))
        ids.append(run_id)
    return ids


def select(action: str, run_id: str) -> gr.SelectData:
    return gr.SelectData(None, {"index": action, "value": run_id})


def test_star_export_and_load_act_on_the_batchs_own_runs(services: Services) -> None:
    batch_id = batch_runs.new_batch_id()
    ids = planted_batch(services.ledger(), "owner-a", batch_id)
    size = 1 + sum(len(field_names(m)) for m in ("text-to-video", "image-to-video", "reference-to-video",
                                                  "video-edit"))
    act = contact_sheet.make_action(services, size)
    starred = act(batch_id, select("star", ids[1]), request_of("owner-a"))
    assert store_of(services).is_starred("owner-a", ids[1])
    assert "★ Starred" in starred[size + 2] and "Starred" in starred[-1]
    act(batch_id, select("star", ids[1]), request_of("owner-a"))
    assert not store_of(services).is_starred("owner-a", ids[1])
    exported = act(batch_id, select("export", ids[0]), request_of("owner-a"))
    with zipfile.ZipFile(exported[size + 1]) as zipped:
        assert "request.json" in zipped.namelist()
    loaded = act(batch_id, select("load", ids[0]), request_of("owner-a"))
    assert loaded[1] == "a kite" and loaded[6] == 0 and loaded[7] is False  # prompt, seed, random seed off
    opened = act(batch_id, select("open", ids[0]), request_of("owner-a"))
    assert opened[size] == ids[0]


@pytest.mark.parametrize("action", ["star", "export", "load", "open", "delete"])
def test_a_forged_cell_action_on_another_browsers_run_is_refused(services: Services, action: str) -> None:
    batch_id = batch_runs.new_batch_id()
    theirs = planted_batch(services.ledger(), "owner-a", batch_id)
    mine = batch_runs.new_batch_id()
    planted_batch(services.ledger(), "owner-b", mine)
    act = contact_sheet.make_action(services, 1)
    for forged in ((batch_id, theirs[0]), (mine, theirs[0])):  # their batch, or my batch with their run
        with pytest.raises(gr.Error, match="no such run in this browser's batch"):
            act(forged[0], select(action, forged[1]), request_of("owner-b"))
    assert not store_of(services).is_starred("owner-b", theirs[0])


# -- a restart in the middle of a batch --------------------------------------------------------


@pytest.fixture
def own_app(tmp_path: Path) -> Iterator[RunningApp]:
    app = start_app(tmp_path / "data", delay_scale=0.6)
    yield app
    stop_app(app)


@pytest.mark.slow
def test_a_batch_survives_a_restart(own_app: RunningApp) -> None:
    """Stopped while its tasks run and started again: the same browser's sheet has every run,
    and the resumed runs finish with their videos.

    Both runs have their tasks before the stop (2 runs, 2 slots): a run still waiting for a slot
    when the server stops is another case (see the report: the embedded sandbox stops with the
    server, and a create tried during the shutdown ends ``unreachable``).
    """
    cookie = httpx.get(own_app.url + "/").cookies.get(BROWSER_COOKIE)
    headers = {"Cookie": f"{BROWSER_COOKIE}={cookie}"}
    first = gradio_client(own_app.url, headers=headers)
    _, _, batch_id = first.predict(*SANDBOX, *axes("seed", "1, 2", "none", ""), *FORM,
                                   api_name="/variations_send_text_to_video")

    def tasks_running() -> dict[str, Any] | None:
        _, data = first.predict(batch_id, api_name="/batch_status")
        return data if all(r["task_id"] and r["active"] for r in data["runs"]) else None

    before = wait_until(tasks_running, "both tasks created and still running", timeout_s=60, interval_s=0.2)
    first.close()
    assert before["total"] == 2 and before["running"] == 2, "stopped mid-batch (the test can fail)"
    stop_app(own_app)
    port = int(own_app.url.rsplit(":", 1)[1])
    restarted = start_app(own_app.data_dir, delay_scale=0.1, port=port)
    own_app.process = restarted.process  # the fixture's teardown stops what is running
    again = gradio_client(restarted.url, headers=headers)
    try:
        status = finished(again, batch_id, timeout_s=180)
    finally:
        again.close()
    assert sorted(r["run_id"] for r in status["runs"]) == sorted(r["run_id"] for r in before["runs"])
    assert status["states"] == {"succeeded": 2} and status["videos"] == 2, status
    assert "resumed 2 unfinished run(s)" in restarted.logs()
