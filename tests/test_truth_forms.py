"""The form tells the truth (issue 12, items 2, 6, 7, 10, 11): what the page shows is what is sent.

- An import previews as the very request imported: nothing added (no ``prompt_extend: false``),
  nothing dropped, defaults left as defaults, in the format it was written in; the report shows
  in the tab the request landed in.
- An out-of-range duration reaches the preview: the JSON shows it and the verdict names it.
- A random seed leaves the seed box out of the request and the box disabled.
- With the sandbox as provider, a URL of another host is flagged before Send, and Send refuses
  it at once instead of failing seconds later.
- A form nobody touched shows no red; the guide's example previews as the guide's request.

Unit tests first (no server), then the endpoints through gradio_client, as a script calls them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from gradio_client import Client

from playground.core.profile import MODES, load_profile
from playground.ui.forms import API_DEFAULT, field_names, form_from_request, request_from_form
from playground.ui.preview import build_preview

WAN = load_profile()
# The guide page's minimal request, as printed there (../shared/reference/seed-model-guide.txt).
GUIDE: dict[str, Any] = {
    "model": "wan-2-7-video",
    "mode": "text-to-video",
    "input": {"prompt": "A cinematic city sunrise with soft fog and moving traffic.", "duration": 5},
}
# A DashScope body without prompt_extend (or watermark, or seed): they must stay out.
DASHSCOPE_BODY: dict[str, Any] = {
    "model": "wan2.7-t2v",
    "input": {"prompt": "A fox trotting through fresh snow at dawn."},
    "parameters": {"resolution": "720P", "ratio": "16:9", "duration": 5},
}
CURL = (
    "curl -X POST https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/video-generation/video-synthesis "
    "-H 'X-DashScope-Async: enable' -H \"Authorization: Bearer $DASHSCOPE_API_KEY\" "
    f"-H 'Content-Type: application/json' -d '{json.dumps(DASHSCOPE_BODY)}'"
)
SLUGS = {mode: mode.replace("-", "_") for mode in MODES}


# -- without a server ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_request_without_optional_fields_maps_to_api_defaults_and_back(mode: str) -> None:
    """Left out means "the API's default" in the form, and left out again in the request."""
    minimal = {"mode": mode, "prompt": "p"}
    values = form_from_request(minimal)
    assert values["resolution"] == API_DEFAULT
    assert values["prompt_extend"] == API_DEFAULT and values["watermark"] == API_DEFAULT
    assert values["duration"] is None
    assert request_from_form(mode, values) == minimal


def test_a_snapshot_model_id_survives_the_form() -> None:
    pinned = {"mode": "text-to-video", "prompt": "p", "model_id": "wan2.7-t2v-2026-06-12"}
    assert request_from_form("text-to-video", form_from_request(pinned)) == pinned


def test_switches_are_sent_only_when_chosen() -> None:
    for value in (True, False):
        values = form_from_request({"mode": "text-to-video", "prompt": "p", "prompt_extend": value})
        assert request_from_form("text-to-video", values)["prompt_extend"] is value
    values = form_from_request({"mode": "text-to-video", "prompt": "p"})
    assert "prompt_extend" not in request_from_form("text-to-video", values)


def test_an_untouched_form_shows_no_problem_to_fix() -> None:
    """An empty prompt (or no media yet) is the next step, not an error: no red, no "problem"."""
    for mode in MODES:
        values = form_from_request({"mode": mode})
        verdict = build_preview(mode, values, "dashscope", WAN).verdict_html()
        assert "verdict bad" not in verdict and "problem" not in verdict, (mode, verdict)
        assert "Not ready to send yet" in verdict
    # A wrong value is still an error, shown as one, beside what is still needed.
    values = {**form_from_request({"mode": "text-to-video"}), "duration": 20}
    verdict = build_preview("text-to-video", values, "dashscope", WAN).verdict_html()
    assert "verdict bad" in verdict and "1 problem to fix" in verdict and "20 is above 15" in verdict


# -- through the endpoints -------------------------------------------------------------------------

def imported(client: Client, text: str, tab: str = "text-to-video", provider: str = "sandbox") -> dict[str, Any]:
    """Call /import_<tab>: the reports by mode, the wire format, and each mode's form values."""
    out = list(client.predict(text, provider, api_name=f"/import_{SLUGS[tab]}"))
    others = [m for m in MODES if m != tab]
    reports = {tab: out[0], **dict(zip(others, out[2:5], strict=True))}
    values: dict[str, list[Any]] = {}
    rest = out[5:]
    for mode in MODES:
        count = len(field_names(mode))
        values[mode], rest = rest[:count], rest[count:]
    assert not rest
    return {"reports": reports, "wire": out[1], "values": values}


def preview(client: Client, mode: str, wire: str, values: list[Any], provider: str = "sandbox") -> tuple[Any, str]:
    body, verdict, _ = client.predict(provider, wire, *values, api_name=f"/preview_{SLUGS[mode]}")
    return json.loads(body), verdict


