"""What a request costs: the billing rules (core/quote.py), the price files (core/prices.py), the
``quote`` command, and the sandbox billing by the same rules (quote == usage.duration)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from playground.cli import main
from playground.client.media_length import MeasureError, measure_url
from playground.core.prices import PriceError, load_prices, region_for
from playground.core.profile import load_profile
from playground.core.quote import Quote, bill, billed_inputs, money, quote, read_usage
from playground.core.request import VideoRequest
from playground.core.wire import parse
from playground.media.probe import probe
from playground.media.samples import make_audio, make_image, make_video
from playground.sandbox import serve_in_thread, standalone_app
from playground.settings import Settings
from tests.fixtures_sandbox import SampleMedia, dashscope_headers, sandbox_config, upload, wait_dashscope

ROOT = Path(__file__).resolve().parents[1]
PROFILE = load_profile()
PRICES = load_prices()
V1, V2, V3 = "https://e.com/v1.mp4", "https://e.com/v2.mp4", "https://e.com/v3.mp4"
IMG, IMG2, AUDIO = "https://e.com/a.png", "https://e.com/b.png", "https://e.com/a.mp3"
LENGTHS = {V1: 7.4, V2: 3.2}  # V3 is never probed


def request_of(body: dict[str, Any], profile_name: str = "wan-2.7") -> VideoRequest:
    parsed = parse(body, load_profile(profile_name))
    assert parsed.ok and parsed.request is not None, parsed.lines()
    return parsed.request


def ds(
    model: str, media: list[dict[str, str]] | None = None, prompt: str | None = "p", **parameters: Any
) -> dict[str, Any]:
    body_input: dict[str, Any] = {}
    if prompt is not None:
        body_input["prompt"] = prompt
    if media:
        body_input["media"] = media
    return {"model": model, "input": body_input, "parameters": parameters}


def item(kind: str, url: str) -> dict[str, str]:
    return {"type": kind, "url": url}


# -- the rules, mode by mode -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    body: dict[str, Any]
    billed: tuple[float, float]  # billed seconds, min and max
    resolution: str = "720P"
    region: str = "singapore"
    unit: float | None = 0.10
    notes: tuple[str, ...] = ()  # substrings some note must hold
    output: tuple[float, float] | None = None
    profile: str = "wan-2.7"
    exact: bool | None = None  # default: min == max
    lengths: dict[str, float] = field(default_factory=lambda: dict(LENGTHS))


CASES = [
    # text-to-video: the output only; defaults 5 s and 1080P when omitted
    Case("t2v-defaults", ds("wan2.7-t2v"), (5, 5), "1080P", unit=0.15,
         notes=("resolution not given: billed at 1080P, the service's default",
                "duration not given: the output is the default, 5 s")),
    Case("t2v-720p-10s-beijing", ds("wan2.7-t2v", resolution="720P", duration=10), (10, 10),
         region="beijing", unit=0.6),
    Case("t2v-soundtrack-free", {"model": "wan2.7-t2v", "input": {"prompt": "p", "audio_url": AUDIO},
                                 "parameters": {"resolution": "720P", "duration": 3}}, (3, 3),
         notes=("input audio is free",)),
    # image-to-video: the output only; images, audio and the first clip are not billed on top
    Case("i2v-frames-and-audio-free",
         ds("wan2.7-i2v", [item("first_frame", IMG), item("last_frame", IMG2), item("driving_audio", AUDIO)],
            resolution="720P", duration=8), (8, 8), notes=("input images and audio are free",)),
    Case("i2v-first-clip-is-part-of-the-output",
         ds("wan2.7-i2v", [item("first_clip", V2)], resolution="1080P", duration=10), (10, 10), "1080P",
         unit=0.15, notes=("first_clip: its 3.2 s are part of the 10 s output (duration is the total)",)),
    # reference-to-video: images free; reference videos billed on top of the output
    Case("r2v-images-free", ds("wan2.7-r2v", [item("reference_image", IMG)], resolution="720P"), (5, 5),
         notes=("input images are free", "duration not given")),
    Case("r2v-reference-videos-billed",
         ds("wan2.7-r2v", [item("reference_video", V1), item("reference_video", V2), item("reference_image", IMG)],
            resolution="720P", duration=6), (16.6, 16.6), output=(6, 6),
         notes=("2 reference videos, 10.6 s in all, billed as input on top of the 6 s output",)),
    Case("r2v-unknown-reference-video-is-a-range",
         ds("wan2.7-r2v", [item("reference_video", V3)], resolution="720P"), (6, 35), exact=False,
         notes=("was not probed: taken as 1-30 s (the profile's limits)",)),
    Case("r2v-known-and-unknown",
         ds("wan2.7-r2v", [item("reference_video", V1), item("reference_video", V3)], resolution="720P",
            duration=2), (10.4, 39.4), exact=False, notes=("1 probed (7.4 s) and 1 not probed",)),
    # video edit: input + output; duration 0 (the default) is the whole input video
    Case("edit-duration-omitted-whole-video-twice",
         ds("wan2.7-videoedit", [item("video", V1), item("reference_image", IMG)]), (14.8, 14.8), "1080P",
         unit=0.15, output=(7.4, 7.4),
         notes=("duration not given (the default, 0): the whole input video, 7.4 s, is billed twice: "
                "as input and as output", "input images are free")),
    Case("edit-duration-0-as-the-issue-says", ds("wan2.7-videoedit", [item("video", V1)], duration=0), (14.8, 14.8),
         "1080P", unit=0.15,
         notes=("duration 0: the whole input video, 7.4 s, is billed twice: as input and as output",)),
    Case("edit-duration-cuts-the-input", ds("wan2.7-videoedit", [item("video", V1)], duration=4, resolution="720P"),
         (8, 8), notes=("duration 4: the first 4 s of the 7.4 s input video",)),
    Case("edit-input-shorter-than-duration",
         ds("wan2.7-videoedit", [item("video", V2)], duration=6, resolution="720P"), (6.4, 6.4),
         notes=("the input video, 3.2 s, is shorter than duration 6",)),
    Case("edit-unknown-length-is-a-range", ds("wan2.7-videoedit", [item("video", V3)], resolution="720P"), (4, 20),
         exact=False, notes=("it was not probed, so its length is taken as 2-10 s",)),
    Case("edit-unknown-length-but-duration-2", ds("wan2.7-videoedit", [item("video", V3)], resolution="720P",
                                                  duration=2), (4, 4), exact=True),
    Case("edit-beijing-1080p", ds("wan2.7-videoedit", [item("video", V1)], resolution="1080P"), (14.8, 14.8),
         "1080P", region="beijing", unit=1.0),
    # the gateway's own model id, dated snapshots, a stricter profile
    Case("gateway-format-prices-the-gateway-model",
         {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p", "resolution": "720P"}},
         (5, 5)),
    Case("snapshot-priced-as-its-model", ds("wan2.7-t2v-2026-06-12", resolution="720P", duration=4), (4, 4),
         notes=("wan2.7-t2v-2026-06-12 is priced as wan2.7-t2v",)),
    Case("guide-page-defaults", {"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p"}},
         (6, 6), "720P", profile="guide-page", notes=("resolution not given: billed at 720P",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_quote_follows_every_billing_rule(case: Case) -> None:
    profile = load_profile(case.profile)
    parsed = parse(case.body, profile)
    assert parsed.ok and parsed.request is not None, parsed.lines()
    q = quote(parsed.request, profile, PRICES, case.region, case.lengths, fmt=parsed.format)
    assert (q.billed_seconds_min, q.billed_seconds_max) == pytest.approx(case.billed)
    assert q.exact is (case.exact if case.exact is not None else case.billed[0] == case.billed[1])
    assert q.resolution == case.resolution
    assert q.unit_price == case.unit
    assert q.currency == ("USD" if case.region == "singapore" else "CNY")
    assert q.total_min == pytest.approx(case.unit * case.billed[0]) if case.unit else q.total_min is None
    assert q.total_max == pytest.approx(case.unit * case.billed[1]) if case.unit else q.total_max is None
    if case.output is not None:
        assert (q.output_seconds_min, q.output_seconds_max) == pytest.approx(case.output)
    for wanted in case.notes:
        assert any(wanted in note for note in q.notes), (wanted, q.notes)
    assert q.prices_as_of == PRICES.as_of.isoformat()
    assert q.price_note == f"list price as of {q.prices_as_of}, check your console"
    assert all("\n" not in note for note in q.notes)


def test_quote_prices_the_model_of_the_format_it_is_sent_in(tmp_path: Path) -> None:
    """The same request costs the gateway's price in the gateway format, DashScope's in DashScope's."""
    own = tmp_path / "gateway.json"
    own.write_text(json.dumps({"extends": "default",
                               "regions": {"singapore": {"models": {"wan-2-7-video": {"720P": 0.08}}}}}))
    prices = load_prices(str(own))
    request = request_of(ds("wan2.7-t2v", resolution="720P"))
    assert quote(request, PROFILE, prices, "singapore", fmt="gateway").unit_price == 0.08
    assert quote(request, PROFILE, prices, "singapore", fmt="gateway").model == "wan-2-7-video"
    assert quote(request, PROFILE, prices, "singapore").unit_price == 0.10


