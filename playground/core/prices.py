"""Price tables: what a second of Wan 2.7 video costs, by region, model and resolution.

Prices are data, like the profiles: ``prices/default.json`` holds the best public list prices
found (with their sources and an "as of" date), and a user's file (``PLAYGROUND_PRICES=path``
or ``--prices PATH``) may say ``"extends": "default"`` and give only what differs: a
negotiated price, a gateway's own, another region. Objects are merged key by key, everything
else is replaced; a price set to ``null`` removes it (the quote then gives seconds only and
says why).

A file looks like::

    {"as_of": "2026-11-29", "note": "...", "sources": ["..."],
     "regions": {"singapore": {"label": "Singapore", "currency": "USD",
                               "models": {"wan2.7-t2v": {"720P": 0.10, "1080P": 0.15}, ...}}}}

Reading a file is the only I/O here (as for profiles); :mod:`playground.core.quote` is pure.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from playground.core.contract import BEIJING_MAAS_REGION, DASHSCOPE_BASE_URLS, MAAS_HOST_SUFFIX
from playground.core.extending import read_extending
from playground.core.jsonfile import JsonFileError, decode_json, read_json_file

DEFAULT_PRICES = "default"
# The DashScope regions the built-in table prices (the same names as PLAYGROUND_DASHSCOPE_REGION).
REGIONS: tuple[str, ...] = ("singapore", "beijing")
DEFAULT_REGION = "singapore"
# Workspace hosts name their region: {WorkspaceId}.<region>.maas.aliyuncs.com (contract §6.4).
_MAAS_REGIONS = {BEIJING_MAAS_REGION: "beijing", "ap-southeast-1": "singapore"}


class PriceError(ValueError):
    """A price file could not be found or does not describe valid prices; one printable line."""


# A price per second: a plain number, 0 or more (a string or true is a mistake, not a price).
Price = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegionPrices(_Frozen):
    """One region's currency and its price per second of video, by model and resolution."""

    label: str = ""
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD or CNY")
    models: dict[str, dict[str, Price | None]] = Field(default_factory=dict)

    @field_validator("models")
    @classmethod
    def _upper_resolutions(cls, models: dict[str, dict[str, float | None]]) -> dict[str, dict[str, float | None]]:
        # "720p" and "720P" name the same thing; requests say 720P.
        return {model: {res.upper(): price for res, price in table.items()} for model, table in models.items()}

    def price(self, model: str, resolution: str) -> float | None:
        """The price per second, or None when this region has none for the model or resolution."""
        return self.models.get(model, {}).get(resolution.upper())


class PriceTable(_Frozen):
    """Every region's prices, where they come from, and when they were last checked."""

    name: str = ""
    as_of: dt.date
    note: str = Field(min_length=1, description="What these prices are, e.g. list prices to check in the console.")
    sources: tuple[str, ...] = Field(min_length=1)
    regions: dict[str, RegionPrices] = Field(min_length=1)

    def region(self, name: str) -> RegionPrices | None:
        return self.regions.get(name)

    def label(self, region: str) -> str:
        """How messages name a region: its label, else its name capitalised."""
        found = self.regions.get(region)
        return (found.label if found is not None and found.label else region.capitalize())


def builtin_prices() -> list[str]:
    """Names of the price tables shipped with the playground."""
    folder = resources.files(__package__).joinpath("prices")
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def region_for(setting: str) -> str | None:
    """The priced region a ``PLAYGROUND_DASHSCOPE_REGION`` value means: its name, or the region of
    a DashScope base URL (its documented host, or a workspace host naming ``cn-beijing`` or
    ``ap-southeast-1``); None when it cannot be told (a proxy, the sandbox)."""
    name = setting.strip().lower()
    if name in REGIONS:
        return name
    host = (urlsplit(name).hostname or "") if "://" in name else ""
    for region, url in DASHSCOPE_BASE_URLS.items():
        if host == urlsplit(url).hostname:
            return region
    if host.endswith(MAAS_HOST_SUFFIX):
        return _MAAS_REGIONS.get(host.removesuffix(MAAS_HOST_SUFFIX).rpartition(".")[2])
    return None


def _source(ref: str) -> str:
    return f"built-in price table {ref!r}" if ref in builtin_prices() else f"price file {ref!r}"


def _read_json(ref: str) -> Any:
    source = _source(ref)
    if ref in builtin_prices():
        raw = resources.files(__package__).joinpath("prices", f"{ref}.json").read_bytes()
        return decode_json(raw, source, what="a JSON price table")
    if not Path(ref).is_file():
        names = ", ".join(builtin_prices())
        raise JsonFileError(
            f"prices {ref!r}: no built-in price table has that name and no such file exists; "
            f"use {names} or the path of a JSON price file"
        )
    return read_json_file(ref, label=source, what="a JSON price table")


def _read_raw(ref: str) -> dict[str, Any]:
    return read_extending(ref, read=_read_json, source=_source, error=PriceError, kind="price table")


def load_prices(ref: str | None = None) -> PriceTable:
    """Load a built-in price table by name, or a price file by path (None: the default table)."""
    ref = ref or DEFAULT_PRICES
    raw = _read_raw(ref)
    try:
        return PriceTable.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise PriceError(f"prices {ref!r}: {where}: {message}") from None
