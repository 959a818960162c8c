"""What a request costs: billed seconds, unit price and total before it is sent, the bill after.

Pure: no I/O. Lengths of media given by URL come in as ``media_seconds`` (URL -> seconds),
measured by whoever can (the UI probes every upload; the CLI probes local files, and URLs with
``--probe``); a length that is not there makes the quote a range.

The billing rules, in one place (sources: the Alibaba Cloud Model Studio API references for
wan2.7-videoedit and wan2.7-r2v, mirrored in github.com/Zijian-Yang/MieMie-Studio; Runware's
and new-api's Wan 2.7 billing; see ``prices/default.json`` and the contract notes §6.2):

1. Price is per second of video, by model and resolution, and differs by region (and by
   gateway): :mod:`playground.core.prices`.
2. The billed seconds are what the query answer reports in ``usage.duration`` on success.
   Text-to-video and image-to-video bill the output seconds (an image-to-video ``first_clip``
   is part of the output, since ``duration`` is the total). Video edit bills the input video's
   seconds + the output seconds; reference-to-video with reference videos bills their total
   length + the output seconds. Input images and audio are free.
3. The output length is ``duration``, or the mode's default when omitted (5). For video edit,
   ``duration`` 0 (the default) means the whole input video (2-10 s); a duration of 2-10 cuts
   the input from 0 s, so that many seconds (at most the input's length) are billed as input
   and as output.
4. The billed resolution is the request's ``resolution``, or the profile's default when
   omitted (1080P for ``wan-2.7``, as the service does; video edit too).
5. Failed and cancelled tasks cost nothing: only a SUCCEEDED task has a :func:`bill`.
6. A length that is not known (a video given by URL and not probed) is taken as the range
   the profile's media limits allow, and the quote says so (``exact`` False).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from playground.core.prices import PriceTable
from playground.core.profile import Profile
from playground.core.request import MediaItem, VideoRequest, media_of
from playground.core.rules import duration_rule
from playground.core.wire import WireFormat

# Video inputs whose seconds are billed on top of the output, by mode.
_BILLED_INPUTS = {"reference-to-video": "reference_video", "video-edit": "video"}
_FREE_KINDS = {"image": "images", "audio": "audio"}


@dataclass(frozen=True)
class Quote:
    """The cost of one request before it is sent.

    Seconds are ranges (``min == max`` when ``exact``); totals are None when no price is known
    for the model and resolution in the region (``notes`` says why).
    """

    mode: str
    format: WireFormat  # the wire format priced: the gateway has its own model id (and price)
    model: str  # the model id priced
    region: str
    region_label: str
    currency: str | None
    unit_price: float | None
    resolution: str
    output_seconds_min: float
    output_seconds_max: float
    input_seconds_min: float
    input_seconds_max: float
    billed_seconds_min: float
    billed_seconds_max: float
    total_min: float | None
    total_max: float | None
    exact: bool
    notes: tuple[str, ...]
    prices_as_of: str | None
    price_note: str  # "list price as of <date>, check your console"

    @property
    def priced(self) -> bool:
        return self.total_max is not None

    def to_json(self) -> dict[str, Any]:
        """The quote as one JSON object (the CLI's ``--json`` and the UI's endpoints)."""
        return {
            "mode": self.mode,
            "format": self.format,
            "model": self.model,
            "region": self.region,
            "region_label": self.region_label,
            "currency": self.currency,
            "unit_price": self.unit_price,
            "resolution": self.resolution,
            "output_seconds_min": self.output_seconds_min,
            "output_seconds_max": self.output_seconds_max,
            "input_seconds_min": self.input_seconds_min,
            "input_seconds_max": self.input_seconds_max,
            "billed_seconds_min": self.billed_seconds_min,
            "billed_seconds_max": self.billed_seconds_max,
            "total_min": self.total_min,
            "total_max": self.total_max,
            "exact": self.exact,
            "notes": list(self.notes),
            "prices_as_of": self.prices_as_of,
            "price_note": self.price_note,
        }

    def headline(self, *, sandbox: bool = False) -> str:
        """One line, e.g. ``10 s x USD 0.15/s (1080P) = USD 1.50``; in the sandbox, what it would cost."""
        seconds = _range(self.billed_seconds_min, self.billed_seconds_max, " s")
        if self.currency is None or self.unit_price is None or self.total_min is None or self.total_max is None:
            text = f"{seconds} billed at {self.resolution}, no price known"
        else:
            total = _money_range(self.total_min, self.total_max, self.currency)
            text = f"{seconds} × {money(self.unit_price, self.currency)}/s ({self.resolution}) = {total}"
        provider = "DashScope" if self.format == "dashscope" else "the gateway"
        where = f"{provider} ({self.region_label})"
        return f"would cost {text} on {where}" if sandbox else text

    def lines(self, *, sandbox: bool = False) -> list[str]:
        """The quote for people: the headline, each reason, and where the price comes from."""
        return [self.headline(sandbox=sandbox), *self.notes, self.price_note]


@dataclass(frozen=True)
class Bill:
    """What a finished (SUCCEEDED) task cost, from the seconds its answer reports."""

    model: str
    region: str
    currency: str | None
    unit_price: float | None
    resolution: str
    billed_seconds: float
    total: float | None
    # "estimate": the answer reported neither usage.duration nor a cost (some gateways), so the
    # seconds were worked out from the result's length and the quote (the notes say how).
    source: Literal["usage.duration", "gateway", "estimate"]
    notes: tuple[str, ...]
    prices_as_of: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "region": self.region,
            "currency": self.currency,
            "unit_price": self.unit_price,
            "resolution": self.resolution,
            "billed_seconds": self.billed_seconds,
            "total": self.total,
            "source": self.source,
            "notes": list(self.notes),
            "prices_as_of": self.prices_as_of,
        }

    def headline(self) -> str:
        if self.total is None or self.currency is None:
            return f"billed {_seconds(self.billed_seconds)} at {self.resolution}, no price known"
        if self.source == "gateway":
            return f"billed {money(self.total, self.currency)} (the gateway's own figure)"
        assert self.unit_price is not None
        estimated = " (estimated: the answer reports no usage)" if self.source == "estimate" else ""
        return (f"billed {_seconds(self.billed_seconds)} × {money(self.unit_price, self.currency)}/s "
                f"({self.resolution}) = {money(self.total, self.currency)}{estimated}")


@dataclass(frozen=True)
class UsageRead:
    """A success answer's ``usage``, read defensively (numbers may come as strings)."""

    duration_s: float
    input_video_s: float | None = None
    output_video_s: float | None = None
    resolution: str | None = None  # from ``SR`` (720 -> "720P")