def test_quote_json_has_every_field_the_issue_lists() -> None:
    q = quote(request_of(ds("wan2.7-videoedit", [item("video", V3)])), PROFILE, PRICES, "singapore")
    data = q.to_json()
    for key in ("currency", "unit_price", "resolution", "billed_seconds_min", "billed_seconds_max", "total_min",
                "total_max", "exact", "notes", "prices_as_of"):
        assert key in data
    assert data["exact"] is False and isinstance(data["notes"], list)
    assert json.loads(json.dumps(data)) == data
    assert (data["total_min"], data["total_max"]) == (pytest.approx(0.6), pytest.approx(3.0))


def test_billed_inputs_are_the_videos_to_measure() -> None:
    edit = request_of(ds("wan2.7-videoedit", [item("video", V1), item("reference_image", IMG)]))
    r2v = request_of(ds("wan2.7-r2v", [item("reference_video", V1), item("reference_image", IMG)]))
    i2v = request_of(ds("wan2.7-i2v", [item("first_clip", V1)]))
    assert [m.url for m in billed_inputs(edit)] == [V1]
    assert [m.url for m in billed_inputs(r2v)] == [V1]
    assert billed_inputs(i2v) == ()


def test_headline_reads_as_a_price_and_in_the_sandbox_as_what_it_would_cost() -> None:
    q = quote(request_of(ds("wan2.7-videoedit", [item("video", V1)])), PROFILE, PRICES, "singapore", LENGTHS)
    assert q.headline() == "14.8 s × USD 0.15/s (1080P) = USD 2.22"
    assert q.headline(sandbox=True) == "would cost 14.8 s × USD 0.15/s (1080P) = USD 2.22 on DashScope (Singapore)"
    ranged = quote(request_of(ds("wan2.7-videoedit", [item("video", V3)])), PROFILE, PRICES, "beijing")
    assert ranged.headline() == "4-20 s × CNY 1.00/s (1080P) = CNY 4.00-20.00"
    assert money(0.084, "USD") == "USD 0.084" and money(2, "CNY") == "CNY 2.00"


