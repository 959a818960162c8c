"""Generated bad input for the pure core: the request model, ``rules.check``, ``wire.parse`` and the importer.

Hypothesis builds what a careless or hostile caller could send: JSON-like values of any shape,
wrong types in every field, numbers far out of range, huge strings, control characters, bidi
overrides and unpaired UTF-16 surrogates, in either wire format, as pasted JSON or inside a
curl command. Whatever arrives, the core must answer, never raise, and each finding must name a
JSON path; whatever it accepts must be writable as UTF-8 JSON (the CLI prints it, the sandbox
stores it, the page shows it).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.core import importer, wire
from playground.core.problems import Problem
from playground.core.profile import MODES, Mode, load_profile
from playground.core.request import fields_of
from playground.core.rules import check

PROFILE = load_profile()
GUIDE = load_profile("guide-page")
# Distinct inputs tried, per function under test; the module's last test reports the total.
TRIED: dict[str, set[str]] = {}


def examples(count: int) -> settings:
    """Few examples each (the whole module stays near 30 s on two cores), no per-example deadline."""
    return settings(max_examples=count, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def tried(family: str, value: object) -> None:
    TRIED.setdefault(family, set()).add(repr(value)[:2000] + str(len(repr(value))))


# -- what bad input is made of -----------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "\x00\x01\x02\x1b[31mred\x1b[0m",
    "\r\n\t\x0b\x0c",
    "\u202eevil\u202c",
    "\ufeffbom",
    "\ud800",
    "a\udfffb",
    "\U0001f4a5" * 3,
    "x" * 70_000,
    "720p",
    "16:9 ",
    "data:image/png;base64,!!!",
    "data:text/html;base64,PGI+",
    "oss://bucket/key",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "http://",
    "https://e.com/a.png\n",
    "../../etc/passwd",
    "wan2.7-t2v",
    "wan-2-7-video",
    "gemini_omni",
    *MODES,
]
text = st.one_of(st.text(max_size=30), st.sampled_from(NASTY_TEXT))
numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([0, -1, 1, 2, 15, 16, 2**31, 2**31 - 1, 2**63, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
MEDIA_TYPES = ["first_frame", "last_frame", "first_clip", "driving_audio", "reference_image", "reference_video",
               "video", "image", ""]
media_item = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(st.sampled_from(MEDIA_TYPES), json_like),
            "url": st.one_of(text, json_like),
            "reference_voice": st.one_of(text, json_like),
            "extra": json_like,
        },
    ),
    json_like,
)
FIELDS = sorted({name for mode in MODES for name in fields_of(mode)} | {"ratio", "img_url", "size", "\ud800"})


def field_value(name: str) -> st.SearchStrategy[Any]:
    if name == "media":
        return st.one_of(st.lists(media_item, max_size=6), json_like)
    return json_like


request_dicts = st.fixed_dictionaries(
    {"mode": st.one_of(st.sampled_from(MODES), json_like)},
    optional={name: field_value(name) for name in FIELDS},
)


def wire_bodies(fmt: str) -> st.SearchStrategy[Any]:
    models = ["wan-2-7-video", "wan2.7-t2v", "wan2.7-i2v", "wan2.7-r2v", "wan2.7-videoedit", "gemini_omni"]
    inner = st.dictionaries(st.one_of(st.sampled_from(FIELDS), text), json_like, max_size=6)
    top = {"model": st.one_of(st.sampled_from(models), json_like), "input": st.one_of(inner, json_like)}
    if fmt == "gateway":
        top["mode"] = st.one_of(st.sampled_from(MODES), json_like)
    else:
        top["parameters"] = st.one_of(inner, json_like)
    return st.one_of(
        st.fixed_dictionaries({}, optional={**top, "extra": json_like}),
        json_like,
    )


def assert_named(problem: Problem, fmt: wire.WireFormat) -> str:
    """Every finding has a JSON path, words and a fix, and all three can be written as UTF-8."""
    path = wire.path_of(fmt, problem.loc)
    assert path and problem.message and problem.fix, problem
    line = problem.line(path)
    line.encode("utf-8")  # an unpaired surrogate quoted raw would make this raise
    assert len(line) < 2000, line[:300]  # a huge value is cut short, never echoed whole
    return path


def assert_writable(body: object) -> None:
    json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")


# -- the request model and rules.check ----------------------------------------------------------


@examples(250)
@given(data=request_dicts, strict_profile=st.booleans())
def test_check_never_raises_and_names_every_finding(data: dict[str, Any], strict_profile: bool) -> None:
    """Any request-model dict: a verdict, never an exception; every finding names a field."""
    tried("rules.check", data)
    verdict = check(data, GUIDE if strict_profile else PROFILE)
    for problem in verdict.problems:
        assert problem.loc, problem  # a dict always has a field to blame
        assert_named(problem, "gateway")
        assert_named(problem, "dashscope")
    if verdict.ok:
        assert verdict.request is not None
        assert_writable(wire.to_wire("gateway", verdict.request, PROFILE))
        assert_writable(wire.to_wire("dashscope", verdict.request, PROFILE))


VALID: dict[str, dict[str, Any]] = {
    "text-to-video": {"mode": "text-to-video", "prompt": "a cat"},
    "image-to-video": {"mode": "image-to-video", "media": [{"type": "first_frame", "url": "https://e.com/a.png"}]},
    "reference-to-video": {"mode": "reference-to-video", "prompt": "Image 1 waves",
                           "media": [{"type": "reference_image", "url": "https://e.com/r.png"}]},
    "video-edit": {"mode": "video-edit", "prompt": "snow", "media": [{"type": "video", "url": "https://e.com/v.mp4"}]},
}
WRONG_TYPES = [1.5, True, [], ["x"], {}, {"a": 1}, float("inf"), float("nan"), "5"]
# Values of the right JSON type that are never right for the field (0 s is video edit's "keep source").
NEVER_RIGHT: dict[str, list[Any]] = {
    "duration": [-1, 1, 16, 2**40, -(2**63)],
    "seed": [-1, 2**31, 2**63, -(2**40)],
    "resolution": ["", "720p", "4K", "x" * 70_000, "\x00", "\u202e720P", "720P\ud800"],
    "aspect_ratio": ["", "16:10", "16 : 9", "x" * 70_000, "\x1b[31m", "1:1\ud800"],
    "audio_setting": ["", "AUTO", "loud", "x" * 70_000, "\x00"],
    "audio_url": ["", " ", "file:///etc/passwd", "ftp://e.com/a.mp3", "javascript:alert(1)", "http://", "\x00",
                  "https://e.com/\ud800.mp3"],
    "prompt": ["a \ud800 b", "\udfff"],
    "negative_prompt": ["\ud83d"],
    "model_id": ["wan2.7-t2v-\x00", "gpt-4", "x" * 70_000, "\ud800"],
}


def _right_type(name: str, value: Any) -> bool:
    """Whether a value from WRONG_TYPES happens to fit the field."""
    if name in ("prompt_extend", "watermark"):
        return isinstance(value, bool)
    return name in ("prompt", "negative_prompt") and isinstance(value, str)


def _bad_values(mode: Mode) -> list[tuple[str, Any]]:
    names = sorted(fields_of(mode) - {"media"})
    wrong = [(name, value) for name in names for value in WRONG_TYPES if not _right_type(name, value)]
    return wrong + [(name, value) for name in names for value in NEVER_RIGHT.get(name, [])]


@examples(300)
@given(mode=st.sampled_from(MODES), data=st.data())
def test_one_bad_field_is_named_by_its_path(mode: Mode, data: st.DataObject) -> None:
    """A valid request with one field broken: refused, and the error names that field's JSON path."""
    name, value = data.draw(st.sampled_from(_bad_values(mode)))
    request = {**VALID[mode], name: value}
    tried("one bad field", (mode, name, value))
    for fmt in wire.FORMATS:
        verdict = check(request, PROFILE)
        assert not verdict.ok, (name, value)
        paths = [assert_named(p, fmt) for p in verdict.problems if p.severity == "error"]
        expected = wire.path_of(fmt, (name,))
        assert any(p == expected or p.startswith(expected + ".") for p in paths), (name, value, paths)


