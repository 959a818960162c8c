"""JSON data files that may say ``"extends": NAME`` and give only what differs (profiles, prices).

One reader for both, so a profile and a price file inherit the same way: objects merge key by
key, any other value replaces the parent's, and a chain that comes back to itself is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playground.core.jsonfile import JsonFileError


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``: nested objects merge, everything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_extending(
    ref: str,
    *,
    read: Callable[[str], Any],
    source: Callable[[str], str],
    error: Callable[[str], Exception],
    kind: str,
    seen: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The object ``ref`` names with its ``extends`` chain merged in; ``error`` builds the refusals.

    ``kind`` names the data in messages ("profile", "price table"); ``source`` says where a ref
    points ("built-in profile 'wan-2.7'", "price file 'x.json'").
    """
    if ref in seen:
        raise error(f"{kind} {ref!r} extends itself")
    try:
        raw = read(ref)
    except JsonFileError as exc:
        raise error(str(exc)) from None
    where = source(ref)
    if not isinstance(raw, dict):
        raise error(f"{where} must hold a JSON object")
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise error(f"{where}: 'extends' must be a {kind} name or path")
    return merge(read_extending(parent, read=read, source=source, error=error, kind=kind, seen=(*seen, ref)), raw)
