"""The variations grid (playground.core.variations): axes, expansion, and each cell judged like a
single request."""

from __future__ import annotations

import random

import pytest

from playground.core.prices import load_prices
from playground.core.profile import load_profile
from playground.core.rules import check
from playground.core.variation_grid import preview
from playground.core.variations import (
    Axis,
    VariationError,
    expand,
    field_choices,
    parse_axis,
    parse_vary,
    seed_axis,
    template_axis,
    variable_fields,
)
from playground.core.wire import to_wire

PROFILE = load_profile()
BASE = {"mode": "text-to-video", "prompt": "a red kite over a beach", "duration": 5}


def test_variable_fields_come_from_the_schema_of_each_mode() -> None:
    t2v = variable_fields("text-to-video", PROFILE)
    assert t2v[:2] == ["seed", "prompt"]
    assert {"duration", "resolution", "aspect_ratio", "prompt_extend", "watermark", "negative_prompt"} <= set(t2v)
    assert "audio_setting" not in t2v and "media" not in t2v and "audio_url" not in t2v
    assert "audio_setting" in variable_fields("video-edit", PROFILE)
    assert "aspect_ratio" not in variable_fields("image-to-video", PROFILE)
    assert field_choices("text-to-video", PROFILE, "resolution") == tuple(PROFILE.resolutions)
    assert field_choices("text-to-video", PROFILE, "watermark") == (False, True)
    assert field_choices("text-to-video", PROFILE, "seed") is None


def test_values_are_typed_by_their_field() -> None:
    assert parse_axis("duration", "2, 5,10", "text-to-video", PROFILE).values == (2, 5, 10)
    assert parse_axis("watermark", "true,no", "text-to-video", PROFILE).values == (True, False)
    assert parse_vary("ratio=16:9,1:1", "text-to-video", PROFILE) == Axis("aspect_ratio", ("16:9", "1:1"))
    # Prompts hold commas: they are split on | or, when there are several lines, on new lines.
    assert parse_axis("prompt", "a cat, running | a dog", "text-to-video", PROFILE).values == (
        "a cat, running", "a dog")
    assert parse_axis("prompt", "one, two\nthree | four", "text-to-video", PROFILE).values == (
        "one, two", "three | four")


@pytest.mark.parametrize(("name", "text", "words"), [
    ("duration", "5,five", "'five' is not a whole number"),
    ("watermark", "maybe", "not true or false"),
    ("seed", "1,1", "given twice"),
    ("duration", " , ", "no values given"),
    ("audio_setting", "auto", "cannot vary this field"),
    ("media", "x", "cannot vary this field"),
])
def test_a_bad_axis_names_its_field_and_the_fix(name: str, text: str, words: str) -> None:
    with pytest.raises(VariationError) as caught:
        parse_axis(name, text, "text-to-video", PROFILE)
    assert words in caught.value.message and caught.value.field in (name, "audio_setting", "media")
    assert "; " in caught.value.message or "use one of" in caught.value.message


def test_seed_axes_are_random_and_distinct_or_given() -> None:
    axis = seed_axis(5, rng=random.Random(1))
    assert axis.field == "seed" and len(set(axis.values)) == 5
    assert all(0 <= s <= PROFILE.seed_max for s in axis.values)
    assert seed_axis(5, rng=random.Random(1)) == axis
    assert seed_axis(seeds=[7, 8]).values == (7, 8)
    with pytest.raises(VariationError, match="how many"):
        seed_axis(0)
    with pytest.raises(VariationError, match="only 3 seeds"):
        seed_axis(4, seed_max=2)


