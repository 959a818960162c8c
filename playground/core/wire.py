"""The two wire formats, produced from and parsed back into the one request model.

* ``gateway``: the guide page's unified body, ``{"model", "mode", "input": {...}}``.
* ``dashscope``: Alibaba Model Studio's native body, ``{"model", "input", "parameters"}``.

Parsing never raises: it returns the findings with the JSON path of the body it read.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from playground.core.problems import Loc, Problem, shown
from playground.core.profile import MODES, Mode, Profile
from playground.core.request import VideoRequest
from playground.core.rules import CheckOptions, Verdict, check, mode_problem, surrogate_problem

WireFormat = Literal["gateway", "dashscope"]
FORMATS: tuple[WireFormat, ...] = ("gateway", "dashscope")

# The guide page's parameter table names this model; it is another product (a copy error).
MISTAKEN_GATEWAY_MODEL = "gemini_omni"

# First part of a location that names a top-level key of the body itself.
TOP = "$"

# Request-model field -> (container, key) in the DashScope body, in the order the docs list them.
DASHSCOPE_PLACES: dict[str, tuple[str, str]] = {
    "prompt": ("input", "prompt"),
    "negative_prompt": ("input", "negative_prompt"),
    "audio_url": ("input", "audio_url"),
    "media": ("input", "media"),
    "resolution": ("parameters", "resolution"),
    "aspect_ratio": ("parameters", "ratio"),
    "duration": ("parameters", "duration"),
    "prompt_extend": ("parameters", "prompt_extend"),
    "watermark": ("parameters", "watermark"),
    "seed": ("parameters", "seed"),
    "audio_setting": ("parameters", "audio_setting"),
}
_GATEWAY_INPUT = (
    "prompt",
    "negative_prompt",
    "duration",
    "resolution",
    "aspect_ratio",
    "seed",
    "prompt_extend",
    "watermark",
    "audio_url",
    "media",
    "audio_setting",
)
# What the official SDK always adds, and older-model fields Wan 2.7 ignores.
_SDK_NOISE = {("input", "extend_prompt"), ("input", "function")}
_IGNORED_LEGACY = {
    ("parameters", "size"): "2.6-era pixel size; Wan 2.7 uses resolution and ratio",
    ("parameters", "shot_type"): "removed in 2.7; describe shots in the prompt instead",
    ("parameters", "audio"): "2.6-era switch; Wan 2.7 adds sound by itself",
    ("input", "img_url"): "2.6-era field; Wan 2.7 takes media items",
}


@dataclass
class Parsed:
    """A wire body read back: its format, the verdict, and every finding."""

    format: WireFormat
    verdict: Verdict
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not any(p.severity == "error" for p in self.problems)

    @property
    def request(self) -> VideoRequest | None:
        return self.verdict.request

    def all_problems(self) -> list[Problem]:
        return [*self.problems, *self.verdict.problems]

    def lines(self) -> list[str]:
        """One line per finding, each naming the JSON path in this body's format."""
        return [p.line(path_of(self.format, p.loc)) for p in self.all_problems()]


def path_of(fmt: WireFormat, loc: Loc) -> str:
    """The JSON path, in this wire format, of a request-model location."""
    if not loc:
        return "(body)"
    # Keys are quoted as sent, cut short: an unknown key of a megabyte is not echoed whole.
    loc = tuple(p if isinstance(p, int) or len(str(p)) <= 80 else f"{str(p)[:76]}..." for p in loc)
    head, rest = str(loc[0]), loc[1:]
    if head == TOP:
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".") or "(body)"
    if head in ("model", "mode", "input", "parameters", "model_id"):
        base = "model" if head == "model_id" else head
    elif fmt == "dashscope" and head in DASHSCOPE_PLACES:
        container, key = DASHSCOPE_PLACES[head]
        base = f"{container}.{key}"
    else:
        base = f"input.{head}"
    return base + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)


def _request_fields(request: VideoRequest) -> dict[str, Any]:
    data = request.model_dump(mode="json", exclude_none=True, exclude={"mode", "model_id"})
    if not data.get("media", True):
        del data["media"]  # an empty list says nothing the API needs to hear
    return data


def to_gateway(request: VideoRequest, profile: Profile) -> dict[str, Any]:
    """The guide page's unified body for this request."""
    data = _request_fields(request)
    body_input = {k: data[k] for k in _GATEWAY_INPUT if k in data}
    return {"model": profile.gateway_model, "mode": request.mode, "input": body_input}


def to_dashscope(request: VideoRequest, profile: Profile) -> dict[str, Any]:
    """DashScope's native body for this request."""
    data = _request_fields(request)
    body: dict[str, Any] = {
        "model": request.model_id or profile.mode(request.mode).dashscope_model,
        "input": {},
        "parameters": {},
    }
    for name, (container, key) in DASHSCOPE_PLACES.items():
        if name in data:
            body[container][key] = data[name]
    return body


def to_wire(fmt: WireFormat, request: VideoRequest, profile: Profile) -> dict[str, Any]:
    return to_gateway(request, profile) if fmt == "gateway" else to_dashscope(request, profile)


