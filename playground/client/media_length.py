"""How long a video given by URL is: download it (size-capped, with timeouts) and probe it.

This is what ``python -m playground quote --probe`` uses to make a quote exact when a billed
input (an edit's source video, a reference video) is given by URL. It runs on its user's own
machine, so the default host policy is :data:`~playground.client.hosts.PERMISSIVE`; a server
that offers it must pass its strict policy (every redirect hop is checked again).

Nothing is kept: each download goes to a temporary folder deleted after the probe.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import httpx

from playground.client.errors import HostRefused
from playground.client.hosts import PERMISSIVE, HostPolicy, check_target
from playground.client.pinned_connect import pinned_transport, tls_context

TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)
TOTAL_TIMEOUT_S = 120.0
MAX_REDIRECTS = 3
DEFAULT_MAX_BYTES = 100 * 1024 * 1024  # the largest video a Wan 2.7 request takes


class MeasureError(ValueError):
    """A URL whose length could not be measured; ``str()`` is one line naming it (never its query)."""


def shown_url(url: str) -> str:
    """A URL as messages show it: scheme, host and path, without the query (signed URLs carry keys)."""
    parts = urlsplit(url)
    text = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme and parts.netloc else url.split("?")[0]
    return text if len(text) <= 100 else f"{text[:97]}..."


async def measure_url(
    url: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    policy: HostPolicy = PERMISSIVE,
    timeout_s: float = TOTAL_TIMEOUT_S,
    http: httpx.AsyncClient | None = None,
) -> float:
    """The length in seconds of the audio or video at ``url``; :class:`MeasureError` if unknown."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise MeasureError(f"{shown_url(url)}: only http(s) URLs can be downloaded to measure them")
    with tempfile.TemporaryDirectory(prefix="playground-measure-") as folder:
        suffix = PurePosixPath(urlsplit(url).path).suffix[:8]
        target = Path(folder) / f"media{suffix}"
        try:
            async with asyncio.timeout(timeout_s):
                if http is None:
                    async with _client(policy) as own:
                        await _download(own, url, target, max_bytes, policy)
                else:
                    await _download(http, url, target, max_bytes, policy)
        except TimeoutError:
            raise MeasureError(f"{shown_url(url)}: not downloaded within {timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise MeasureError(f"{shown_url(url)}: cannot download it ({exc.__class__.__name__})") from None
        except HostRefused as exc:
            raise MeasureError(f"{shown_url(url)}: {exc.message}") from None
        return await asyncio.to_thread(_probe_seconds, target, url)


async def measure_urls(
    urls: Mapping[str, int], *, policy: HostPolicy = PERMISSIVE, timeout_s: float = TOTAL_TIMEOUT_S
) -> tuple[dict[str, float], list[str]]:
    """Measure each URL (mapped to its size cap in bytes), one after another.

    Returns the lengths found and one line per URL that could not be measured.
    """
    found: dict[str, float] = {}
    problems: list[str] = []
    async with _client(policy) as http:
        for url, max_bytes in urls.items():
            try:
                found[url] = await measure_url(url, max_bytes=max_bytes, policy=policy, timeout_s=timeout_s, http=http)
            except MeasureError as exc:
                problems.append(str(exc))
    return found, problems


def _client(policy: HostPolicy) -> httpx.AsyncClient:
    """A client that connects only where ``policy`` allows (pinned, against DNS rebinding)."""
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, verify=tls_context(),
                             transport=pinned_transport(policy, tls_context()))


async def _download(http: httpx.AsyncClient, url: str, target: Path, max_bytes: int, policy: HostPolicy) -> None:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        await check_target(policy, current, provider_url=current, field="media url")
        async with http.stream("GET", current) as answer:
            if answer.is_redirect and "location" in answer.headers:
                current = str(answer.url.join(answer.headers["location"]))
                continue
            if answer.status_code != 200:
                raise MeasureError(f"{shown_url(url)}: the download answered HTTP {answer.status_code}")
            declared = answer.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise MeasureError(_too_large(url, max_bytes))
            size = 0
            handle = await asyncio.to_thread(target.open, "wb")
            try:
                async for chunk in answer.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise MeasureError(_too_large(url, max_bytes))
                    handle.write(chunk)
            finally:
                handle.close()
            return
    raise MeasureError(f"{shown_url(url)}: more than {MAX_REDIRECTS} redirects")


def _too_large(url: str, max_bytes: int) -> str:
    return f"{shown_url(url)}: larger than {max_bytes // (1024 * 1024)} MB, the most this kind of input may be"


def _probe_seconds(path: Path, url: str) -> float:
    # PyAV takes a while to import; only a --probe needs it.
    from playground.media.probe import MediaError, probe

    try:
        info = probe(path)
    except (MediaError, OSError) as exc:
        raise MeasureError(f"{shown_url(url)}: {exc}") from None
    if info.duration_s is None:
        raise MeasureError(f"{shown_url(url)}: a {info.kind} has no length")
    return info.duration_s
