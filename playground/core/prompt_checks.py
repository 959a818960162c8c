"""Checks of what lives only in the prompt text: its timed shots and its reference tokens.

The service accepts every one of these prompts, so each finding is a warning at
``input.prompt`` with its fix, never an error. :func:`playground.core.rules.judge` calls
:func:`check_prompt`, so the CLI, the sandbox and the UI report the same findings.

Shots (see :mod:`playground.core.shots`): a shot line whose range cannot be read; shots out of
order, overlapping, or leaving a stretch undescribed (before the first, between two, after the
last); a shot that starts after the video ends or ends past it; a shot shorter than the profile's
``shots.min_seconds``; more shots than ``duration / shots.min_seconds_per_shot``.

References (see :mod:`playground.core.tokens`): a token with no such media item (``Image 3``
with two reference images); a reference the prompt never names; tokens in a mode that takes no
references.
"""

from __future__ import annotations

import itertools
import math

from playground.core.problems import Loc, Problem, shown
from playground.core.profile import DurationRule, Mode, Profile, ShotLimits
from playground.core.request import VideoRequest
from playground.core.shots import Language, Shot, ShotList, parse, seconds, unreadable
from playground.core.tokens import TOKEN_TYPES, Token, label, request_media_types, resolve, targets, unnamed

PROMPT: Loc = ("prompt",)
# A prompt of thousands of broken shots gets a few findings of each kind and a count, not thousands.
MAX_PER_KIND = 10
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def _warn(message: str, fix: str) -> Problem:
    return Problem(PROMPT, message, fix, "warning")


def _s(value: float) -> str:
    return f"{seconds(value)}s"


def _ordinal(number: int) -> str:
    return _ORDINALS[number - 1] if 1 <= number <= len(_ORDINALS) else f"#{number}"


def known_duration(request: VideoRequest, rule: DurationRule) -> int | None:
    """The video's length in seconds when the request fixes it: None for "keep the source
    length" (video edit's 0) and for a duration the rules refuse anyway."""
    value = request.duration if request.duration is not None else rule.default
    if rule.keep_source is not None and value == rule.keep_source:
        return None
    return value if rule.allows(value) else None


def check_prompt(request: VideoRequest, profile: Profile, rule: DurationRule) -> list[Problem]:
    """Every shot and reference-token finding of the request's prompt (warnings only)."""
    # The API reads only the first prompt_max_chars characters (the over-long warning says so);
    # shots and tokens past them are never seen, so they are not judged either.
    prompt = (request.prompt or "")[: profile.prompt_max_chars]
    if not prompt.strip():
        return []
    duration = known_duration(request, rule)
    found = check_shots(parse(prompt), duration, profile.shots, rule)
    found += check_tokens(prompt, request.mode, request_media_types(request))
    return found


# --- shots ---------------------------------------------------------------------------------------


def check_shots(
    shot_list: ShotList, duration: float | None, limits: ShotLimits, rule: DurationRule | None = None
) -> list[Problem]:
    """The shot findings of a parsed prompt for a video of ``duration`` seconds (None: unknown)."""
    lang = shot_list.language
    example = "镜头2 [3-6秒] 特写：..." if lang == "zh" else "Shot 2 [3-6s] close-up, ..."
    found = [
        _warn(
            f"could not read the time range of the shot line {shown(line, 60)}",
            f"give it a range in seconds, start-end, then the shot: {example}",
        )
        for line in unreadable(shot_list)
    ]
    found = _capped(found, "shot lines that could not be read")
    shots = shot_list.shots
    if not shots:
        return found
    found += _capped(_check_order(shots, lang, numbered=not shot_list.unparsed), "shots out of order")
    found += _capped(_check_lengths(shots, lang, limits), "shots too short")
    found += _capped(_check_coverage(shots, lang, duration), "overlaps and gaps")
    if duration is not None:
        found += _capped(_check_bounds(shots, lang, duration, rule), "shots outside the video")
        found += _check_count(shots, duration, limits, rule)
    return found


def _capped(found: list[Problem], what: str, limit: int = MAX_PER_KIND) -> list[Problem]:
    """At most ``limit`` findings of one kind, then one line counting the rest."""
    if len(found) <= limit:
        return found
    rest = len(found) - limit
    return [*found[:limit], _warn(f"{rest} more {what}", "fix the ones above first, then check again")]