def test_a_template_fills_every_combination_first_placeholder_outer() -> None:
    axis = template_axis("a {animal} on the {place}, {{literal}}", {"place": ["beach", "moon"], "animal": ["cat"]})
    assert axis.values == ("a cat on the beach, {literal}", "a cat on the moon, {literal}")
    assert axis.labels == ("animal=cat · place=beach", "animal=cat · place=moon")
    with pytest.raises(VariationError, match=r"no values for \{place\}"):
        template_axis("a {animal} on the {place}", {"animal": ["cat"]})
    with pytest.raises(VariationError, match=r"has no \{colour\}"):
        template_axis("a {animal}", {"animal": ["cat"], "colour": ["red"]})
    with pytest.raises(VariationError, match=r"no \{name\} placeholder"):
        template_axis("a cat", {})
    with pytest.raises(VariationError, match="not a placeholder"):
        template_axis("a {0} cat", {"0": ["x"]})


def test_expand_is_row_major_and_bounded() -> None:
    rows, cols = Axis("resolution", ("720P", "1080P")), Axis("seed", (1, 2, 3))
    grid = expand(BASE, [rows, cols], limit=16)
    assert [v.values for v in grid] == [{"resolution": r, "seed": s} for r in ("720P", "1080P") for s in (1, 2, 3)]
    assert grid[4].label == "resolution=1080P · seed=2" and grid[4].request["prompt"] == BASE["prompt"]
    assert expand(BASE, [], limit=16)[0].label == "base"
    with pytest.raises(VariationError, match=r"2 × 3 = 6 requests, over the limit of 5"):
        expand(BASE, [rows, cols], limit=5)
    with pytest.raises(VariationError, match="at most 2 axes"):
        expand(BASE, [rows, cols, Axis("duration", (2,))], limit=16)
    with pytest.raises(VariationError, match="varied twice"):
        expand(BASE, [cols, Axis("seed", (4,))], limit=16)


def test_preview_judges_each_cell_like_a_single_request_and_quotes_the_valid_ones() -> None:
    axes = [Axis("resolution", ("720P", "4K")), Axis("duration", (2, 5, 99))]
    grid = preview("text-to-video", BASE, axes, PROFILE, "dashscope", limit=16, prices=load_prices(),
                   region="singapore")
    assert (grid.valid, grid.invalid) == (2, 4)
    for entry in grid.entries:
        verdict = check(entry.variation.request, PROFILE)
        assert entry.ok == verdict.ok  # the same rules as a single request
        if entry.ok:
            assert verdict.request is not None and entry.body == to_wire("dashscope", verdict.request, PROFILE)
            assert entry.quote is not None
        else:
            assert entry.body == {} and entry.quote is None
    bad = {e.variation.label: e.problems for e in grid.entries if not e.ok}
    assert bad["resolution=720P · duration=99"] == [
        "parameters.duration: 99 is above 15, the maximum for text-to-video; use 2-15"]
    assert any(line.startswith("parameters.resolution: '4K'") for line in bad["resolution=4K · duration=2"])
    assert grid.quote is not None and grid.quote.count == 2
    assert grid.quote.billed_seconds_max == 7 and grid.quote.total_max == pytest.approx(0.7)
    assert grid.quote.headline() == "2 requests: 7 s billed in all = USD 0.70"
    assert grid.to_json()["entries"][0]["body"]["parameters"] == {"resolution": "720P", "duration": 2}


def test_gateway_bodies_and_no_quote_without_prices() -> None:
    grid = preview("text-to-video", BASE, [Axis("seed", (1, 2))], PROFILE, "gateway", limit=16)
    assert grid.quote is None and [e.body["input"]["seed"] for e in grid.entries] == [1, 2]
    assert grid.entries[0].body["mode"] == "text-to-video"


def test_an_invalid_base_marks_every_cell_and_says_why() -> None:
    grid = preview("text-to-video", {"prompt": "x", "duration": "5"}, [Axis("seed", (1, 2))], PROFILE, "gateway",
                   limit=16)
    assert grid.invalid == 2
    assert grid.entries[0].problems == ["input.duration: must be a whole number, not a string ('5'); "
                                        "send duration as a whole number"]
