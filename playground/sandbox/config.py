"""What a sandbox instance is told at start-up.

Everything comes from :class:`playground.settings.Settings` (flags and ``PLAYGROUND_*``
variables, read once by the entry points); the sandbox itself never reads the environment.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from playground.core.profile import Profile, load_profile
from playground.settings import Settings

MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxConfig:
    """One sandbox's limits, timings and storage."""

    data_dir: Path
    profile: Profile
    # Multiplies every artificial wait: 0 = none (render time only), 1 = realistic.
    delay_scale: float = 1.0
    # How long results, uploads and task records live, like the real 24 h.
    ttl_s: float = 24 * 3600.0
    # Render processes, and so how many tasks are RUNNING at once (the rest queue).
    workers: int = 2
    max_upload_bytes: int = 100 * MIB
    # The externally visible URL of the sandbox mount (".../sandbox"); None = the request's.
    public_base_url: str | None = None
    # None derives the JSON body limit from the profile (see json_limit).
    max_json_bytes: int | None = None
    # Oldest files are evicted beyond this, so disk use stays bounded even before the TTL.
    max_store_bytes: int = 5 * 1024 * MIB
    # Unfinished tasks beyond this are refused with 429, as a provider's concurrency limit.
    max_active_tasks: int = 500
    # The same, per API key, so one key cannot take the whole sandbox (429 Throttling / rate_limited).
    max_tasks_per_key: int = 20
    sweep_interval_s: float = 60.0
    # Longest wait for the next piece of a request body; a client that stalls longer gets 408,
    # so a trickle of slow uploads cannot hold the server's connections for ever.
    body_read_timeout_s: float = 30.0
    # Which Bearer keys are let in (besides the rehearsal's sk-invalid refusal). None = any
    # non-empty key, for a sandbox of one's own; a shared deployment passes a check that
    # accepts only the keys it issued. A check that raises counts as a refusal.
    accept_key: Callable[[str], bool] | None = field(default=None, repr=False, compare=False)
    # /docs and /openapi.json. Swagger's page loads its scripts from a CDN (no integrity
    # check), so a deployment that mounts the sandbox inside its own origin turns them off.
    docs: bool = True
    # Wall-clock seconds (time.time): what expiry, task times and the sweep read. Tests pass a
    # clock they can move forward to expire files and tasks without waiting for the TTL.
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.delay_scale < 0:
            raise ValueError("delay_scale must be 0 or more")
        if self.ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.max_upload_bytes < 1:
            raise ValueError("max_upload_bytes must be positive")
        if self.max_tasks_per_key < 1:
            raise ValueError("max_tasks_per_key must be at least 1")
        if not self.body_read_timeout_s > 0:
            raise ValueError("body_read_timeout_s must be positive")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SandboxConfig:
        """The sandbox part of the playground's settings; keyword arguments override fields."""
        config = cls(
            data_dir=settings.data_dir,
            profile=load_profile(settings.profile),
            delay_scale=settings.sandbox_delay_scale,
            ttl_s=settings.sandbox_ttl_s,
            workers=settings.sandbox_workers,
            max_upload_bytes=settings.max_upload_mb * MIB,
        )
        return replace(config, **overrides) if overrides else config

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "sandbox"

    def json_limit(self) -> int:
        """Largest JSON body accepted.

        A request may embed one image as a base64 ``data:`` URI, so the limit is that
        image's own byte limit once encoded (4/3), plus room for the rest of the body.
        """
        if self.max_json_bytes is not None:
            return self.max_json_bytes
        embeddable = [
            self.profile.media[kind].max_bytes
            for mode in self.profile.modes.values()
            for kind in mode.data_uri_types
            if kind in self.profile.media
        ]
        largest = max(embeddable, default=0)
        return max(10 * MIB, math.ceil(largest * 4 / 3) + MIB)