# -- price files ---------------------------------------------------------------------------------


def test_default_prices_hold_the_issue_figures_for_every_model() -> None:
    models = ("wan2.7-t2v", "wan2.7-i2v", "wan2.7-r2v", "wan2.7-videoedit", "wan-2-7-video")
    for region, currency, low, high in (("singapore", "USD", 0.10, 0.15), ("beijing", "CNY", 0.6, 1.0)):
        table = PRICES.region(region)
        assert table is not None and table.currency == currency
        for model in models:
            assert (table.price(model, "720P"), table.price(model, "1080P")) == (low, high)
    assert PRICES.sources and "check your console" in PRICES.note.lower()


def test_a_user_price_file_extends_the_default_and_sets_its_own(tmp_path: Path) -> None:
    """A negotiated price, a removed price (null) and a new region, over the defaults."""
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({
        "extends": "default",
        "name": "negotiated",
        "as_of": "2026-12-01",
        "regions": {
            "singapore": {"models": {"wan2.7-t2v": {"1080p": 0.12}, "wan2.7-videoedit": {"1080P": None}}},
            "frankfurt": {"label": "Frankfurt", "currency": "EUR", "models": {"wan2.7-t2v": {"720P": 0.09}}},
        },
    }))
    prices = load_prices(str(path))
    t2v = request_of(ds("wan2.7-t2v", resolution="1080P"))
    assert quote(t2v, PROFILE, prices, "singapore").total_max == pytest.approx(0.60)
    assert quote(t2v, PROFILE, prices, "singapore").prices_as_of == "2026-12-01"
    assert quote(request_of(ds("wan2.7-t2v", resolution="720P")), PROFILE, prices, "singapore").unit_price == 0.10
    eur = quote(request_of(ds("wan2.7-t2v", resolution="720P")), PROFILE, prices, "frankfurt")
    assert (eur.currency, eur.total_max, eur.region_label) == ("EUR", pytest.approx(0.45), "Frankfurt")
    # A removed price: the seconds, no total, and why.
    edit = quote(request_of(ds("wan2.7-videoedit", [item("video", V1)])), PROFILE, prices, "singapore", LENGTHS)
    assert (edit.billed_seconds_max, edit.unit_price, edit.total_min, edit.total_max) == (14.8, None, None, None)
    assert any("prices 'negotiated' has no price for wan2.7-videoedit at 1080P in Singapore: seconds only" in n
               for n in edit.notes)
    assert edit.headline() == "14.8 s billed at 1080P, no price known"


