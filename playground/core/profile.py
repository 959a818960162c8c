"""Constraint profiles: every limit the playground enforces, loaded from JSON data files.

A profile is the one source of limits. The request rules, the sandbox and the UI's choices
and slider ranges all read it; nothing restates a limit in code.

A profile file may say ``"extends": "<name or path>"`` and give only what differs; objects
are merged key by key, everything else is replaced.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from playground.core.extending import read_extending
from playground.core.jsonfile import JsonFileError, decode_json, read_json_file

# The plain names live in modes.py (no pydantic: the render processes import them alone);
# re-exported here so callers of the profile find them where they always did.
from playground.core.modes import MODES as MODES
from playground.core.modes import MediaLimit as MediaLimit
from playground.core.modes import MediaType as MediaType
from playground.core.modes import Mode as Mode

DEFAULT_PROFILE = "wan-2.7"


class ProfileError(ValueError):
    """A profile could not be found or does not describe valid limits."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DurationRule(_Frozen):
    """Allowed durations in whole seconds: a closed range, or a list of choices."""

    min: int | None = None
    max: int | None = None
    choices: tuple[int, ...] | None = None
    default: int
    keep_source: int | None = Field(
        default=None, description="A value meaning 'keep the source video's length' (edit: 0)."
    )

    @model_validator(mode="after")
    def _range_or_choices(self) -> DurationRule:
        if self.choices is None and (self.min is None or self.max is None):
            raise ValueError("a duration rule needs either min and max, or choices")
        return self

    def allows(self, seconds: int) -> bool:
        if self.keep_source is not None and seconds == self.keep_source:
            return True
        if self.choices is not None:
            return seconds in self.choices
        assert self.min is not None and self.max is not None
        return self.min <= seconds <= self.max

    def describe(self) -> str:
        """Say the allowed values the way a fix message needs them, e.g. '2-10' or '6 or 10'."""
        if self.choices is not None:
            values = [str(c) for c in self.choices]
            text = ", ".join(values[:-1]) + " or " + values[-1] if len(values) > 1 else values[0]
        else:
            text = f"{self.min}-{self.max}"
        if self.keep_source is not None:
            text = f"{self.keep_source} (keep the source length) or {text}"
        return text

    def values(self) -> list[int]:
        """Every allowed value, in order (for dropdowns and sliders)."""
        base = list(self.choices) if self.choices is not None else []
        if self.choices is None:
            assert self.min is not None and self.max is not None
            base = list(range(self.min, self.max + 1))
        if self.keep_source is not None and self.keep_source not in base:
            base.insert(0, self.keep_source)
        return base


class ShotLimits(_Frozen):
    """How the multi-shot checks judge a prompt's timed shots (they warn, never refuse)."""

    min_seconds: float = Field(default=1.0, gt=0, description="A shot shorter than this is too short to register.")
    min_seconds_per_shot: float = Field(
        default=1.5, gt=0, description="A video of d seconds sensibly holds at most d / this many shots."
    )


class ModeRules(_Frozen):
    """What one mode accepts."""

    dashscope_models: tuple[str, ...] = Field(min_length=1)
    duration: DurationRule
    duration_with_reference_video: DurationRule | None = None
    prompt_required: bool
    has_aspect_ratio: bool
    has_audio_url: bool = False
    has_audio_setting: bool = False
    media_types: tuple[MediaType, ...] = ()
    media_min: int = 0
    media_max: int = 0
    media_combinations: tuple[tuple[MediaType, ...], ...] | None = None
    references_min: int | None = None
    references_max: int | None = None
    max_per_type: dict[MediaType, int] = Field(default_factory=dict)
    min_per_type: dict[MediaType, int] = Field(default_factory=dict)
    data_uri_types: tuple[MediaType, ...] = ()

    @property
    def dashscope_model(self) -> str:
        """The model id the playground sends to DashScope for this mode."""
        return self.dashscope_models[0]


class Profile(_Frozen):
    """A named set of limits for all four modes."""

    name: str
    description: str = ""
    gateway_model: str
    prompt_max_chars: int = Field(gt=0)
    negative_prompt_max_chars: int = Field(gt=0)
    resolutions: tuple[str, ...] = Field(min_length=1)
    default_resolution: str
    aspect_ratios: tuple[str, ...] = Field(min_length=1)
    default_aspect_ratio: str
    seed_max: int = Field(gt=0)
    shots: ShotLimits = Field(default_factory=ShotLimits)
    modes: dict[Mode, ModeRules]
    media: dict[str, MediaLimit]

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        missing = [m for m in MODES if m not in self.modes]
        if missing:
            raise ValueError(f"modes is missing {', '.join(missing)}")
        if self.default_resolution not in self.resolutions:
            raise ValueError("default_resolution must be one of resolutions")
        if self.default_aspect_ratio not in self.aspect_ratios:
            raise ValueError("default_aspect_ratio must be one of aspect_ratios")
        return self

    def mode(self, mode: Mode) -> ModeRules:
        return self.modes[mode]

    def mode_for_dashscope_model(self, model: str) -> Mode | None:
        for name, rules in self.modes.items():
            if model in rules.dashscope_models:
                return name
        return None


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with the playground."""
    folder = resources.files(__package__).joinpath("profiles")
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def _read_raw(ref: str) -> dict[str, Any]:
    return read_extending(ref, read=_read_json, source=_source, error=ProfileError, kind="profile")


def _source(ref: str) -> str:
    if ref in builtin_profiles():
        return f"built-in profile {ref!r}"
    return f"profile file {ref!r}"


def _read_json(ref: str) -> Any:
    """The JSON of a built-in profile or a profile file, read as every CLI file is read."""
    source = _source(ref)
    if ref in builtin_profiles():
        raw = resources.files(__package__).joinpath("profiles", f"{ref}.json").read_bytes()
        return decode_json(raw, source, what="a JSON profile")
    if not Path(ref).is_file():
        names = ", ".join(builtin_profiles())
        raise JsonFileError(
            f"profile {ref!r}: no built-in profile has that name and no such file exists; "
            f"use one of {names} or the path of a JSON profile file"
        )
    return read_json_file(ref, label=source, what="a JSON profile")


def load_profile(ref: str = DEFAULT_PROFILE) -> Profile:
    """Load a built-in profile by name, or a profile file by path."""
    raw = _read_raw(ref)
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ProfileError(f"profile {ref!r}: {where}: {first['msg']}") from None