def _check_order(shots: list[Shot], lang: Language, numbered: bool) -> list[Problem]:
    found = []
    for before, shot in itertools.pairwise(shots):
        if shot.start < before.start:
            found.append(
                _warn(
                    f"{shot.label(lang)} starts before {before.label(lang)}, which comes earlier in the prompt",
                    "list the shots in time order, or correct their times",
                )
            )
    numbers = [s.number for s in shots]
    expected = list(range(1, len(shots) + 1))
    if numbered and numbers != expected:
        found.append(
            _warn(
                f"the shots are numbered {', '.join(map(str, numbers))}",
                f"number them {', '.join(map(str, expected))} in the order they are written",
            )
        )
    return found


def _check_lengths(shots: list[Shot], lang: Language, limits: ShotLimits) -> list[Problem]:
    found = []
    for shot in shots:
        if shot.end < shot.start:
            found.append(
                _warn(
                    f"{shot.label(lang)} ends before it starts",
                    f"write the earlier time first: [{seconds(shot.end)}-{_s(shot.start)}]",
                )
            )
        elif shot.length < limits.min_seconds:
            found.append(
                _warn(
                    f"{shot.label(lang)} lasts {_s(shot.length)}, under the {_s(limits.min_seconds)} "
                    "a shot needs to register",
                    f"make it at least {_s(limits.min_seconds)} long, or merge it into a neighbouring shot",
                )
            )
    return found


def _check_coverage(shots: list[Shot], lang: Language, duration: float | None) -> list[Problem]:
    """Overlaps and undescribed stretches, judged on the shots in time order."""
    timed = sorted((s for s in shots if s.end >= s.start), key=lambda s: (s.start, s.end))
    if not timed:
        return []
    found = []
    first = timed[0]
    if first.start > 0:
        found.append(
            _warn(
                f"nothing is described from 0s to {_s(first.start)}, before {first.label(lang)}",
                f"start {_name(first, lang)} at 0s",
            )
        )
    reach = timed[0]  # the shot reaching furthest so far
    for shot in timed[1:]:
        name, reach_name = _name(shot, lang), _name(reach, lang)
        if shot.start < reach.end:
            found.append(
                _warn(
                    f"{shot.label(lang)} overlaps {reach.label(lang)} from {_s(shot.start)} "
                    f"to {_s(min(shot.end, reach.end))}",
                    f"start {name} at {_s(reach.end)}, or end {reach_name} at {_s(shot.start)}",
                )
            )
        elif shot.start > reach.end:
            found.append(
                _warn(
                    f"nothing is described from {_s(reach.end)} to {_s(shot.start)}, "
                    f"between {reach_name} and {name}",
                    f"start {name} at {_s(reach.end)}, or end {reach_name} at {_s(shot.start)}",
                )
            )
        if shot.end > reach.end:
            reach = shot
    if duration is not None and reach.end < duration:
        found.append(
            _warn(
                f"nothing is described from {_s(reach.end)} to {_s(duration)}, after {_name(reach, lang)} "
                f"(duration is {seconds(duration)})",
                f"end {_name(reach, lang)} at {_s(duration)}, or add a shot for the rest",
            )
        )
    return found


def _name(shot: Shot, lang: Language) -> str:
    """A shot's marker without its range: ``Shot 2``."""
    return shot.label(lang).split(" [")[0]


def _duration_fix(needed: float, rule: DurationRule | None) -> str | None:
    """"set duration to N" when the duration rule allows a whole N >= needed."""
    if rule is None:
        return None
    whole = math.ceil(needed - 1e-9)
    choice = next((v for v in rule.values() if v >= whole and v != rule.keep_source), None)
    return f"set duration to {choice}" if choice is not None else None