def test_a_model_or_region_without_prices_quotes_seconds_only(tmp_path: Path) -> None:
    path = tmp_path / "bare.json"
    path.write_text(json.dumps({"as_of": "2026-01-01", "note": "mine", "sources": ["me"],
                                "regions": {"singapore": {"currency": "USD", "models": {}}}}))
    prices = load_prices(str(path))
    q = quote(request_of(ds("wan2.7-r2v", [item("reference_image", IMG)])), PROFILE, prices, "singapore")
    assert (q.billed_seconds_max, q.total_max, q.currency) == (5, None, "USD")
    assert any("has no price for wan2.7-r2v in Singapore" in n for n in q.notes)
    elsewhere = quote(request_of(ds("wan2.7-t2v")), PROFILE, prices, "beijing")
    assert elsewhere.currency is None and elsewhere.total_max is None
    assert any("no prices for region 'beijing'" in n for n in elsewhere.notes)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"extends": "default", "regions": {"singapore": {"currency": "dollars"}}}', "regions.singapore.currency"),
        ('{"extends": "default", "regions": {"beijing": {"models": {"wan2.7-t2v": {"720P": -1}}}}}',
         "regions.beijing.models.wan2.7-t2v.720P"),
        ('{"extends": "default", "regions": {"beijing": {"models": {"wan2.7-t2v": {"720P": "0.6"}}}}}',
         "regions.beijing.models.wan2.7-t2v.720P"),
        ('{"extends": "default", "regoins": {}}', "regoins"),
        ('{"extends": "default", "as_of": "yesterday"}', "as_of"),
        ('{"extends": "nowhere.json"}', "'nowhere.json'"),
        ('{"extends": 3}', "'extends'"),
        ("[1]", "must hold a JSON object"),
        ("{", "not valid JSON"),
    ],
)
def test_a_bad_price_file_is_one_line_naming_the_key(tmp_path: Path, content: str, named: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PriceError) as caught:
        load_prices(str(path))
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_a_price_file_that_extends_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.json"
    path.write_text(json.dumps({"extends": str(path)}))
    with pytest.raises(PriceError, match="extends itself"):
        load_prices(str(path))