def detect_format(body: Mapping[str, Any], profile: Profile) -> WireFormat:
    """Which format a body is in: a ``mode`` key or the gateway model id means gateway."""
    model = body.get("model")
    if "mode" in body or model in (profile.gateway_model, MISTAKEN_GATEWAY_MODEL):
        return "gateway"
    if "parameters" in body or (isinstance(model, str) and profile.mode_for_dashscope_model(model)):
        return "dashscope"
    return "gateway"


def parse(body: object, profile: Profile, fmt: WireFormat | None = None, options: CheckOptions | None = None) -> Parsed:
    """Read a wire body (either format, detected unless given) into the request model."""
    if not isinstance(body, Mapping):
        problem = Problem(
            (), f"the request must be a JSON object, not {type(body).__name__}", 'send {"model": ..., "input": {...}}'
        )
        return Parsed(fmt or "gateway", Verdict(None), [problem])
    fmt = fmt or detect_format(body, profile)
    unwritable = surrogate_problem(body, (TOP,))
    if unwritable is not None:
        # Caught on the body, not the request: unknown keys are quoted in findings too.
        return Parsed(fmt, Verdict(None), [unwritable])
    reader = _read_gateway if fmt == "gateway" else _read_dashscope
    data, problems = reader(body, profile)
    if data is None:
        return Parsed(fmt, Verdict(None), problems)
    return Parsed(fmt, check(data, profile, options), problems)


# DashScope names people write by habit from the gateway format.
_DASHSCOPE_ALIASES = {"aspect_ratio": "ratio", "mode": "model"}


def _unknown(loc: Loc, known: tuple[str, ...] | list[str]) -> Problem:
    name = str(loc[-1])
    alias = _DASHSCOPE_ALIASES.get(name)
    guess = [alias] if alias in known else difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {guess[0]!r}?" if guess else f"known fields: {', '.join(known)}"
    return Problem(loc, "unknown field", f"remove it; {hint}")


def _object(body: Mapping[str, Any], key: str, required: bool) -> tuple[dict[str, Any] | None, list[Problem]]:
    value = body.get(key)
    if value is None and not required:
        return {}, []
    if value is None:
        return None, [Problem((key,), "missing", f"add an object {key!r}")]
    if not isinstance(value, dict):
        return None, [Problem((key,), "must be an object", f"send {key} as {{...}}")]
    return value, []


def _read_gateway(body: Mapping[str, Any], profile: Profile) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems = [_unknown((TOP, k), ["model", "mode", "input"]) for k in body if k not in ("model", "mode", "input")]
    model = body.get("model")
    if model is None:
        problems.append(Problem(("model",), "missing", f'add "model": "{profile.gateway_model}"'))
    elif model == MISTAKEN_GATEWAY_MODEL:
        problems.append(
            Problem(
                ("model",),
                f"{MISTAKEN_GATEWAY_MODEL!r} is another product, named by mistake in the guide page's parameter table",
                f'use "model": "{profile.gateway_model}" as the guide\'s own example does',
            )
        )
    elif model != profile.gateway_model:
        problems.append(
            Problem(
                ("model",),
                f"{shown(model)} is not the Wan 2.7 gateway model",
                f'use "model": "{profile.gateway_model}"',
            )
        )
    mode = body.get("mode")
    if mode not in MODES:
        problems.append(mode_problem(mode))
    body_input, found = _object(body, "input", required=True)
    problems += found
    if body_input is None or mode not in MODES:
        return None, problems
    data: dict[str, Any] = {"mode": mode}
    for key, value in body_input.items():
        if value is not None:
            data[key] = value
    return data, problems


def _read_dashscope(body: Mapping[str, Any], profile: Profile) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems = [
        _unknown((TOP, k), ["model", "input", "parameters"]) for k in body if k not in ("model", "input", "parameters")
    ]
    model = body.get("model")
    mode: Mode | None = profile.mode_for_dashscope_model(model) if isinstance(model, str) else None
    ids = ", ".join(profile.mode(m).dashscope_model for m in MODES)
    if model is None:
        problems.append(Problem(("model",), "missing", f"add a model id: one of {ids}"))
    elif mode is None:
        hint = " (that is the gateway id; DashScope takes one id per mode)" if model == profile.gateway_model else ""
        problems.append(Problem(("model",), f"{shown(model)} is not a Wan 2.7 model{hint}", f"use one of {ids}"))
    body_input, found = _object(body, "input", required=True)
    problems += found
    params, found = _object(body, "parameters", required=False)
    problems += found
    if body_input is None or params is None or mode is None:
        return None, problems
    data: dict[str, Any] = {"mode": mode}
    if model != profile.mode(mode).dashscope_model:
        data["model_id"] = model
    places = {place: name for name, place in DASHSCOPE_PLACES.items()}
    for container, values in (("input", body_input), ("parameters", params)):
        for key, value in values.items():
            place = (container, key)
            if place in _SDK_NOISE or value is None:
                continue
            if place in _IGNORED_LEGACY:
                problems.append(Problem(place, f"ignored by Wan 2.7: {_IGNORED_LEGACY[place]}", "remove it", "warning"))
            elif place in places:
                data[places[place]] = value
            else:
                problems.append(_unknown(place, [k for c, k in DASHSCOPE_PLACES.values() if c == container]))
    return data, problems
