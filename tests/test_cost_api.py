"""The cost endpoints through gradio_client: /quote_<mode>, and the cost in a run's status, /history,
/run_details and /history_totals (on the shared `python app.py`, whose provider is the sandbox)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from gradio_client import Client

from playground.core.profile import MODES
from playground.ui.examples import labels
from playground.ui.forms import field_names

pytestmark = pytest.mark.slow

CONNECTION = ["sandbox", "dashscope", "", "none"]
QUOTE_KEYS = {"currency", "unit_price", "resolution", "billed_seconds_min", "billed_seconds_max", "total_min",
              "total_max", "exact", "notes", "prices_as_of"}


def slug(mode: str) -> str:
    return mode.replace("-", "_")


def example(client: Client, mode: str, index: int = 0) -> list[Any]:
    values: list[Any] = client.predict(labels(mode)[index], *CONNECTION, api_name=f"/example_{slug(mode)}")
    return values


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_quotes_its_form(ui_client: Client, mode: str) -> None:
    """Form values in, the quote object out; attached media were measured, so the quote is exact."""
    values = example(ui_client, mode, -1)
    answer = ui_client.predict("sandbox", "dashscope", "", *values, api_name=f"/quote_{slug(mode)}")
    assert answer["valid"] is True and set(answer) >= QUOTE_KEYS
    assert answer["exact"] is True and answer["sandbox"] is True and answer["budget"] is None
    assert answer["headline"].startswith("would cost ") and answer["headline"].endswith("on DashScope (Singapore)")
    assert answer["currency"] == "USD" and answer["total_max"] == pytest.approx(
        answer["unit_price"] * answer["billed_seconds_max"])


def test_an_unprobed_url_gives_a_range_and_an_invalid_form_no_quote(ui_client: Client) -> None:
    values = example(ui_client, "video-edit")
    form = dict(zip(field_names("video-edit"), values, strict=True))
    form["video"] = "https://example.com/unprobed.mp4"
    answer = ui_client.predict("sandbox", "dashscope", "", *form.values(), api_name="/quote_video_edit")
    assert answer["exact"] is False and answer["billed_seconds_min"] < answer["billed_seconds_max"]
    assert any("not probed" in note for note in answer["notes"])
    form["video"] = ""
    answer = ui_client.predict("sandbox", "dashscope", "", *form.values(), api_name="/quote_video_edit")
    assert answer["valid"] is False and answer["problems"]


def test_the_region_follows_a_dashscope_base_url(ui_client: Client) -> None:
    values = example(ui_client, "text-to-video")
    answer = ui_client.predict("dashscope", "dashscope", "https://dashscope.aliyuncs.com/api/v1", *values,
                               api_name="/quote_text_to_video")
    assert (answer["region"], answer["currency"], answer["sandbox"]) == ("beijing", "CNY", False)
    assert not answer["headline"].startswith("would cost")


def test_a_run_shows_its_cost_in_status_history_details_and_totals(ui_client: Client) -> None:
    values = example(ui_client, "text-to-video", 2)  # 6 s at 720P
    status = ui_client.submit(*CONNECTION, *values, api_name="/send_text_to_video").result(timeout=180)[0]
    assert 'data-state="succeeded"' in status
    assert "Cost: billed 6 s × USD 0.10/s (720P) = USD 0.60" in status and "nothing was charged" in status
    table, _ = ui_client.predict("all", "all", api_name="/history")
    assert "cost" in table["headers"]
    newest = table["data"][0]
    assert newest[table["headers"].index("cost")] == "USD 0.60 (sandbox, not charged)"
    details = ui_client.predict(newest[-1], api_name="/run_details")
    assert len(details) == 6 and "Cost: billed 6 s" in details[5]
    totals = re.sub(r"<[^>]+>", "", ui_client.predict(api_name="/history_totals"))
    assert "spent nothing today" in totals and "sandbox run" in totals and "DashScope would have billed" in totals