def test_prices_come_from_playground_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_PRICES", "/some/prices.json")
    assert Settings().prices == "/some/prices.json"
    monkeypatch.delenv("PLAYGROUND_PRICES")
    assert Settings().prices is None


@pytest.mark.parametrize(
    ("setting", "region"),
    [
        ("singapore", "singapore"),
        ("Beijing", "beijing"),
        ("https://dashscope-intl.aliyuncs.com/api/v1", "singapore"),
        ("https://ws-1.ap-southeast-1.maas.aliyuncs.com/api/v1", "singapore"),
        ("https://dashscope.aliyuncs.com/api/v1", "beijing"),
        ("https://ws-1.cn-beijing.maas.aliyuncs.com/api/v1", "beijing"),
        ("http://127.0.0.1:9/api/v1", None),
    ],
)
def test_region_for_reads_the_dashscope_region_setting(setting: str, region: str | None) -> None:
    assert region_for(setting) == region


# -- the bill ------------------------------------------------------------------------------------


def test_bill_prices_usage_duration_as_the_quote_does() -> None:
    request = request_of(ds("wan2.7-videoedit", [item("video", V1)]))
    q = quote(request, PROFILE, PRICES, "singapore", LENGTHS)
    usage = read_usage({"duration": 14.8, "input_video_duration": 7.4, "output_video_duration": 7.4, "SR": 1080})
    assert usage is not None and usage.resolution == "1080P"
    b = bill(usage.duration_s, request, PROFILE, PRICES, "singapore", resolution=usage.resolution)
    assert (b.billed_seconds, b.total, b.currency, b.source) == (14.8, q.total_max, "USD", "usage.duration")
    assert b.headline() == "billed 14.8 s × USD 0.15/s (1080P) = USD 2.22"
    assert b.to_json()["total"] == pytest.approx(2.22)


def test_bill_reads_usage_defensively_and_follows_the_reported_resolution() -> None:
    usage = read_usage({"duration": "10.04", "SR": "720"})  # the Java SDK's example has strings
    assert usage is not None and (usage.duration_s, usage.resolution) == (10.04, "720P")
    assert read_usage({"video_count": 1}) is None and read_usage(None) is None
    assert read_usage({"duration": True}) is None
    request = request_of(ds("wan2.7-t2v"))  # 1080P by default
    b = bill(usage.duration_s, request, PROFILE, PRICES, "beijing", resolution=usage.resolution)
    assert (b.resolution, b.total) == ("720P", pytest.approx(6.024))
    assert "the answer reports 720P (SR), not the 1080P asked for" in b.notes[0]


