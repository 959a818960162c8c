"""JSON Schema of the wire bodies, built from the request model and the active profile.

The model gives the structure; the profile fills in the limits, so the schema a developer
copies says exactly what ``validate`` enforces (cross-field rules are in the descriptions).
"""

from __future__ import annotations

from typing import Any

from playground.core.profile import MODES, Mode, Profile
from playground.core.request import MODEL_FOR_MODE
from playground.core.wire import DASHSCOPE_PLACES, WireFormat


def _field_schemas(mode: Mode, profile: Profile) -> dict[str, dict[str, Any]]:
    model_schema = MODEL_FOR_MODE[mode].model_json_schema(mode="validation")
    defs = model_schema.get("$defs", {})
    rules = profile.mode(mode)
    fields: dict[str, dict[str, Any]] = {}
    for name, prop in model_schema["properties"].items():
        if name in ("mode", "model_id"):
            continue
        prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
        if "anyOf" in prop:  # X | None: a field may be left out, but null is not a value
            prop = next(p for p in prop["anyOf"] if p.get("type") != "null") | {
                k: v for k, v in prop.items() if k != "anyOf"
            }
        fields[name] = prop
    fields["prompt"] |= {
        "type": "string",
        "description": f"Up to {profile.prompt_max_chars} characters; the API truncates the rest silently.",
    }
    fields["negative_prompt"] |= {
        "type": "string",
        "description": f"Up to {profile.negative_prompt_max_chars} characters.",
    }
    fields["resolution"] = {"enum": list(profile.resolutions), "default": profile.default_resolution}
    fields["seed"] = {"type": "integer", "minimum": 0, "maximum": profile.seed_max}
    duration = rules.duration
    fields["duration"] = {"type": "integer", "enum": duration.values(), "default": duration.default}
    if rules.duration_with_reference_video is not None:
        fields["duration"]["description"] = (
            f"{duration.describe()}; {rules.duration_with_reference_video.describe()} with a reference video."
        )
    if "aspect_ratio" in fields:
        fields["aspect_ratio"] = {"enum": list(profile.aspect_ratios), "default": profile.default_aspect_ratio}
    if "media" in fields:
        item = dict(defs["MediaItem"])
        item.pop("title", None)
        item["properties"] = {
            k: {kk: vv for kk, vv in v.items() if kk != "title"} for k, v in item["properties"].items()
        }
        item["properties"]["type"] = {"enum": list(rules.media_types)}
        item["properties"]["reference_voice"] = {
            "type": "string",
            "description": "reference_video only: a WAV/MP3 URL.",
        }
        fields["media"] = {"type": "array", "items": item, "minItems": rules.media_min, "maxItems": rules.media_max}
        if rules.media_combinations:
            combos = "; ".join(" + ".join(c) for c in rules.media_combinations)
            fields["media"]["description"] = f"Allowed combinations: {combos}."
    return fields


def _required(mode: Mode, profile: Profile) -> list[str]:
    rules = profile.mode(mode)
    return [name for name, needed in (("prompt", rules.prompt_required), ("media", rules.media_min > 0)) if needed]


def _mode_schema(mode: Mode, profile: Profile, fmt: WireFormat) -> dict[str, Any]:
    fields = _field_schemas(mode, profile)
    required = _required(mode, profile)
    if fmt == "gateway":
        return {
            "title": f"{mode} (gateway)",
            "type": "object",
            "required": ["model", "mode", "input"],
            "additionalProperties": False,
            "properties": {
                "model": {"const": profile.gateway_model},
                "mode": {"const": mode},
                "input": {"type": "object", "additionalProperties": False, "required": required, "properties": fields},
            },
        }
    containers: dict[str, dict[str, Any]] = {"input": {}, "parameters": {}}
    for name, prop in fields.items():
        container, key = DASHSCOPE_PLACES[name]
        containers[container][key] = prop
    return {
        "title": f"{mode} (DashScope)",
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": {"enum": list(profile.mode(mode).dashscope_models)},
            "input": {"type": "object", "required": required, "properties": containers["input"]},
            "parameters": {"type": "object", "properties": containers["parameters"]},
        },
    }


def request_schema(profile: Profile, fmt: WireFormat = "gateway", mode: Mode | None = None) -> dict[str, Any]:
    """The JSON Schema of one mode's request body, or of any of the four."""
    if mode is not None:
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", **_mode_schema(mode, profile, fmt)}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Wan 2.7 video request ({fmt}, profile {profile.name})",
        "oneOf": [_mode_schema(m, profile, fmt) for m in MODES],
    }
