"""Configuration: flags and environment variables, read once at the entry points.

Every variable is ``PLAYGROUND_<FIELD>`` except the provider keys, which use the names the
providers' own SDKs read (``DASHSCOPE_API_KEY``) so an existing shell setup just works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from playground.core.contract import DASHSCOPE_BASE_URLS

Provider = Literal["sandbox", "dashscope", "gateway"]
PROVIDERS: tuple[Provider, ...] = ("sandbox", "dashscope", "gateway")

# Documented DashScope hosts by region (the contract's); model, endpoint and key must be in the
# same region.
DASHSCOPE_REGIONS = DASHSCOPE_BASE_URLS


class Settings(BaseSettings):
    """Everything the playground can be told at start-up."""

    model_config = SettingsConfigDict(env_prefix="PLAYGROUND_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=0, le=65535)
    provider: Provider = "sandbox"
    base_url: str | None = Field(
        default=None, description="Provider base URL; by default the embedded sandbox or the region's host."
    )
    profile: str = "wan-2.7"
    prices: str | None = Field(
        default=None, description="A JSON price file (it may extend 'default'); by default the built-in list prices."
    )
    budget: float | None = Field(
        default=None, ge=0, allow_inf_nan=False,
        description="Most one browser may spend per day, in the region's currency (sandbox runs never count).",
    )
    server_budget: float | None = Field(
        default=None, ge=0, allow_inf_nan=False,
        description="Most the whole server may spend per day, in the region's currency (sandbox runs never count).",
    )
    data_dir: Path = Field(default=Path(".playground"), description="Ledger, downloads and sandbox files.")
    dashscope_region: str = "singapore"
    dashscope_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DASHSCOPE_API_KEY", "PLAYGROUND_DASHSCOPE_API_KEY")
    )
    gateway_api_key: SecretStr | None = None
    sandbox_delay_scale: float = Field(default=1.0, ge=0.0, le=100.0)
    sandbox_ttl_s: float = Field(default=24 * 3600.0, gt=0)
    sandbox_workers: int = Field(default=2, ge=1, le=32)
    max_upload_mb: int = Field(default=100, ge=1)
    run_deadline_s: float = Field(default=900.0, gt=0)
    allowed_hosts: str | None = Field(
        default=None,
        description="Comma-separated host[:port] names a shared server may use as a base URL (and reach even when "
        "private); by default the documented DashScope hosts. Its own base URL, region and sandbox always are.",
    )
    allow_private_hosts: bool = Field(
        default=False,
        description="Let a shared server send requests to loopback, private and link-local addresses it was not "
        "told about (the command line always may).",
    )
    auth: SecretStr | None = Field(
        default=None, description="'user:password' to put the whole playground behind a login (shared demos)."
    )

    retention_days: float = Field(
        default=30.0, ge=0, description="Delete downloaded videos, bundles and cached copies older than this (0: keep)."
    )
    max_request_kb: int = Field(
        default=2048, ge=16, description="Largest body of a UI API call (form values, pasted JSON); uploads excepted."
    )
    body_read_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="A request body that stalls longer than this is refused."
    )
    max_runs_per_browser: int = Field(
        default=4, ge=1, le=64,
        description="Runs one browser may have at its provider at once; more Sends wait in its queue.",
    )
    max_variations: int = Field(default=16, ge=1, le=64, description="Most requests one variations grid may hold.")
    concurrency: int = Field(
        default=2, ge=1, le=32, description="Variation tasks in flight at once per provider and key (CLI sweep too)."
    )
    sharing: bool = Field(default=True, description="Read-only share links (PLAYGROUND_SHARING=off turns them off).")
    share_ttl: str = Field(
        default="7d", description="How long a share link lasts: seconds, or a number with s, m, h or d (e.g. 7d)."
    )

    @field_validator("share_ttl")
    @classmethod
    def _ttl_readable(cls, value: str) -> str:
        duration_s(value)  # refused at start-up with the variable's name, not when a link is made
        return value

    def share_ttl_s(self) -> float:
        return duration_s(self.share_ttl)

    @field_validator("budget", "server_budget", mode="before")
    @classmethod
    def _blank_is_no_budget(cls, value: object) -> object:
        # PLAYGROUND_BUDGET= (set but empty, as deployment templates leave it) means no budget.
        return None if isinstance(value, str) and not value.strip() else value

    def auth_pair(self) -> tuple[str, str] | None:
        if self.auth is None:
            return None
        user, _, password = self.auth.get_secret_value().partition(":")
        return (user, password) if user and password else None

    def api_key(self, provider: Provider) -> SecretStr | None:
        """The key configured for a provider; the sandbox accepts any key."""
        if provider == "dashscope":
            return self.dashscope_api_key
        if provider == "gateway":
            return self.gateway_api_key
        return SecretStr("sk-sandbox")

    def dashscope_base_url(self) -> str:
        return DASHSCOPE_REGIONS.get(self.dashscope_region, self.dashscope_region)


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_s(text: str) -> float:
    """Seconds in "3600", "90s", "15m", "12h" or "7d"; ValueError naming the forms otherwise."""
    raw = text.strip().lower()
    unit = _UNITS.get(raw[-1:])
    number = raw[:-1] if unit is not None else raw
    try:
        value = float(number) * (unit or 1.0)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{text!r} is not a duration: give seconds or a number with s, m, h or d, e.g. 7d")
    return value