def test_a_gateway_cost_is_taken_at_its_word() -> None:
    request = request_of({"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "p"}})
    b = bill(5, request, PROFILE, PRICES, "singapore", fmt="gateway", gateway_cost=0.5)
    assert (b.total, b.source, b.model) == (0.5, "gateway", "wan-2-7-video")
    assert b.headline() == "billed USD 0.50 (the gateway's own figure)"


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PLAYGROUND_PRICES", "PLAYGROUND_DASHSCOPE_REGION", "PLAYGROUND_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def write_json(path: Path, body: object) -> str:
    path.write_text(json.dumps(body))
    return str(path)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("clean_env")
def test_cli_json_quote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_json(tmp_path / "r.json", ds("wan2.7-t2v", resolution="720P", duration=10))
    code, out, err = run_cli(capsys, "quote", path, "--json", "--region", "beijing")
    assert code == 0, err
    data = json.loads(out)
    assert (data["currency"], data["unit_price"], data["resolution"]) == ("CNY", 0.6, "720P")
    assert (data["billed_seconds_min"], data["billed_seconds_max"], data["exact"]) == (10, 10, True)
    assert (data["total_min"], data["total_max"]) == (pytest.approx(6.0), pytest.approx(6.0))
    assert data["prices_as_of"] == PRICES.as_of.isoformat()


@pytest.mark.usefixtures("clean_env")
def test_cli_text_quote_and_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gateway = {"model": "wan-2-7-video", "mode": "video-edit", "input": {"media": [item("video", V3)]}}
    path = write_json(tmp_path / "g.json", gateway)
    code, out, _ = run_cli(capsys, "quote", path)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "4-20 s × USD 0.15/s (1080P) = USD 0.60-3.00"
    assert any("it was not probed" in line for line in lines) and "--probe" in lines[-1]
    code, out, _ = run_cli(capsys, "quote", path, "--json", "--format", "dashscope")
    assert json.loads(out)["model"] == "wan2.7-videoedit"
    code, out, _ = run_cli(capsys, "quote", path, "--json")
    assert json.loads(out)["model"] == "wan-2-7-video"


@pytest.mark.usefixtures("clean_env")
def test_cli_invalid_request_prints_the_lines_validate_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"model": "wan-2-7-video", "mode": "reference-to-video",
            "input": {"prompt": "p", "duration": 12, "seed": -4, "media": [item("reference_video", V1)]}}
    path = write_json(tmp_path / "bad.json", body)
    code, out, err = run_cli(capsys, "quote", path, "--json")
    assert (code, out) == (1, "")
    validate_code, _, validate_err = run_cli(capsys, "validate", path)
    assert validate_code == 1 and err == validate_err
    assert "input.duration: 12 is above 10" in err


@pytest.mark.usefixtures("clean_env")
def test_cli_settings_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_json(tmp_path / "r.json", ds("wan2.7-t2v", resolution="720P"))
    own = write_json(tmp_path / "p.json", {"extends": "default",
                                            "regions": {"beijing": {"models": {"wan2.7-t2v": {"720P": 0.5}}}}})
    monkeypatch.setenv("PLAYGROUND_PRICES", own)
    monkeypatch.setenv("PLAYGROUND_DASHSCOPE_REGION", "https://dashscope.aliyuncs.com/api/v1")
    code, out, _ = run_cli(capsys, "quote", path, "--json")
    assert code == 0 and (json.loads(out)["region"], json.loads(out)["total_max"]) == ("beijing", 2.5)
    code, _, err = run_cli(capsys, "quote", path, "--region", "mars")
    assert code == 2 and "--region 'mars'" in err and "singapore, beijing" in err
    bad = write_json(tmp_path / "bad-prices.json", {"extends": "default", "regions": {"beijing": {"currency": 1}}})
    code, _, err = run_cli(capsys, "quote", path, "--prices", bad)
    assert code == 1 and "regions.beijing.currency" in err
    code, _, err = run_cli(capsys, "quote", str(tmp_path / "none.json"))
    assert code == 1 and "no such file" in err


@pytest.mark.usefixtures("clean_env")
def test_cli_measures_local_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_video(tmp_path / "clip.mp4", 320, 240, 3.0)
    make_image(tmp_path / "ref.png", 320, 320)
    seconds = probe(clip).duration_s
    assert seconds is not None
    monkeypatch.chdir(tmp_path)
    path = write_json(tmp_path / "e.json", ds("wan2.7-videoedit", [item("video", "./clip.mp4"),
                                                                   item("reference_image", "./ref.png")]))
    code, out, err = run_cli(capsys, "quote", path, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["exact"] is True and data["billed_seconds_max"] == pytest.approx(2 * seconds, abs=1e-3)
    missing = write_json(tmp_path / "m.json", ds("wan2.7-videoedit", [item("video", "./gone.mp4")]))
    code, out, err = run_cli(capsys, "quote", missing)
    assert (code, out) == (1, "") and "./gone.mp4: no such file" in err


@pytest.mark.usefixtures("clean_env")
def test_cli_probe_downloads_videos_given_by_url(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 sandbox_media: SampleMedia, sandbox_base: str) -> None:
    url = sandbox_media.urls["clip"]
    seconds = probe(sandbox_media.files["clip"]).duration_s
    assert seconds is not None
    path = write_json(tmp_path / "e.json", ds("wan2.7-videoedit", [item("video", url)], resolution="720P"))
    code, out, _ = run_cli(capsys, "quote", path, "--json")
    assert code == 0 and json.loads(out)["exact"] is False
    code, out, err = run_cli(capsys, "quote", path, "--json", "--probe")
    assert code == 0, err
    assert json.loads(out)["billed_seconds_max"] == pytest.approx(2 * seconds, abs=1e-3)
    assert json.loads(out)["exact"] is True
    missing = f"{sandbox_base}/files/uploads/x/y.mp4?sig=s3cret"
    gone = write_json(tmp_path / "g.json", ds("wan2.7-videoedit", [item("video", missing)]))
    code, out, err = run_cli(capsys, "quote", gone, "--json", "--probe")
    assert code == 0 and json.loads(out)["exact"] is False
    assert "HTTP 404" in err and "its length stays a range" in err and "s3cret" not in err


async def test_measure_url_is_capped_and_only_for_http(sandbox_media: SampleMedia) -> None:
    with pytest.raises(MeasureError, match="larger than"):
        await measure_url(sandbox_media.urls["clip"], max_bytes=1000)
    with pytest.raises(MeasureError, match="only http"):
        await measure_url("ftp://e.com/v.mp4")
    assert await measure_url(sandbox_media.urls["tone"]) == pytest.approx(3.0, abs=0.05)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playground", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def test_cli_as_a_process(tmp_path: Path) -> None:
    path = write_json(tmp_path / "r.json", ds("wan2.7-videoedit", [item("video", V3)], resolution="720P"))
    done = cli("quote", path, "--json", "--region", "singapore")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["billed_seconds_min"], data["billed_seconds_max"], data["exact"]) == (4, 20, False)
    assert (data["currency"], data["total_min"], data["total_max"]) == ("USD", 0.4, 2.0)
    bad = write_json(tmp_path / "bad.json", ds("wan2.7-t2v", duration=99))
    done = cli("quote", bad)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("parameters.duration: 99 is above 15")


# -- the sandbox bills by the same rules -------------------------------------------------------------


@dataclass(frozen=True)
class SandboxFiles:
    base: str
    urls: dict[str, str]
    seconds: dict[str, float]  # by URL, as the UI measures every upload


@pytest.fixture(scope="module")
def billing_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxFiles]:
    """A sandbox of its own at delay scale 0, with uploaded media and their measured lengths."""
    folder = tmp_path_factory.mktemp("quote-media")
    files = {
        "frame": make_image(folder / "frame.png", 640, 360, seed=1),
        "ref": make_image(folder / "ref.png", 400, 400, seed=2),
        "clip": make_video(folder / "clip.mp4", 320, 240, 2.5, seed=3),
        "short": make_video(folder / "short.mp4", 240, 320, 2.0, seed=4),
        "tone": make_audio(folder / "tone.wav", 3.0),
    }
    config = sandbox_config(tmp_path_factory.mktemp("quote-sandbox"), delay_scale=0.0)
    with serve_in_thread(standalone_app(config)) as root, httpx.Client(timeout=30) as http:
        base = f"{root}/sandbox"
        urls = {name: upload(http, base, path) for name, path in files.items()}
        seconds = {}
        for name, path in files.items():
            measured = probe(path).duration_s
            if measured is not None:
                seconds[urls[name]] = measured
        yield SandboxFiles(base, urls, seconds)


