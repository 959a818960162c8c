"""Variations: a grid of requests made from one base request and up to two axes of values.

An axis names one request-model field (``seed``, ``prompt``, ``duration``, ``resolution``,
``aspect_ratio`` ...) and the values it takes; the grid is every combination, the first axis
outer (rows of a contact sheet), the second inner (columns). Each request of the grid is judged
by :func:`playground.core.rules.check`, exactly as a single request is, and turned into its wire
body by :mod:`playground.core.wire`; an invalid one keeps its field messages and is never sent.

What a field may take comes from the request schema (:func:`playground.core.schema.request_schema`),
which reads the request model and the profile: nothing here restates a limit.

Pure: no I/O (the default seed range reads the built-in profile, as every core module may).
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from playground.core.profile import DEFAULT_PROFILE, Mode, Profile, load_profile
from playground.core.schema import request_schema
from playground.core.wire import DASHSCOPE_PLACES

MAX_AXES = 2
# Prompts hold commas, so a list of prompts is split on "|" or on new lines instead.
PROMPT_SEPARATORS = ("\n", "|")
_TEXT_FIELDS = ("prompt", "negative_prompt")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
# The DashScope names of fields (``ratio``) are accepted for the request-model ones.
_ALIASES = {key: name for name, (_, key) in DASHSCOPE_PLACES.items() if key != name}


class VariationError(ValueError):
    """An axis or a grid that cannot be built; ``field`` names the field, the text says the fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Axis:
    """One varied field and its values, in order. ``labels`` (optional, one per value) is how a
    value is shown: a template axis shows its placeholder values, not the whole prompt."""

    field: str
    values: tuple[Any, ...]
    labels: tuple[str, ...] = ()

    def label_of(self, index: int) -> str:
        if self.labels:
            return self.labels[index]
        return f"{self.field}={_short(self.values[index])}"


@dataclass(frozen=True)
class Variation:
    """One request of a grid: its position, the axis values it takes, the whole request dict."""

    index: int
    values: Mapping[str, Any]
    request: dict[str, Any]
    labels: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``seed=7 · resolution=720P``; the base request alone is ``base``."""
        if self.labels:
            return " · ".join(self.labels)
        return values_label(self.values)


# -- fields ------------------------------------------------------------------------------------


def _field_schemas(mode: Mode, profile: Profile) -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = request_schema(profile, "gateway", mode)["properties"]["input"]["properties"]
    return props


def variable_fields(mode: Mode, profile: Profile) -> list[str]:
    """The fields a grid may vary in this mode: seed, prompt, then every field with a list of
    choices or a number or a switch (duration, resolution, aspect_ratio, prompt_extend ...)."""
    props = _field_schemas(mode, profile)
    found = [
        name for name, prop in props.items()
        if name in _TEXT_FIELDS or "enum" in prop or prop.get("type") in ("integer", "boolean")
    ]
    first = [name for name in ("seed", "prompt") if name in found]
    return first + [name for name in found if name not in first]


def field_choices(mode: Mode, profile: Profile, name: str) -> tuple[Any, ...] | None:
    """The values a field allows in this mode (a dropdown's choices), or None for free values."""
    prop = _field_schemas(mode, profile).get(name, {})
    if "enum" in prop:
        return tuple(prop["enum"])
    if prop.get("type") == "boolean":
        return (False, True)
    return None


def field_name(name: str, mode: Mode, profile: Profile) -> str:
    """The request-model field a name means (``ratio`` is ``aspect_ratio``), or VariationError."""
    name = name.strip()
    fields = variable_fields(mode, profile)
    resolved = _ALIASES.get(name, name)
    if resolved not in fields:
        raise VariationError(name or "(field)", f"{mode} cannot vary this field; use one of {', '.join(fields)}")
    return resolved


# -- axes --------------------------------------------------------------------------------------


def parse_axis(name: str, text: str, mode: Mode, profile: Profile) -> Axis:
    """An axis from text: ``"720P, 1080P"``; prompts one per line or ``|``-separated. Values are
    typed by the field (whole numbers, true/false); whether each is allowed is for the grid's
    check to say, request by request, so one bad value marks one cell rather than the whole grid."""
    resolved = field_name(name, mode, profile)
    raw = _split_text(text) if resolved in _TEXT_FIELDS else _split_list(text)
    if not raw:
        sep = "one per line or separated by |" if resolved in _TEXT_FIELDS else "separated by commas"
        raise VariationError(resolved, f"no values given; write them {sep}")
    kind = _field_schemas(mode, profile)[resolved].get("type")
    values = tuple(_typed(resolved, kind, part) for part in raw)
    return Axis(resolved, _distinct(resolved, values))


def parse_vary(spec: str, mode: Mode, profile: Profile) -> Axis:
    """An axis from ``FIELD=V1,V2,...`` (the sweep command's ``--vary``)."""
    name, sep, text = spec.partition("=")
    if not sep:
        raise VariationError(name.strip() or "--vary", "write FIELD=V1,V2,... (for example resolution=720P,1080P)")
    return parse_axis(name, text, mode, profile)


def seed_axis(
    count: int | None = None,
    seeds: Sequence[int] | None = None,
    rng: random.Random | None = None,
    *,
    seed_max: int | None = None,
) -> Axis:
    """A seed axis: the seeds given, or ``count`` distinct random ones from 0 to ``seed_max``
    (default: the built-in profile's)."""
    if seeds is not None:
        values = tuple(seeds)
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int):
                raise VariationError("seed", f"{value!r} is not a whole number; give seeds as whole numbers")
        if not values:
            raise VariationError("seed", "no seeds given; give at least one")
        return Axis("seed", _distinct("seed", values))
    if count is None or isinstance(count, bool) or count < 1:
        raise VariationError("seed", "say how many random seeds (1 or more), or give a list of seeds")
    top = seed_max if seed_max is not None else _default_seed_max()
    if count > top + 1:
        raise VariationError("seed", f"only {top + 1} seeds exist; ask for fewer")
    rng = rng or random.Random()
    return Axis("seed", tuple(rng.sample(range(top + 1), count)))


