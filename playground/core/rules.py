"""Every documented rule of a Wan 2.7 request, judged against a constraint profile.

``check`` is the one validator: the CLI, the sandbox and the UI all call it, so a request the
playground calls invalid is refused everywhere with the same field and reason.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from playground.core.problems import Loc, Problem, shown
from playground.core.profile import MODES, DurationRule, MediaType, Mode, ModeRules, Profile
from playground.core.prompt_checks import check_prompt
from playground.core.request import (
    REQUEST_ADAPTER,
    MediaItem,
    ReferenceToVideo,
    VideoEdit,
    VideoRequest,
    fields_of,
    media_of,
)

# Why a field belongs to some modes only; shown when it is sent to another.
_NOT_IN_MODE = {
    "aspect_ratio": "the output follows the aspect of the first frame or first clip",
    "audio_url": "only text-to-video takes a soundtrack URL; image-to-video takes driving_audio",
    "media": "text-to-video takes no media; use image-to-video or reference-to-video",
    "audio_setting": "only video edit chooses between the source audio and new audio",
}
# Names people reach for that mean a field under another name.
_ALIASES = {
    "ratio": "aspect_ratio",
    "aspect": "aspect_ratio",
    "size": "resolution",
    "img_url": "media",
    "image_url": "media",
    "images": "media",
    "length": "duration",
    "negative": "negative_prompt",
}
_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "string_type": "a string",
    "tuple_type": "a list",
    "model_type": "an object",
    "dict_type": "an object",
}


@dataclass(frozen=True)
class CheckOptions:
    """Context a caller knows and the request does not."""

    # The official SDK uploads local files and sends oss:// URLs with a resolve header.
    allow_oss_urls: bool = False


@dataclass
class Verdict:
    """The outcome of checking a request: the parsed request when it is valid, and findings."""

    request: VideoRequest | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.request is not None and not any(p.severity == "error" for p in self.problems)


def check(data: Mapping[str, Any], profile: Profile, options: CheckOptions | None = None) -> Verdict:
    """Parse a request-model dict and judge it against the profile."""
    options = options or CheckOptions()
    unwritable = surrogate_problem(data)
    if unwritable is not None:
        return Verdict(None, [unwritable])
    mode = data.get("mode")
    if mode not in MODES:
        return Verdict(None, [mode_problem(mode)])
    try:
        request = REQUEST_ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        return Verdict(None, [_from_pydantic(err, mode) for err in exc.errors()])
    return Verdict(request, judge(request, profile, options))


def judge(request: VideoRequest, profile: Profile, options: CheckOptions | None = None) -> list[Problem]:
    """The profile's rules applied to an already well-typed request."""
    options = options or CheckOptions()
    rules = profile.mode(request.mode)
    found: list[Problem] = []
    found += _check_text(request, profile, rules)
    found += _check_duration(request, profile, rules)
    found += _check_choices(request, profile)
    found += _check_media(request, profile, rules, options)
    if request.model_id is not None and request.model_id not in rules.dashscope_models:
        found.append(
            Problem(
                ("model_id",),
                f"{shown(request.model_id)} is not a {request.mode} model",
                f"use one of {', '.join(rules.dashscope_models)}",
            )
        )
    # Shots and reference tokens live in the prompt text; their findings are warnings.
    found += check_prompt(request, profile, duration_rule(request, rules)[0])
    return found


# Half of a UTF-16 surrogate pair. JSON can spell one ("\ud800") and Python keeps it, but no
# UTF-8 encoder writes it, so a request holding one could never be sent, stored or shown.
_SURROGATE = re.compile("[\ud800-\udfff]")