@dataclass
class BilledSeconds:
    """The seconds a request bills, as ranges: output, and input billed on top of it."""

    out_lo: float
    out_hi: float
    in_lo: float = 0.0
    in_hi: float = 0.0
    exact: bool = True
    notes: list[str] = field(default_factory=list)


# -- the quote ---------------------------------------------------------------------------------


def quote(
    request: VideoRequest,
    profile: Profile,
    prices: PriceTable,
    region: str,
    media_seconds: Mapping[str, float] | None = None,
    *,
    fmt: WireFormat = "dashscope",
) -> Quote:
    """The cost of a valid request, sent in ``fmt`` to ``region``'s prices.

    ``media_seconds`` holds measured lengths by media URL (only billed inputs matter: edit's
    ``video`` and reference-to-video's ``reference_video`` items).
    """
    seconds = billed_seconds(request, profile, media_seconds or {})
    resolution, resolution_note = billed_resolution(request, profile)
    notes = list(seconds.notes)
    if resolution_note:
        notes.insert(0, resolution_note)
    model, unit, price_notes = _unit_price(request, profile, prices, region, resolution, fmt)
    notes += price_notes
    currency = _currency(prices, region)
    billed_lo = _round_s(seconds.out_lo + seconds.in_lo)
    billed_hi = _round_s(seconds.out_hi + seconds.in_hi)
    return Quote(
        mode=request.mode,
        format=fmt,
        model=model,
        region=region,
        region_label=prices.label(region),
        currency=currency,
        unit_price=unit,
        resolution=resolution,
        output_seconds_min=_round_s(seconds.out_lo),
        output_seconds_max=_round_s(seconds.out_hi),
        input_seconds_min=_round_s(seconds.in_lo),
        input_seconds_max=_round_s(seconds.in_hi),
        billed_seconds_min=billed_lo,
        billed_seconds_max=billed_hi,
        total_min=None if unit is None else _round_money(unit * billed_lo),
        total_max=None if unit is None else _round_money(unit * billed_hi),
        exact=seconds.exact,
        notes=tuple(notes),
        prices_as_of=prices.as_of.isoformat(),
        price_note=price_note(prices),
    )