def template_axis(template: str, values: Mapping[str, Sequence[str]]) -> Axis:
    """A prompt axis from a template with ``{name}`` placeholders and a list of values for each:
    every combination, the first placeholder outer. ``{{`` and ``}}`` are literal braces."""
    names = _placeholders(template)
    if not names:
        raise VariationError("prompt", "the template has no {name} placeholder; add one, or give a list of prompts")
    missing = [n for n in names if not values.get(n)]
    if missing:
        named = ", ".join("{" + n + "}" for n in missing)
        raise VariationError("prompt", f"no values for {named}; give a list for each")
    unused = [n for n in values if n not in names]
    if unused:
        raise VariationError("prompt", f"the template has no {', '.join('{' + n + '}' for n in unused)}; "
                                       "add it to the template or drop its values")
    prompts: list[str] = []
    labels: list[str] = []
    for combo in itertools.product(*(list(values[n]) for n in names)):
        chosen = dict(zip(names, combo, strict=True))
        prompts.append(template.format_map(chosen))
        labels.append(values_label(chosen))
    _distinct("prompt", tuple(prompts))
    return Axis("prompt", tuple(prompts), tuple(labels))


# -- the grid ----------------------------------------------------------------------------------


def expand(base: Mapping[str, Any], axes: Sequence[Axis], *, limit: int) -> list[Variation]:
    """Every combination of the axes' values applied to the base request (first axis outer)."""
    if len(axes) > MAX_AXES:
        raise VariationError(axes[MAX_AXES].field, f"at most {MAX_AXES} axes; drop {len(axes) - MAX_AXES}")
    fields = [a.field for a in axes]
    for name in fields:
        if fields.count(name) > 1:
            raise VariationError(name, "varied twice; give all its values in one axis")
    size = 1
    for axis in axes:
        if not axis.values:
            raise VariationError(axis.field, "no values; give at least one")
        size *= len(axis.values)
    if size > limit:
        counts = " × ".join(str(len(a.values)) for a in axes)
        raise VariationError(
            fields[-1], f"{counts} = {size} requests, over the limit of {limit} (PLAYGROUND_MAX_VARIATIONS); "
                        "give fewer values")
    grid: list[Variation] = []
    for index, picks in enumerate(itertools.product(*(range(len(a.values)) for a in axes))):
        chosen = {a.field: a.values[i] for a, i in zip(axes, picks, strict=True)}
        labels = tuple(a.label_of(i) for a, i in zip(axes, picks, strict=True))
        grid.append(Variation(index, chosen, {**base, **chosen}, labels))
    return grid


# -- helpers -----------------------------------------------------------------------------------


@cache
def _default_seed_max() -> int:
    return load_profile(DEFAULT_PROFILE).seed_max


def _split_text(text: str) -> list[str]:
    sep = "\n" if "\n" in text.strip() else "|"
    return [part.strip() for part in text.split(sep) if part.strip()]


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _typed(name: str, kind: object, text: str) -> Any:
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise VariationError(name, f"{text[:40]!r} is not a whole number; give whole numbers") from None
    if kind == "boolean":
        word = text.lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise VariationError(name, f"{text[:40]!r} is not true or false; give true or false")
    return text


def _distinct(name: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
    seen: set[Any] = set()
    for value in values:
        key = (type(value), value)
        if key in seen:
            raise VariationError(name, f"{_short(value)} is given twice; give each value once")
        seen.add(key)
    return values


def _placeholders(template: str) -> list[str]:
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise VariationError("prompt", f"the template has an unmatched brace ({exc}); write {{{{ or }}}} "
                                       "for a literal brace") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise VariationError("prompt", f"{{{name}}} is not a placeholder; write {{name}} with letters, "
                                           "digits and _ only")
        if name not in names:
            names.append(name)
    return names


def values_label(values: Mapping[str, Any], *, empty: str = "base", limit: int = 40) -> str:
    """``seed=7 · resolution=720P``: axis values as a grid cell (or a contact sheet) names them."""
    return " · ".join(f"{k}={_short(v, limit)}" for k, v in values.items()) or empty


def _short(value: Any, limit: int = 40) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