@examples(120)
@given(mode=st.sampled_from(MODES[1:]), index=st.integers(0, 5), data=st.data())
def test_a_bad_media_item_is_named_by_its_index(mode: str, index: int, data: st.DataObject) -> None:
    """Media lists with one broken item (wrong type, bad URL, unknown key): the error names media[i]."""
    broken: Any = data.draw(st.sampled_from([
        {"type": "first_frame", "url": 5},
        {"type": 5, "url": "https://e.com/a.png"},
        {"type": "reference_image"},
        {"url": "https://e.com/a.png"},
        {"type": "reference_image", "url": "https://e.com/a.png", "colour": "red"},
        {"type": "reference_image", "url": "file:///etc/passwd"},
        {"type": "reference_image", "url": "data:image/png;base64,!!!"},
        {"type": "reference_image", "url": "https://e.com/\ud800.png"},
        {"type": "reference_image", "url": "x" * 70_000},
        "https://e.com/a.png",
        None,
        [],
    ]))
    media = list(VALID[mode]["media"])
    media.insert(min(index, len(media)), broken)
    position = media.index(broken)
    tried("bad media item", (mode, position, broken))
    verdict = check({**VALID[mode], "media": media}, PROFILE)
    assert not verdict.ok, media
    paths = [assert_named(p, "gateway") for p in verdict.problems if p.severity == "error"]
    assert any(p.startswith(f"input.media[{position}]") or p == "input.media" for p in paths), (broken, paths)