def price_note(prices: PriceTable) -> str:
    """What the prices are, as the UI must label them."""
    return f"list price as of {prices.as_of.isoformat()}, check your console"


def billed_resolution(request: VideoRequest, profile: Profile) -> tuple[str, str | None]:
    """The resolution billed, and a note when the request leaves it to the service's default."""
    if request.resolution is not None:
        return request.resolution, None
    default = profile.default_resolution
    return default, f"resolution not given: billed at {default}, the service's default"


def priced_model(request: VideoRequest, profile: Profile, fmt: WireFormat = "dashscope") -> str:
    """The model id a request is priced as: the gateway's id, or the DashScope id it names."""
    if fmt == "gateway":
        return profile.gateway_model
    return request.model_id or profile.mode(request.mode).dashscope_model


def billed_seconds(request: VideoRequest, profile: Profile, media_seconds: Mapping[str, float]) -> BilledSeconds:
    """Output and billed-input seconds (as ranges), and a reason for each number not obvious."""
    rules = profile.mode(request.mode)
    media = media_of(request)
    if request.mode == "video-edit":
        return _edit_seconds(request, profile, media, media_seconds)
    rule, _ = duration_rule(request, rules)
    out = float(request.duration if request.duration is not None else rule.default)
    result = BilledSeconds(out, out)
    if request.duration is None:
        result.notes.append(f"duration not given: the output is the default, {_seconds(out)}")
    clip = next((m for m in media if m.type == "first_clip"), None)
    if clip is not None:
        known = _length(clip, media_seconds)
        length = f"its {_seconds(known)} are" if known is not None else "its seconds are"
        result.notes.append(
            f"first_clip: {length} part of the {_seconds(out)} output (duration is the total), not billed on top"
        )
    if request.mode == "reference-to-video":
        _reference_videos(result, profile, media, media_seconds, out)
    free = _free_inputs(request, profile, media)
    if free:
        result.notes.append(free)
    return result


def billed_inputs(request: VideoRequest) -> tuple[MediaItem, ...]:
    """The media items whose length is billed: the ones to measure for an exact quote."""
    kind = _BILLED_INPUTS.get(request.mode)
    return tuple(m for m in media_of(request) if m.type == kind)


def _reference_videos(
    result: BilledSeconds,
    profile: Profile,
    media: tuple[MediaItem, ...],
    media_seconds: Mapping[str, float],
    out: float,
) -> None:
    videos = [m for m in media if m.type == _BILLED_INPUTS["reference-to-video"]]
    if not videos:
        return
    lengths = [_length(m, media_seconds) for m in videos]
    known = [s for s in lengths if s is not None]
    unknown = len(lengths) - len(known)
    lo, hi = _limits(profile, "reference_video")
    result.in_lo = sum(known) + unknown * lo
    result.in_hi = sum(known) + unknown * hi
    count = _count(len(videos), "reference video")
    if unknown == 0:
        result.notes.append(
            f"{count}, {_seconds(sum(known))} in all, billed as input on top of the {_seconds(out)} output"
        )
        return
    result.exact = False
    if len(videos) == 1:
        result.notes.append(
            f"1 reference video, billed as input on top of the {_seconds(out)} output, was not probed: "
            f"taken as {_range(lo, hi, ' s')} (the profile's limits); probe it for an exact quote"
        )
        return
    probed = f"{len(known)} probed ({_seconds(sum(known))}) and " if known else ""
    result.notes.append(
        f"{count} billed as input on top of the {_seconds(out)} output: {probed}{unknown} not probed, "
        f"taken as {_range(lo, hi, ' s')} each (the profile's limits); probe them for an exact quote"
    )