def surrogate_problem(value: object, at: Loc = ()) -> Problem | None:
    """The first string (key or value) of a JSON-like value that holds an unpaired surrogate."""
    stack: list[tuple[object, Loc]] = [(value, at)]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found is not None:
                return Problem(
                    loc,
                    f"holds an unpaired surrogate ({found.group()!r}), which is not valid Unicode",
                    "remove it, or send the text as proper UTF-8",
                )
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    shown = key.encode("utf-8", "backslashreplace").decode("utf-8")
                    return Problem((*loc, shown), "this key holds an unpaired surrogate", "rename it in plain UTF-8")
                stack.append((child, (*loc, key)))
        elif isinstance(item, list | tuple):
            stack.extend((child, (*loc, index)) for index, child in enumerate(item))
    return None


def mode_problem(mode: object) -> Problem:
    choices = ", ".join(MODES)
    if mode is None:
        return Problem(("mode",), "missing", f"say which mode: one of {choices}")
    guess = difflib.get_close_matches(str(mode), MODES, n=1)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    return Problem(("mode",), f"{shown(mode)} is not a mode", f"{hint}use one of {choices}")


def _from_pydantic(err: ErrorDetails, mode: Mode) -> Problem:
    # The union's tag is the first location part; drop it so paths name request fields.
    loc: Loc = tuple(err["loc"][1:]) if err["loc"] and err["loc"][0] == mode else tuple(err["loc"])
    name = str(loc[-1]) if loc else ""
    kind = err["type"]
    given = err.get("input")
    if kind == "extra_forbidden":
        if name in _NOT_IN_MODE and loc == (name,):
            return Problem(loc, f"{mode} does not take {name}", f"{_NOT_IN_MODE[name]}; remove it")
        known = sorted(fields_of(mode))
        guess = [_ALIASES[name]] if _ALIASES.get(name) in known else difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {guess[0]!r}?" if guess else f"known fields: {', '.join(known)}"
        return Problem(loc, f"unknown field for {mode}", f"remove it; {hint}")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return Problem(loc, f"{shown(given)} is not allowed", f"use {expected}")
    if kind == "missing":
        return Problem(loc, "missing", f"add {name}")
    if kind in _TYPE_WORDS:
        return Problem(
            loc, f"must be {_TYPE_WORDS[kind]}, not {_json_type(given)}", f"send {name} as {_TYPE_WORDS[kind]}"
        )
    return Problem(loc, err["msg"], f"correct {name}")


def _json_type(value: object) -> str:
    names = {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        tuple: "a list",
        dict: "an object",
        type(None): "null",
    }
    return f"{names.get(type(value), type(value).__name__)} ({value!r})"[:80]


def _check_text(request: VideoRequest, profile: Profile, rules: ModeRules) -> list[Problem]:
    found: list[Problem] = []
    prompt = request.prompt or ""
    if rules.prompt_required and not prompt.strip():
        found.append(
            Problem(("prompt",), f"{request.mode} needs a prompt", "describe the subject, action, scene and style")
        )
    for name, text, limit in (
        ("prompt", prompt, profile.prompt_max_chars),
        ("negative_prompt", request.negative_prompt or "", profile.negative_prompt_max_chars),
    ):
        if len(text) > limit:
            found.append(
                Problem(
                    (name,),
                    f"{len(text)} characters; the API keeps the first {limit} "
                    f"and silently drops the other {len(text) - limit}",
                    f"shorten it to {limit} characters so nothing you wrote is lost",
                    "warning",
                )
            )
    return found


def duration_rule(request: VideoRequest, rules: ModeRules) -> tuple[DurationRule, str]:
    """The duration rule that applies to this request, and how to name the case in messages."""
    has_reference_video = any(m.type == "reference_video" for m in media_of(request))
    if has_reference_video and rules.duration_with_reference_video is not None:
        return rules.duration_with_reference_video, f"{request.mode} with a reference video"
    return rules.duration, request.mode


