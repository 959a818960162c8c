"""The multi-shot prompt convention: parse, write, round trips, editing helpers, and the shot
warnings of the core rules (each fires on a minimal case and not on a correct one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.cli import main
from playground.core.profile import Profile, load_profile
from playground.core.prompt_examples import MULTI_SHOT_MODES, PROMPT_EXAMPLES
from playground.core.shots import (
    Shot,
    ShotList,
    add_shot,
    from_rows,
    move_shot,
    parse,
    renumbered,
    seconds,
    split_evenly,
    unreadable,
    write,
)
from playground.core.wire import parse as parse_body

WAN = load_profile("wan-2.7")
GUIDE = load_profile("guide-page")

ENGLISH = [
    "A lighthouse at dusk.\nShot 1 [0-3s] Wide shot: waves below.\nShot 2 [3-6s] Close-up of the lamp.",
    "Shot 1 [0-2.5s] A paper boat on a gutter.\nShot 2 [2.5-5s] It tips over a drain.\nShot 3 [5-8s] Rain.",
    "Neon city, night, cinematic.\nShot 1 [0-4s] Wide shot.\nShot 2 [4-7s]\nShot 3 [7-10s] The end.",
    "A single overall description with no shots at all.",
]
CHINESE = [
    "雨夜的城市街头，电影感。\n镜头1 [0-3秒] 全景：行人撑伞走过。\n镜头2 [3-6秒] 特写：雨滴。",
    "镜头1 [0-2秒] 中景：一只猫。\n镜头2 [2-4.5秒] 特写：猫抬头。\n镜头3 [4.5-8秒] 远景：城市。",
    "清晨的港口。\n镜头1 [0-5秒] 航拍：渔船出海。\n镜头2 [5-10秒] 近景：海鸥掠过桅杆。",
]


@pytest.mark.parametrize("text", ENGLISH + CHINESE)
def test_canonical_text_round_trips(text: str) -> None:
    """write(parse(text)) == text for canonical text, English and Chinese."""
    assert write(parse(text)) == text


def test_parse_reads_overall_and_shots() -> None:
    shot_list = parse(ENGLISH[0])
    assert shot_list.overall == "A lighthouse at dusk."
    assert shot_list.shots == [Shot(0, 3, "Wide shot: waves below.", 1), Shot(3, 6, "Close-up of the lamp.", 2)]
    assert shot_list.unparsed == [] and shot_list.language == "en"
    chinese = parse(CHINESE[0])
    assert chinese.language == "zh" and chinese.overall == "雨夜的城市街头，电影感。"
    assert chinese.shots[1] == Shot(3, 6, "特写：雨滴。", 2)
    assert write(chinese, "en").splitlines()[1] == "Shot 1 [0-3s] 全景：行人撑伞走过。"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Shot 1 [0-3s] a", (0, 3, "a", 1)),
        ("shot 1 [0 - 3 s] a", (0, 3, "a", 1)),
        ("SHOT1[0s-3s]a", (0, 3, "a", 1)),
        ("Shot 1: [0–3s]: a", (0, 3, "a", 1)),
        ("Shot #2 [1.5 to 3 sec] a", (1.5, 3, "a", 2)),
        ("  - Shot 1 [0-3] a", (0, 3, "a", 1)),
        ("Shot 1 【0-3s】 a", (0, 3, "a", 1)),
        ("Shot 1 ［0~3s］ a", (0, 3, "a", 1)),
        ("Shot 1 (0-3s) a", (0, 3, "a", 1)),
        ("镜头1 [0-3秒] 全景", (0, 3, "全景", 1)),
        ("镜头 1【0-3 秒】全景", (0, 3, "全景", 1)),
        ("镜头1：［0至3秒］：全景", (0, 3, "全景", 1)),
        ("第 1 个镜头 [0-3 秒] 全景：雨夜的街头", (0, 3, "全景：雨夜的街头", 1)),
        ("第2镜 [3-5秒] 特写", (3, 5, "特写", 2)),
        ("镜头１ ［０-３秒］ 全景", (0, 3, "全景", 1)),
    ],
)
def test_spelling_variants_parse(text: str, expected: tuple[float, float, str, int]) -> None:
    """Spacing, case, colons, units, dashes, full-width brackets and digits, 第N个镜头."""
    shot_list = parse(text)
    assert shot_list.unparsed == []
    assert shot_list.shots == [Shot(*expected)]


def test_one_paragraph_prompt_parses() -> None:
    """Shots written on one line (as the UI's older example does) are still shots."""
    text = (
        "Shot 1 [0-3s] A lighthouse on a cliff at dusk, waves below. "
        "Shot 2 [3-6s] Close-up of the lamp starting to turn. Shot 3 [6-8s] The beam sweeps the sea."
    )
    shot_list = parse(text)
    assert [(s.start, s.end, s.number) for s in shot_list.shots] == [(0, 3, 1), (3, 6, 2), (6, 8, 3)]
    assert shot_list.shots[0].text == "A lighthouse on a cliff at dusk, waves below."
    assert parse(write(shot_list)) == shot_list


def test_lines_that_cannot_be_read_are_kept_verbatim() -> None:
    text = "Overall.\nShot 1 [0-3s] a\nShot 2 [3-] b, broken\n  Shot 3 [x-7s] c\nShot 4 d"
    shot_list = parse(text)
    assert shot_list.shots == [Shot(0, 3, "a", 1)]
    assert shot_list.unparsed == ["Shot 2 [3-] b, broken", "Shot 3 [x-7s] c", "Shot 4 d"]
    written = write(shot_list)
    for line in shot_list.unparsed:
        assert line in written
    assert parse(written) == shot_list
    assert unreadable(shot_list) == shot_list.unparsed


def test_untimed_shots_alone_are_not_flagged() -> None:
    """``Shot 1 The camera...`` with no ranges anywhere is the style of Alibaba's guide: kept, not flagged."""
    shot_list = parse("Shot 1 The camera rises.\nShot 2 The cheetah runs.")
    assert shot_list.shots == [] and len(shot_list.unparsed) == 2
    assert unreadable(shot_list) == []
    assert unreadable(parse("Shot 1 [0-] a")) == ["Shot 1 [0-] a"]


@pytest.mark.parametrize(
    "text",
    [
        "Screenshot 2 [0-3s] of the app",
        "as in shot 2 (the wide one), then more",
        "a 3-shot sequence [0-3s]",
        "Shot on 35mm film [grainy]",
        "长镜头 推进",
    ],
)
def test_prose_is_not_a_shot(text: str) -> None:
    shot_list = parse(text)
    assert shot_list == ShotList(text)


# Texts a shot or an overall description may hold: letters, CJK, punctuation, digits, inner
# newlines; never a shot marker of their own, and no leading colon (the writer's separator).
_ALPHABET = "abcdehiklmnorstuvwxyz ABCSHOT.,;'!?-[]()0123456789\n" + "全景特写镜头秒第个雨夜，。：【"
_TEXT = st.text(alphabet=st.sampled_from(list(_ALPHABET)), max_size=40).map(str.strip)
_TEXT = _TEXT.filter(
    lambda t: not parse(t).is_multi_shot and not parse(f"x {t}").is_multi_shot and not t.startswith((":", "："))
)
_TIME = st.integers(min_value=0, max_value=100_000).map(lambda n: n / 100)


@st.composite
def shot_lists(draw: st.DrawFn) -> ShotList:
    rows = draw(st.lists(st.tuples(_TIME, _TIME, _TEXT), max_size=6))
    overall = draw(_TEXT)
    shots = [Shot(start, end, text, number) for number, (start, end, text) in enumerate(rows, 1)]
    return ShotList(overall, shots)


@settings(max_examples=300, deadline=None)
@given(shot_list=shot_lists(), language=st.sampled_from(["en", "zh"]))
def test_rows_to_text_to_rows(shot_list: ShotList, language: Any) -> None:
    """parse(write(rows)) == rows, in both languages; and the text it writes is canonical."""
    text = write(shot_list, language)
    again = parse(text)
    assert again == shot_list
    assert write(again) == text
    if shot_list.shots:
        assert again.language == language


def test_seconds_are_written_exactly() -> None:
    values = (0.0, 3.0, 2.5, 0.07, 1e-06, 123.456)
    assert [seconds(v) for v in values] == ["0", "3", "2.5", "0.07", "0.000001", "123.456"]
    assert parse(f"Shot 1 [{seconds(0.1 + 0.2)}-1s] a").shots[0].start == 0.1 + 0.2


def test_editing_helpers() -> None:
    base = from_rows("Overall", [(0, 2, "a"), ("2", "5s", " b "), ("x", 3, "skipped"), (5, 7, "c")])
    assert base.shots == [Shot(0, 2, "a", 1), Shot(2, 5, "b", 2), Shot(5, 7, "c", 3)]
    even = split_evenly(base, 10)
    assert [(s.start, s.end) for s in even.shots] == [(0, 3.3), (3.3, 6.7), (6.7, 10)]
    assert [s.text for s in even.shots] == ["a", "b", "c"]
    assert parse(write(even)) == even
    added = add_shot(base, 10, "d")
    assert added.shots[-1] == Shot(7, 10, "d", 4)
    split = add_shot(even, 10, "d")  # no time left: the last shot is halved
    assert [(s.start, s.end) for s in split.shots[-2:]] == [(6.7, 8.3), (8.3, 10)]
    assert add_shot(ShotList("o"), 5).shots == [Shot(0, 5, "", 1)]
    moved = move_shot(base, 2, 0)
    assert [(s.text, s.start, s.end, s.number) for s in moved.shots] == [
        ("c", 0, 2, 1),
        ("a", 2, 4, 2),
        ("b", 4, 7, 3),
    ]
    assert move_shot(base, 5, 0) == base
    assert renumbered(ShotList("", [Shot(0, 1, "a", 7)])).shots == [Shot(0, 1, "a", 1)]
    assert base.rows() == [(0, 2, "a"), (2, 5, "b"), (5, 7, "c")]


# --- the shot warnings of the core rules ---------------------------------------------------------


def t2v(prompt: str, duration: int = 6, **extra: Any) -> dict[str, Any]:
    fields = {"prompt": prompt, "duration": duration, **extra}
    return {"model": "wan-2-7-video", "mode": "text-to-video", "input": fields}


def findings(body: dict[str, Any], profile: Profile = WAN) -> list[str]:
    parsed = parse_body(body, profile)
    assert parsed.ok, parsed.lines()
    assert all(p.severity == "warning" for p in parsed.all_problems())
    return parsed.lines()


CORRECT = "Overall.\nShot 1 [0-2s] a\nShot 2 [2-4s] b\nShot 3 [4-6s] c"
WARNINGS = [
    # (id, prompt, duration, words of the one expected warning)
    ("unreadable", "Shot 1 [0-3s] a\nShot 2 [3-] b\nShot 3 [3-6s] c", 6, "could not read the time range"),
    ("out of order", "Shot 1 [3-6s] a\nShot 2 [0-3s] b", 6, "Shot 2 [0-3s] starts before Shot 1 [3-6s]"),
    ("numbering", "Shot 1 [0-3s] a\nShot 3 [3-6s] b", 6, "the shots are numbered 1, 3"),
    ("overlap", "Shot 1 [0-3s] a\nShot 2 [2-6s] b", 6, "Shot 2 [2-6s] overlaps Shot 1 [0-3s] from 2s to 3s"),
    ("gap between", "Shot 1 [0-3s] a\nShot 2 [4-6s] b", 6, "nothing is described from 3s to 4s"),
    ("gap before", "Shot 1 [1-3s] a\nShot 2 [3-6s] b", 6, "nothing is described from 0s to 1s"),
    ("gap after", "Shot 1 [0-3s] a\nShot 2 [3-5s] b", 6, "nothing is described from 5s to 6s, after Shot 2"),
    ("ends past", "Shot 1 [0-3s] a\nShot 2 [3-6s] b", 5, "Shot 2 [3-6s] ends at 6s, past the end of the 5s video"),
    ("starts after", "Shot 1 [0-5s] a\nShot 2 [5-6s] b", 5, "Shot 2 [5-6s] starts at 5s, when the 5s video has ended"),
    ("too short", "Shot 1 [0-3s] a\nShot 2 [3-3.5s] b\nShot 3 [3.5-6s] c", 6, "Shot 2 [3-3.5s] lasts 0.5s"),
    ("no length", "Shot 1 [0-3s] a\nShot 2 [3-3s] b\nShot 3 [3-6s] c", 6, "Shot 2 [3-3s] lasts 0s"),
    ("too many", "\n".join(f"Shot {i + 1} [{i}-{i + 1}s] x" for i in range(6)), 6, "6 shots in 6s"),
    ("chinese", "镜头1 [0-3秒] 全景\n镜头2 [2-6秒] 特写", 6, "镜头2 [2-6秒] overlaps 镜头1 [0-3秒]"),
]


@pytest.mark.parametrize(("prompt", "duration", "words"), [w[1:] for w in WARNINGS], ids=[w[0] for w in WARNINGS])
def test_each_shot_warning_fires_on_a_minimal_case(prompt: str, duration: int, words: str) -> None:
    lines = findings(t2v(prompt, duration))
    assert len(lines) == 1, lines
    assert lines[0].startswith("input.prompt: ") and words in lines[0], lines


def test_a_correct_shot_list_has_no_findings() -> None:
    assert findings(t2v(CORRECT, 6)) == []
    assert findings(t2v(CORRECT.replace("Shot", "shot"), 6)) == []
    assert findings(t2v("Shot 1 [0-1s] a\nShot 2 [1-2s] b\nShot 3 [2-3s] c\nShot 4 [3-4s] d", 6)) != []
    assert findings(t2v("Shot 1 [0-1.5s] a\nShot 2 [1.5-3s] b\nShot 3 [3-4.5s] c\nShot 4 [4.5-6s] d", 6)) == []


def test_ends_past_backwards_and_fixes() -> None:
    """Fixes say what to do: the duration to set only when the profile allows it."""
    (line,) = findings(t2v("Shot 1 [0-3s] a\nShot 2 [3-7s] b", 6))
    assert line.endswith("end it at 6s, or set duration to 7")
    guide = findings(t2v("Shot 1 [0-3s] a\nShot 2 [3-7s] b", 6), GUIDE)
    assert guide == [guide[0]] and guide[0].endswith("end it at 6s, or set duration to 10")
    (line,) = findings(t2v("Shot 1 [0-3s] a\nShot 2 [3-16s] b", 15))
    assert line.endswith("end it at 15s")
    backwards = findings(t2v("Shot 1 [0-3s] a\nShot 2 [6-3s] b", 6))
    assert any("Shot 2 [6-3s] ends before it starts; write the earlier time first: [3-6s]" in x for x in backwards)


def test_the_duration_checks_follow_the_request() -> None:
    """No duration means the mode's default (5 s); video edit's 'keep the source' length is unknown."""
    (line,) = findings({"model": "wan-2-7-video", "mode": "text-to-video", "input": {"prompt": "Shot 1 [0-6s] a"}})
    assert "past the end of the 5s video" in line
    edit = {
        "model": "wan-2-7-video",
        "mode": "video-edit",
        "input": {"prompt": "Shot 1 [0-30s] snow", "media": [{"type": "video", "url": "https://e.com/v.mp4"}]},
    }
    assert findings(edit) == []


def test_the_shot_budget_is_a_profile_field(tmp_path: Path) -> None:
    """``shots.min_seconds_per_shot`` and ``shots.min_seconds`` come from the profile, with defaults."""
    assert (WAN.shots.min_seconds, WAN.shots.min_seconds_per_shot) == (1, 1.5)
    path = tmp_path / "loose.json"
    path.write_text(json.dumps({"extends": "wan-2.7", "name": "loose", "shots": {"min_seconds_per_shot": 1}}))
    loose = load_profile(str(path))
    assert loose.shots.min_seconds == 1
    many = "\n".join(f"Shot {i + 1} [{i}-{i + 1}s] x" for i in range(6))
    assert findings(t2v(many, 6), loose) == []
    assert findings(t2v(many, 6), WAN) != []


def test_only_the_first_prompt_max_chars_are_judged() -> None:
    """Past the cut the API never reads the prompt; a long run of broken shots gets a capped list."""
    broken = "Shot 1 [0-6s] a\n" + "Shot 2 [3-] b\n" * 300
    lines = findings(t2v(broken, 6))
    assert len(lines) == 11 and lines[-1].startswith("input.prompt: 290 more shot lines that could not be read")
    past = "Shot 1 [0-6s] a " + "x" * WAN.prompt_max_chars + "\nShot 2 [3-] b"
    assert [line for line in findings(t2v(past, 6)) if "could not read" in line] == []


@pytest.mark.parametrize("mode", MULTI_SHOT_MODES)
def test_every_mode_that_cuts_shots_has_a_multi_shot_example(mode: Any) -> None:
    assert any(parse(e.fields["prompt"]).shots for e in PROMPT_EXAMPLES[mode])


_SLOT_TYPES = {"reference_images": "reference_image", "reference_videos": "reference_video"}


@pytest.mark.parametrize("profile", [WAN, GUIDE], ids=["wan-2.7", "guide-page"])
def test_prompt_examples_are_canonical_and_clean(profile: Profile) -> None:
    """Every example prompt round-trips exactly and validates with no finding at all."""
    count = 0
    for mode, examples in PROMPT_EXAMPLES.items():
        for example in examples:
            prompt = example.fields["prompt"]
            assert write(parse(prompt)) == prompt, example.label
            media = [
                {"type": _SLOT_TYPES.get(slot, slot), "url": f"https://e.com/{sample.name}"}
                for slot, samples in example.media.items()
                for sample in samples
            ]
            body = {"model": "wan-2-7-video", "mode": mode, "input": {**example.fields, "media": media}}
            if not media:
                del body["input"]["media"]
            assert findings(body, profile) == [], example.label
            count += 1
    assert count >= 5


# --- validate on the command line -----------------------------------------------------------------


def test_validate_prints_warnings_and_exits_0_unless_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "shots.json"
    path.write_text(json.dumps(t2v("Overall.\nShot 1 [0-3s] a\nShot 2 [3-7s] b", 5)))
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["input"]["duration"] == 5  # stdout holds only the request
    assert err.splitlines() == [
        "warning: input.prompt: Shot 2 [3-7s] ends at 7s, past the end of the 5s video; "
        "end it at 5s, or set duration to 7"
    ]
    assert main(["validate", str(path), "--format", "dashscope", "--strict"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0].startswith("warning: input.prompt: Shot 2 [3-7s] ends at 7s")
    assert err.splitlines()[-1] == "error: 1 warning, and --strict accepts none"
    path.write_text(json.dumps(t2v(CORRECT, 6)))
    assert main(["validate", str(path), "--strict"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and json.loads(out)["input"]["prompt"] == CORRECT