def _check_bounds(shots: list[Shot], lang: Language, duration: float, rule: DurationRule | None) -> list[Problem]:
    found = []
    for shot in shots:
        longer = _duration_fix(max(shot.end, shot.start), rule)
        if shot.start >= duration:
            fix = f"remove it, move it within 0-{_s(duration)}" + (f", or {longer}" if longer else "")
            found.append(
                _warn(f"{shot.label(lang)} starts at {_s(shot.start)}, when the {_s(duration)} video has ended", fix)
            )
        elif shot.end > duration:
            fix = f"end it at {_s(duration)}" + (f", or {longer}" if longer else "")
            found.append(
                _warn(f"{shot.label(lang)} ends at {_s(shot.end)}, past the end of the {_s(duration)} video", fix)
            )
    return found


def _check_count(shots: list[Shot], duration: float, limits: ShotLimits, rule: DurationRule | None) -> list[Problem]:
    fit = max(1, math.floor(duration / limits.min_seconds_per_shot + 1e-9))
    if len(shots) <= fit:
        return []
    longer = _duration_fix(len(shots) * limits.min_seconds_per_shot, rule)
    return [
        _warn(
            f"{len(shots)} shots in {_s(duration)}: at about {_s(limits.min_seconds_per_shot)} a shot, "
            f"{fit} fit",
            f"merge them into {fit} or fewer" + (f", or {longer}" if longer else ""),
        )
    ]


# --- reference tokens ----------------------------------------------------------------------------


def check_tokens(prompt: str, mode: Mode, media_types: list[str]) -> list[Problem]:
    """The reference-token findings of a prompt, given the request's media types in order."""
    resolved = resolve(prompt, mode, media_types)
    if not resolved:
        return _check_unnamed(prompt, mode, media_types, [])
    if mode not in TOKEN_TYPES:
        names = ", ".join(dict.fromkeys(r.token.label for r in resolved))
        return [
            _warn(
                f"names {names}, but {mode} takes no reference images or videos",
                "describe the subject in words, or use reference-to-video to attach references",
            )
        ]
    places = targets(mode, media_types)
    found: list[Problem] = []
    seen: set[tuple[str, int]] = set()
    for item in resolved:
        token = item.token
        if item.media_index is not None or (token.kind, token.number) in seen:
            continue
        seen.add((token.kind, token.number))
        found.append(_dangling(token, mode, len(places[token.kind])))
    found = _capped(found, "tokens with no media item")
    return found + _check_unnamed(prompt, mode, media_types, [r.token for r in resolved])


def _dangling(token: Token, mode: Mode, count: int) -> Problem:
    media_type = TOKEN_TYPES[mode][token.kind]
    name = _both(token)
    if count == 0:
        have, use = f"the request has no {media_type}", f"or rewrite the prompt without {token.label}"
    else:
        have = f"the request has {count} {media_type} item{'s' * (count != 1)}"
        use = f"or name only {_range(token.kind, count)}"
    if token.number < 1:
        return _warn(f"{name} names no media item: numbering starts at 1", f"name {_range(token.kind, max(count, 1))}")
    more = token.number - count
    attach = f"attach {more} more {media_type} item{'s' * (more != 1)} ({token.label} is the {_ordinal(token.number)})"
    return _warn(f"{name} names no media item: {have}", f"{attach}, {use}")


def _range(kind: str, count: int) -> str:
    word = "Image" if kind == "image" else "Video"
    return f"{word} 1" if count == 1 else f"{word} 1-{count}"


def _both(token: Token) -> str:
    """A token as the prompt wrote it, with its English name beside a Chinese one: 图3 (Image 3)."""
    if token.language == "zh":
        return f"{label(token.kind, token.number, 'zh')} ({token.label})"
    return token.label


def _check_unnamed(prompt: str, mode: Mode, media_types: list[str], tokens: list[Token]) -> list[Problem]:
    missing = unnamed(prompt, mode, media_types)
    if not missing:
        return []
    chinese = any(t.language == "zh" for t in tokens)
    places = targets(mode, media_types)
    found = []
    for index in missing:
        kind = next(k for k, indexes in places.items() if index in indexes)
        number = places[kind].index(index) + 1
        name = label(kind, number, "zh" if chinese else "en")
        found.append(
            _warn(
                f"never names {name}, the {media_types[index]} at media[{index}], so it may not appear",
                f"name it where it should appear (e.g. '{name} walks in'), or remove it",
            )
        )
    return found