@pytest.mark.slow
def test_the_guides_minimal_request_previews_as_itself(ui_client: Client) -> None:
    """Pasted in another tab: it lands in Text-to-Video, switches to the gateway format, and the
    preview is the pasted body, field for field; the report is in the tab it landed in."""
    got = imported(ui_client, json.dumps(GUIDE), tab="image-to-video")
    assert got["wire"] == "gateway"
    assert "Imported a text-to-video request (gateway format)" in got["reports"]["text-to-video"]
    assert "Text-to-Video tab" in got["reports"]["image-to-video"]
    body, verdict = preview(ui_client, "text-to-video", got["wire"], got["values"]["text-to-video"])
    assert body == GUIDE
    assert "Valid request" in verdict


@pytest.mark.slow
def test_a_curl_without_prompt_extend_previews_as_itself(ui_client: Client) -> None:
    """No "prompt_extend": false appears (nor anything else); the DashScope format is kept."""
    got = imported(ui_client, CURL)
    assert got["wire"] == "dashscope"
    assert "Imported a text-to-video request (DashScope format) from a curl command" in got["reports"]["text-to-video"]
    body, _ = preview(ui_client, "text-to-video", got["wire"], got["values"]["text-to-video"])
    assert body == DASHSCOPE_BODY


@pytest.mark.slow
def test_a_dated_snapshot_model_is_kept(ui_client: Client) -> None:
    """A pinned snapshot id is not swapped for the alias."""
    pinned = {**DASHSCOPE_BODY, "model": "wan2.7-t2v-2026-06-12"}
    got = imported(ui_client, json.dumps(pinned))
    body, _ = preview(ui_client, "text-to-video", got["wire"], got["values"]["text-to-video"])
    assert body == pinned


@pytest.mark.slow
def test_a_provider_with_one_format_says_it_converted(ui_client: Client) -> None:
    """DashScope speaks only its own format: a gateway import is shown converted, and said so."""
    got = imported(ui_client, json.dumps(GUIDE), provider="dashscope")
    report = got["reports"]["text-to-video"]
    assert "converted" in report and "DashScope native" in report, report
    body, _ = preview(ui_client, "text-to-video", "gateway", got["values"]["text-to-video"], provider="dashscope")
    assert body == {"model": "wan2.7-t2v", "input": {"prompt": GUIDE["input"]["prompt"]}, "parameters": {"duration": 5}}


@pytest.mark.slow
def test_the_guide_example_previews_as_the_guides_request(ui_client: Client) -> None:
    values = ui_client.predict("Guide page: minimal request", "sandbox", "gateway", "", "none",
                               api_name="/example_text_to_video")
    body, verdict = preview(ui_client, "text-to-video", "gateway", list(values))
    assert body == GUIDE and "Valid request" in verdict


def t2v_form(**changes: Any) -> list[Any]:
    values = {**form_from_request({"mode": "text-to-video", "prompt": "A lighthouse at dusk.", "duration": 5}),
              **changes}
    return [values.get(name) for name in field_names("text-to-video")]


@pytest.mark.slow
def test_an_out_of_range_duration_is_shown_and_named(ui_client: Client) -> None:
    """20 s: the JSON shows 20 (what Send would send) and the verdict names the field and range."""
    body, verdict = preview(ui_client, "text-to-video", "dashscope", t2v_form(duration=20))
    assert body["parameters"]["duration"] == 20
    assert "<code>parameters.duration</code>" in verdict and "20 is above 15" in verdict and "2-15" in verdict


@pytest.mark.slow
def test_a_random_seed_is_never_sent(ui_client: Client) -> None:
    """(A guard: the box's state is what the browser test checks.)"""
    body, _ = preview(ui_client, "text-to-video", "dashscope", t2v_form(seed=7, random_seed=True))
    assert "seed" not in body["parameters"]
    body, _ = preview(ui_client, "text-to-video", "dashscope", t2v_form(seed=7, random_seed=False))
    assert body["parameters"]["seed"] == 7


FOREIGN = "https://example.com/cat.png"


def i2v_form(url: str) -> list[Any]:
    values = form_from_request({"mode": "image-to-video", "prompt": "The cat blinks.", "duration": 5,
                                "media": [{"type": "first_frame", "url": url}]})
    return [values.get(name) for name in field_names("image-to-video")]


@pytest.mark.slow
def test_the_sandbox_flags_a_foreign_url_before_send(ui_client: Client) -> None:
    _, verdict = preview(ui_client, "image-to-video", "dashscope", i2v_form(FOREIGN))
    assert "<code>input.media[0].url</code>" in verdict and "the sandbox reads only its own files" in verdict
    assert "upload the file instead" in verdict and "verdict bad" in verdict
    # Another provider fetches URLs itself: nothing to flag there.
    _, verdict = preview(ui_client, "image-to-video", "dashscope", i2v_form(FOREIGN), provider="dashscope")
    assert "sandbox" not in verdict


@pytest.mark.slow
def test_send_refuses_a_foreign_url_at_once(ui_client: Client) -> None:
    """Not sent, with the field and the fix, well before the sandbox would have failed the task."""
    started = time.monotonic()
    status, guidance, video, _, _ = ui_client.predict(
        "sandbox", "dashscope", "", "none", *i2v_form(FOREIGN), api_name="/send_image_to_video"
    )
    assert time.monotonic() - started < 5
    assert 'data-state="invalid"' in status and video is None, status
    assert "reads only its own files" in guidance and "input.media[0].url" in guidance, guidance
