"""What a temporary upload is bound to: the API key that uploaded it and the model it was for.

Model Studio binds a file uploaded through its temporary-upload flow to the account whose key
asked for the upload policy, and to the model named in that request (``getPolicy&model=...``):
the ``oss://`` URL works only in calls to that model by that account (contract reference §6.1,
"Upload local files to get temporary URLs"). The sandbox enforces both.

The bucket (file_routes.py) writes the binding beside the object when it stores it, as
``uploads/<folder id>/.binding.json`` (never served: served names start with a letter or a
digit), from the signed policy (oss.py); files.py checks it wherever an ``oss://`` URL is
resolved: when a task is created (oss.py :func:`~playground.sandbox.oss.refuse_unbound`) and
again when the task reads its media (tasks.py).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

_FILE = ".binding.json"


@dataclass(frozen=True)
class Binding:
    """The key tag (runtime.py's short hash of the key) and the model an upload folder belongs to."""

    owner: str
    model: str


def write_binding(folder: Path, binding: Binding) -> None:
    """Record an upload folder's binding; atomic, so a reader sees the whole of it or nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".binding.{secrets.token_hex(4)}.tmp"
    partial.write_text(json.dumps({"owner": binding.owner, "model": binding.model}), "utf-8")
    partial.replace(folder / _FILE)


def read_binding(folder: Path) -> Binding | None:
    """An upload folder's binding; None when it has none (not a temporary upload) or it is unreadable."""
    try:
        raw = json.loads((folder / _FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("owner"), str) or not isinstance(raw.get("model"), str):
        return None
    return Binding(raw["owner"], raw["model"])