def _check_duration(request: VideoRequest, profile: Profile, rules: ModeRules) -> list[Problem]:
    if request.duration is None:
        return []
    rule, case = duration_rule(request, rules)
    seconds = request.duration
    if rule.allows(seconds):
        return []
    fix = f"use {rule.describe()}"
    if rule.choices is None and rule.max is not None and seconds > rule.max:
        return [Problem(("duration",), f"{seconds} is above {rule.max}, the maximum for {case}", fix)]
    if rule.choices is None and rule.min is not None and seconds < rule.min:
        return [Problem(("duration",), f"{seconds} is below {rule.min}, the minimum for {case}", fix)]
    return [Problem(("duration",), f"{seconds} is not allowed for {case} in profile {profile.name}", fix)]


def _check_choices(request: VideoRequest, profile: Profile) -> list[Problem]:
    found: list[Problem] = []
    if request.resolution is not None and request.resolution not in profile.resolutions:
        upper = request.resolution.upper()
        hint = (
            f"write {upper} (capital P)" if upper in profile.resolutions else f"use {' or '.join(profile.resolutions)}"
        )
        found.append(
            Problem(("resolution",), f"{shown(request.resolution)} is not a resolution of profile {profile.name}", hint)
        )
    ratio = getattr(request, "aspect_ratio", None)
    if ratio is not None and ratio not in profile.aspect_ratios:
        found.append(
            Problem(
                ("aspect_ratio",),
                f"{shown(ratio)} is not an aspect ratio of profile {profile.name}",
                f"use one of {', '.join(profile.aspect_ratios)}",
            )
        )
    if (
        isinstance(request, ReferenceToVideo)
        and ratio is not None
        and any(m.type == "first_frame" for m in request.media)
    ):
        found.append(
            Problem(
                ("aspect_ratio",),
                "ignored: with a first_frame the output takes the frame's aspect",
                "remove aspect_ratio, or remove the first_frame",
                "warning",
            )
        )
    if request.seed is not None and not 0 <= request.seed <= profile.seed_max:
        found.append(
            Problem(
                ("seed",),
                f"{request.seed} is outside 0-{profile.seed_max}",
                f"use a whole number from 0 to {profile.seed_max}, or leave it out for a random seed",
            )
        )
    return found


def _check_media(request: VideoRequest, profile: Profile, rules: ModeRules, options: CheckOptions) -> list[Problem]:
    found: list[Problem] = []
    audio_url = getattr(request, "audio_url", None)
    if audio_url is not None:
        found += _check_url(("audio_url",), audio_url, "audio_url", request.mode, rules, profile, options)
    media = media_of(request)
    if rules.media_max == 0:
        return found
    for index, item in enumerate(media):
        found += _check_item(index, item, request.mode, rules, profile, options)
    if any(p.loc[-1] == "type" for p in found):
        return found  # counting types that do not belong here would only repeat the problem
    found += _check_counts(request, media, rules)
    return found


def _check_item(
    index: int, item: MediaItem, mode: Mode, rules: ModeRules, profile: Profile, options: CheckOptions
) -> list[Problem]:
    loc: Loc = ("media", index)
    if item.type not in rules.media_types:
        return [
            Problem(
                (*loc, "type"),
                f"{item.type!r} is not a {mode} media type",
                f"use one of {', '.join(rules.media_types)}",
            )
        ]
    found = _check_url((*loc, "url"), item.url, item.type, mode, rules, profile, options)
    if item.reference_voice is not None:
        if item.type != "reference_video":
            found.append(
                Problem(
                    (*loc, "reference_voice"),
                    f"only a reference_video takes a reference_voice, not a {item.type}",
                    "remove reference_voice from this item",
                )
            )
        else:
            found += _check_url(
                (*loc, "reference_voice"), item.reference_voice, "reference_voice", mode, rules, profile, options
            )
    return found