def _edit_seconds(
    request: VideoRequest, profile: Profile, media: tuple[MediaItem, ...], media_seconds: Mapping[str, float]
) -> BilledSeconds:
    rules = profile.mode(request.mode)
    duration = request.duration if request.duration is not None else rules.duration.default
    whole = rules.duration.keep_source is not None and duration == rules.duration.keep_source
    source = next((m for m in media if m.type == _BILLED_INPUTS["video-edit"]), None)
    length = _length(source, media_seconds) if source is not None else None
    said = f"duration {duration}" if request.duration is not None else f"duration not given (the default, {duration})"
    if length is not None:
        used = length if whole else min(float(duration), length)
        result = BilledSeconds(used, used, used, used)
        if whole:
            result.notes.append(
                f"{said}: the whole input video, {_seconds(length)}, is billed twice: "
                "as input and as output"
            )
        elif length < duration:
            result.notes.append(
                f"the input video, {_seconds(length)}, is shorter than duration {duration}: "
                f"its {_seconds(length)} are billed twice: as input and as output"
            )
        else:
            result.notes.append(
                f"{said}: the first {_seconds(duration)} of the {_seconds(length)} input video "
                "are billed twice: as input and as output"
            )
    else:
        lo, hi = _limits(profile, "video")
        used_lo, used_hi = (lo, hi) if whole else (min(float(duration), lo), min(float(duration), hi))
        result = BilledSeconds(used_lo, used_hi, used_lo, used_hi, exact=used_lo == used_hi)
        what = "the whole input video is" if whole else f"up to {_seconds(duration)} of the input video are"
        unknown = (f"it was not probed, so its length is taken as {_range(lo, hi, ' s')} (the profile's limits); "
                   "probe it for an exact quote")
        if result.exact:
            unknown = f"it was not probed, but every input video allowed ({_range(lo, hi, ' s')}) is that long"
        result.notes.append(f"{said}: {what} billed twice: as input and as output; {unknown}")
    free = _free_inputs(request, profile, media)
    if free:
        result.notes.append(free)
    return result


def _free_inputs(request: VideoRequest, profile: Profile, media: tuple[MediaItem, ...]) -> str:
    """What the request sends that costs nothing, as a note: 'input images and audio are free'."""
    kinds: set[str] = set()
    for item in media:
        limit = profile.media.get(item.type)
        if limit is not None and limit.kind in _FREE_KINDS:
            kinds.add(limit.kind)
        if item.reference_voice:
            kinds.add("audio")
    if getattr(request, "audio_url", None):
        kinds.add("audio")
    if kinds == {"audio"}:
        return "input audio is free"
    words = [_FREE_KINDS[k] for k in ("image", "audio") if k in kinds]
    return f"input {' and '.join(words)} are free" if words else ""


def _length(item: MediaItem | None, media_seconds: Mapping[str, float]) -> float | None:
    if item is None:
        return None
    value = media_seconds.get(item.url)
    if value is None or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _limits(profile: Profile, media_type: str) -> tuple[float, float]:
    limit = profile.media.get(media_type)
    lo = limit.min_seconds if limit is not None and limit.min_seconds is not None else 0.0
    hi = limit.max_seconds if limit is not None and limit.max_seconds is not None else lo
    return float(lo), float(hi)


def _currency(prices: PriceTable, region: str) -> str | None:
    found = prices.region(region)
    return found.currency if found is not None else None