# -- wire.parse --------------------------------------------------------------------------------


@examples(250)
@given(fmt=st.sampled_from(["gateway", "dashscope", None]), data=st.data())
def test_parse_never_raises_and_names_every_finding(fmt: wire.WireFormat | None, data: st.DataObject) -> None:
    """Any JSON-like body, in either format or detected: findings with paths, and only writable requests."""
    body = data.draw(wire_bodies(fmt or data.draw(st.sampled_from(wire.FORMATS))))
    tried("wire.parse", (fmt, body))
    parsed = wire.parse(body, PROFILE, fmt)
    for problem in parsed.all_problems():
        assert_named(problem, parsed.format)
    for line in parsed.lines():
        line.encode("utf-8")
    if parsed.ok:
        assert parsed.request is not None
        assert_writable(wire.to_wire(parsed.format, parsed.request, PROFILE))
    elif isinstance(body, dict):
        assert any(p.severity == "error" for p in parsed.all_problems()), body


@examples(150)
@given(text_body=st.one_of(
    json_like.map(lambda v: json.dumps(v)),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["{", "[" * 3000, '{"a": ' * 3000, "1e999", '"\\ud800"', '{"\\udfff": 1}', "NaN", "nul\x00l"]),
))
def test_parse_of_decoded_text_never_raises(text_body: str) -> None:
    """Whatever text a caller sends, decoded the way the CLI and the sandbox decode it, then parsed."""
    tried("wire.parse of text", text_body)
    try:
        body = json.loads(text_body)
    except (ValueError, RecursionError):
        return  # refused before parsing; the CLI and sandbox tests check those words
    parsed = wire.parse(body, PROFILE)
    for line in parsed.lines():
        line.encode("utf-8")


# -- the importer ------------------------------------------------------------------------------

ENDPOINTS = [
    "https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/video-generation/video-synthesis",
    "https://gw.example.com/v1/videos/generations",
    "http://127.0.0.1:7860/sandbox/v1/videos/generations",
    "http://[::1",
    "ftp://x",
    "",
]


def curl_of(body: str, url: str, extra: list[str]) -> str:
    parts = ["curl", "-X", "POST", shlex.quote(url), "-H", "'Authorization: Bearer sk-secret-123'", *extra,
             "-d", shlex.quote(body)]
    return " ".join(parts)


pasted = st.one_of(
    st.text(max_size=300),
    json_like.map(json.dumps),
    st.one_of(wire_bodies("gateway"), wire_bodies("dashscope")).map(lambda b: json.dumps(b)),
    st.builds(
        curl_of,
        st.one_of(json_like.map(json.dumps), st.text(max_size=80)),
        st.sampled_from(ENDPOINTS),
        st.lists(st.sampled_from(["-H", "'X-DashScope-Async: enable'", "--data-binary", "@file", "-u", "a:b",
                                  "-k", "--compressed", "$'\\x00\\u202e'", "'unterminated", "\\", "|", "&&", "rm",
                                  "-F", "file=@/etc/passwd", "--url", "http://e.com"]), max_size=6),
    ),
    st.sampled_from(["curl", "curl '", "curl $'\\", "curl -d @-", "curl " + "-H x " * 2000, "[" * 5000,
                     '{"model": "wan2.7-t2v", "input": {"prompt": "\\ud800"}}',
                     '{"model": "wan-2-7-video", "mode": "text-to-video", "input": {"\\udfff": 1}}']),
)


@examples(300)
@given(text_in=pasted)
def test_import_never_raises_and_never_keeps_a_key(text_in: str) -> None:
    """Pasted JSON, curl commands and noise: a result with a message; findings name paths; the key is dropped."""
    tried("importer.import_request", text_in)
    result = importer.import_request(text_in, PROFILE)
    assert result.message
    for line in result.lines():
        line.encode("utf-8")
        assert "sk-secret-123" not in line
        assert len(line) < 5000, line[:300]
    for finding in result.problems:
        assert finding.path and finding.message and finding.fix, finding
    if result.request is not None:
        assert_writable(wire.to_wire(result.format or "gateway", result.request, PROFILE))


def test_the_count_of_bad_inputs() -> None:
    """The figure the README reports: distinct generated inputs tried on the core, by function."""
    if not TRIED:
        pytest.skip("run the whole module: the count is gathered by the tests above")
    counts = {family: len(inputs) for family, inputs in sorted(TRIED.items())}
    print("core bad inputs:", counts, "total", sum(counts.values()))
    assert sum(counts.values()) >= 800, counts