def _check_url(
    loc: Loc, url: str, kind: str, mode: Mode, rules: ModeRules, profile: Profile, options: CheckOptions
) -> list[Problem]:
    if not url.strip():
        return [Problem(loc, "empty", "give a public http(s) URL of the file")]
    if url.startswith("data:"):
        if kind not in rules.data_uri_types:
            where = " and ".join(f"{t} in {m}" for m in MODES for t in profile.mode(m).data_uri_types) or "nowhere"
            return [
                Problem(
                    loc,
                    f"a data: URI is not accepted for {kind} in {mode}",
                    f"upload the file and give its http(s) URL (data: URIs are accepted for {where})",
                )
            ]
        return _check_data_uri(loc, url, kind, profile)
    parts = urlsplit(url)
    if parts.scheme == "oss":
        if options.allow_oss_urls:
            return []
        return [Problem(loc, "an oss:// URL is a DashScope temporary upload, which only DashScope's own format "
                             "resolves", "attach the file again in this format, or give a public http(s) URL")]
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [
            Problem(
                loc,
                f"{url[:60]!r} is not an http(s) URL",
                "give a public http:// or https:// URL (upload local files first)",
            )
        ]
    return []


_DATA_MIMES = ("image/jpeg", "image/png", "image/bmp", "image/webp")


def _check_data_uri(loc: Loc, url: str, kind: str, profile: Profile) -> list[Problem]:
    header, _, payload = url.partition(",")
    mime = header.removeprefix("data:").removesuffix(";base64")
    if not header.endswith(";base64") or mime not in _DATA_MIMES:
        return [
            Problem(
                loc,
                "a data: URI must look like data:image/png;base64,...",
                f"use one of the types {', '.join(_DATA_MIMES)}, base64-encoded",
            )
        ]
    try:
        size = len(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        return [
            Problem(loc, "the data: URI's base64 payload does not decode", "encode the file again with standard base64")
        ]
    limit = profile.media[kind].max_bytes
    if size > limit:
        return [Problem(loc, f"the embedded file is {size} bytes, over the {limit}-byte limit", "use a smaller image")]
    return []


def _check_counts(request: VideoRequest, media: tuple[MediaItem, ...], rules: ModeRules) -> list[Problem]:
    mode = request.mode
    counts = Counter(m.type for m in media)
    if len(media) < rules.media_min:
        need = " or ".join(rules.media_types[:2]) if mode == "image-to-video" else ", ".join(rules.media_types)
        return [Problem(("media",), f"{mode} needs media", f"add at least one item: {need}")]
    found: list[Problem] = []
    for kind, minimum in rules.min_per_type.items():
        if counts[kind] < minimum:
            found.append(
                Problem(("media",), f"{mode} needs exactly {minimum} {kind}", f"add a media item of type {kind}")
            )
    for kind, maximum in rules.max_per_type.items():
        if counts[kind] > maximum:
            found.append(
                Problem(
                    ("media",),
                    f"{counts[kind]} items of type {kind}; {mode} takes at most {maximum}",
                    f"keep {maximum} {kind} and remove the rest",
                )
            )
    if rules.media_combinations is not None:
        found += _check_combination(counts, rules)
    if rules.references_max is not None:
        refs = counts["reference_image"] + counts["reference_video"]
        low = rules.references_min or 0
        if not low <= refs <= rules.references_max:
            found.append(
                Problem(
                    ("media",),
                    f"{refs} reference images and videos; {mode} takes {low}-{rules.references_max}",
                    f"give between {low} and {rules.references_max} reference_image or reference_video items",
                )
            )
    if isinstance(request, VideoEdit | ReferenceToVideo) and len(media) > rules.media_max:
        found.append(Problem(("media",), f"{len(media)} items; {mode} takes at most {rules.media_max}", "remove items"))
    return found


def _check_combination(counts: Counter[MediaType], rules: ModeRules) -> list[Problem]:
    assert rules.media_combinations is not None
    repeated = [t for t, n in counts.items() if n > 1]
    if repeated:
        return [Problem(("media",), f"{', '.join(repeated)} given more than once", "give each media type at most once")]
    given = frozenset(counts)
    allowed = [frozenset(c) for c in rules.media_combinations]
    if given in allowed:
        return []
    listed = "; ".join(" + ".join(c) for c in rules.media_combinations)
    return [Problem(("media",), f"{' + '.join(sorted(given))} is not an allowed combination", f"use one of: {listed}")]