def _unit_price(
    request: VideoRequest, profile: Profile, prices: PriceTable, region: str, resolution: str, fmt: WireFormat
) -> tuple[str, float | None, list[str]]:
    """(model priced, price per second or None, notes)."""
    model = priced_model(request, profile, fmt)
    table = prices.region(region)
    where = f"prices {prices.name!r}" if prices.name else "the price table"
    if table is None:
        known = ", ".join(prices.regions)
        return model, None, [f"no prices for region {region!r} in {where} (it has {known}): seconds only"]
    notes: list[str] = []
    priced_as = model
    base = profile.mode(request.mode).dashscope_model
    if fmt == "dashscope" and model != base and model not in table.models and base in table.models:
        # A dated snapshot costs the same as its model (Model Studio's model list).
        priced_as = base
        notes.append(f"{model} is priced as {base}: dated snapshots cost the same as their model")
    unit = table.price(priced_as, resolution)
    if unit is None:
        if priced_as not in table.models:
            why = f"{where} has no price for {priced_as} in {prices.label(region)}"
        else:
            why = f"{where} has no price for {priced_as} at {resolution} in {prices.label(region)}"
        notes.append(f"{why}: seconds only; add it to a price file (PLAYGROUND_PRICES or --prices)")
    return model, unit, notes


# -- the bill ----------------------------------------------------------------------------------


def read_usage(usage: Mapping[str, object] | None) -> UsageRead | None:
    """A success answer's ``usage`` (DashScope), or None when it has no readable ``duration``.

    ``SR`` is an integer in the HTTP examples and a string (``"720"``) in the Java SDK's.
    """
    if not isinstance(usage, Mapping):
        return None
    duration = finite_number(usage.get("duration"))
    if duration is None:
        return None
    sr = finite_number(usage.get("SR"))
    return UsageRead(
        duration_s=duration,
        input_video_s=finite_number(usage.get("input_video_duration")),
        output_video_s=finite_number(usage.get("output_video_duration")),
        resolution=f"{int(sr)}P" if sr is not None and sr.is_integer() else None,
    )


def bill(
    usage_duration_s: float,
    request: VideoRequest,
    profile: Profile,
    prices: PriceTable,
    region: str,
    *,
    fmt: WireFormat = "dashscope",
    resolution: str | None = None,
    gateway_cost: float | None = None,
) -> Bill:
    """The cost of a SUCCEEDED task from its ``usage.duration`` (failed and cancelled ones cost
    nothing and have no bill).

    ``resolution`` is the billed resolution the answer reports (:func:`read_usage`'s, from
    ``SR``); by default the request's, as the quote has it. A gateway that reports its own
    cost (``gateway_cost``, in the region's currency) is taken at its word.
    """
    asked, _ = billed_resolution(request, profile)
    billed_at = (resolution or asked).upper()
    model, unit, notes = _unit_price(request, profile, prices, region, billed_at, fmt)
    if billed_at != asked:
        notes.insert(0, f"the answer reports {billed_at} (SR), not the {asked} asked for: billed at {billed_at}")
    seconds = _round_s(max(0.0, float(usage_duration_s)))
    if gateway_cost is not None:
        total: float | None = _round_money(gateway_cost)
        source: Literal["usage.duration", "gateway", "estimate"] = "gateway"
    else:
        total = None if unit is None else _round_money(unit * seconds)
        source = "usage.duration"
    return Bill(
        model=model,
        region=region,
        currency=_currency(prices, region),
        unit_price=unit,
        resolution=billed_at,
        billed_seconds=seconds,
        total=total,
        source=source,
        notes=tuple(notes),
        prices_as_of=prices.as_of.isoformat(),
    )


# -- numbers for people ------------------------------------------------------------------------


def money(amount: float, currency: str) -> str:
    """``USD 1.50``, ``CNY 0.084``: at least two decimals, more only when the amount has them."""
    text = f"{amount:.4f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{currency} {whole}.{decimals.ljust(2, '0')}"


def _money_range(lo: float, hi: float, currency: str) -> str:
    return money(lo, currency) if lo == hi else f"{money(lo, currency)}-{money(hi, currency).split(' ', 1)[1]}"


def _seconds(value: float) -> str:
    return f"{round(value, 2):g} s"


def _range(lo: float, hi: float, unit: str = "") -> str:
    return f"{round(lo, 2):g}{unit}" if lo == hi else f"{round(lo, 2):g}-{round(hi, 2):g}{unit}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _round_s(value: float) -> float:
    return round(value, 3)


def _round_money(value: float) -> float:
    return round(value, 6)


def finite_number(value: object) -> float | None:
    """A finite number from JSON (a number or a numeric string), else None; booleans are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None