def sandbox_bodies(u: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        "t2v-defaults-but-length": ds("wan2.7-t2v", duration=2),  # 1080P when omitted
        "t2v-soundtrack": {"model": "wan2.7-t2v", "input": {"prompt": "p", "audio_url": u["tone"]},
                           "parameters": {"resolution": "720P", "duration": 3}},
        "i2v-frame-and-audio": ds("wan2.7-i2v", [item("first_frame", u["frame"]), item("driving_audio", u["tone"])],
                                  resolution="720P", duration=2),
        "i2v-first-clip": ds("wan2.7-i2v", [item("first_clip", u["clip"])], resolution="720P", duration=4),
        "r2v-images": ds("wan2.7-r2v", [item("reference_image", u["ref"])], prompt="Image 1 waves",
                         resolution="720P", duration=2),
        "r2v-reference-videos": ds("wan2.7-r2v", [item("reference_video", u["clip"]),
                                                  item("reference_video", u["short"])],
                                   prompt="Video 1 meets Video 2", resolution="720P"),
        "edit-duration-omitted": ds("wan2.7-videoedit", [item("video", u["clip"]), item("reference_image", u["ref"])],
                                    resolution="720P"),
        "edit-duration-cut": ds("wan2.7-videoedit", [item("video", u["clip"])], resolution="720P", duration=2),
        "edit-1080p-default": ds("wan2.7-videoedit", [item("video", u["short"])], duration=0),
    }


@pytest.mark.slow
def test_the_sandbox_bills_what_the_quote_says_for_every_mode(billing_sandbox: SandboxFiles) -> None:
    """Each mode, run on the sandbox over loopback HTTP: usage.duration == the quote's billed
    seconds, usage.SR == its resolution, and the bill from usage == the quote's total."""
    bodies = sandbox_bodies(billing_sandbox.urls)
    quotes: dict[str, Quote] = {}
    tasks: dict[str, str] = {}
    with httpx.Client(timeout=30) as http:
        for name, body in bodies.items():
            q = quote(request_of(body), PROFILE, PRICES, "singapore", billing_sandbox.seconds)
            assert q.exact, (name, q.notes)
            quotes[name] = q
            answer = http.post(f"{billing_sandbox.base}/api/v1/services/aigc/video-generation/video-synthesis",
                               json=body, headers=dashscope_headers())
            assert answer.status_code == 200, (name, answer.text)
            tasks[name] = answer.json()["output"]["task_id"]
        modes = set()
        for name, task_id in tasks.items():
            done = wait_dashscope(http, billing_sandbox.base, task_id, timeout=120)
            assert done["output"]["task_status"] == "SUCCEEDED", (name, done)
            usage = read_usage(done["usage"])
            q = quotes[name]
            assert usage is not None
            assert usage.duration_s == pytest.approx(q.billed_seconds_max, abs=0.01), (name, done["usage"], q.notes)
            assert usage.output_video_s == pytest.approx(q.output_seconds_max, abs=0.01), name
            assert usage.resolution == q.resolution, name
            billed = bill(usage.duration_s, request_of(bodies[name]), PROFILE, PRICES, "singapore",
                          resolution=usage.resolution)
            assert billed.total == pytest.approx(q.total_max, abs=0.002), name
            modes.add(q.mode)
    assert modes == {"text-to-video", "image-to-video", "reference-to-video", "video-edit"}


def test_sandbox_media_lengths_are_what_the_cases_assume(billing_sandbox: SandboxFiles) -> None:
    """The measured lengths are the files' own (so the billing test above exercises real input seconds)."""
    assert billing_sandbox.seconds[billing_sandbox.urls["clip"]] == pytest.approx(2.5, abs=0.05)
    assert billing_sandbox.seconds[billing_sandbox.urls["short"]] == pytest.approx(2.0, abs=0.05)
