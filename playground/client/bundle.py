"""A run bundle: one zip holding everything about a run, safe to attach to a bug report.

Contents::

    README.txt         what each file is, and the run in a few lines
    run.json           the run's ledger row
    request.json       the request as the playground's request model holds it
    wire.json          the exact body that was sent
    responses.json     every answer the provider gave, in order
    timeline.json      the run's states, in order: [{"state": ..., "at": ...}, ...]
    guidance.txt       what went wrong and how to fix it (empty for a clean run)
    cost.json          the quote shown at Send and the bill of the task (null where there is none)
    video.mp4          the result, when there is one
    snippets/          the same request as bash+curl, Python and Node scripts

Before anything is written, every string in every file is scrubbed: the given secrets, and
anything shaped like ``Bearer <token>`` or an ``sk-...`` key, become ``[redacted]``-style marks.
The zip is written to a temporary name and renamed into place, so a reader never sees half a
bundle.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from playground.client.errors import scrub
from playground.client.providers import ProviderConfig
from playground.core import contract, snippets
from playground.core.wire import WireFormat

SNIPPET_NAMES = {
    "create_video.sh": snippets.curl_script,
    "create_video.py": snippets.python_script,
    "create_video.js": snippets.javascript_script,
}
# Where the scripts point when the record names no usable base URL.
_FALLBACK_BASE: dict[WireFormat, str] = {
    "dashscope": contract.DASHSCOPE_BASE_URLS["singapore"],
    "gateway": "https://your-gateway.example.com/v1",
}
_README = """\
Wan 2.7 Video Playground: run bundle
====================================

{summary}

Files
-----
README.txt       this file
run.json         the run as the playground's ledger recorded it (state, task id, timings)
request.json     the request in the playground's request model (mode, prompt, duration, ...)
wire.json        the exact JSON body sent to the provider ({wire} format)
responses.json   every answer the provider gave, oldest first
timeline.json    the run's states in order, each with the time it was reached
guidance.txt     what went wrong, how to fix it, and what the playground did about it
cost.json        the quote shown before Send and what the task was billed (failed and
                 cancelled tasks are not billed; sandbox runs say what they would cost)
{video_line}
snippets/        the same request as scripts that submit it, wait and download the video:
                 create_video.sh (bash + curl), create_video.py (Python + httpx),
                 create_video.js (Node 18+). Each reads the API key from {key_env}.{scenario_line}

Secrets
-------
API keys are not in this bundle: every text was scrubbed of the key in use and of anything
that looks like a bearer token or an sk- key before it was written.
"""


def write_bundle(
    path: Path,
    *,
    record: Mapping[str, Any],
    request: Mapping[str, Any] | None,
    wire_body: Mapping[str, Any],
    responses: Sequence[Mapping[str, Any]],
    timeline: Sequence[tuple[str, str]],
    guidance: Sequence[str],
    video: Path | None,
    secrets: Sequence[str] = (),
) -> Path:
    """Write the run's bundle to ``path`` (a .zip) and return it.

    ``timeline`` holds (state, when) pairs; ``secrets`` the key texts to remove (anything that
    looks like a key is removed anyway). A video that is None or missing is left out.
    """
    # A key may also sit inside JSON text the record carries (a stored answer), escaped.
    secrets = [*secrets, *(json.dumps(s)[1:-1] for s in secrets if s)]
    clean_record = _scrub_value(dict(record), secrets)
    clean_body = _scrub_value(dict(wire_body), secrets)
    fmt = _wire_format(clean_record, clean_body)
    has_video = video is not None and video.is_file()
    texts: dict[str, str] = {
        "README.txt": _readme(clean_record, fmt, has_video),
        "run.json": _json(clean_record),
        "request.json": _json(_scrub_value(dict(request) if request is not None else None, secrets)),
        "wire.json": snippets.wire_json(clean_body) + "\n",
        "responses.json": _json(_scrub_value(list(responses), secrets)),
        "timeline.json": _json(_scrub_value([{"state": state, "at": at} for state, at in timeline], secrets)),
        "guidance.txt": "".join(f"{scrub(line, secrets)}\n" for line in guidance),
        "cost.json": _json(_cost(clean_record)),
    }
    base_url = _api_base(clean_record, fmt)
    for name, make in SNIPPET_NAMES.items():
        # The scripts are built from already scrubbed values; only the given secrets are masked
        # again here, since the bearer-token pattern would also mask the scripts' own
        # "Bearer ${KEY}" placeholders and break them.
        texts[f"snippets/{name}"] = _mask(make(clean_body, fmt, base_url), secrets)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".bundle-", suffix=".zip", dir=path.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in texts.items():
                archive.writestr(name, text)
            if has_video:
                assert video is not None
                # MP4 is already compressed; deflating it again only costs time.
                archive.write(video, "video.mp4", compress_type=zipfile.ZIP_STORED)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _cost(record: Mapping[str, Any]) -> dict[str, Any]:
    """The run's quote and bill, from the columns the ledger keeps them in."""
    found: dict[str, Any] = {}
    for name, column in (("quote", "quote_json"), ("bill", "bill_json")):
        text = record.get(column)
        try:
            found[name] = json.loads(text) if isinstance(text, str) and text else None
        except ValueError:
            found[name] = None
    found["counts"] = record.get("provider") != "sandbox"  # sandbox runs cost nothing
    return found


def _scrub_value(value: Any, secrets: Iterable[str]) -> Any:
    """The value with every string in it (keys too) scrubbed."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, Mapping):
        return {scrub(str(k), secrets): _scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v, secrets) for v in value]
    return value


def _mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _json(value: Any) -> str:
    # default=str: a ledger row may hold values JSON has no type for; they are shown, not lost.
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


def _wire_format(record: Mapping[str, Any], body: Mapping[str, Any]) -> WireFormat:
    wire = record.get("wire")
    if wire in ("gateway", "dashscope"):
        return "gateway" if wire == "gateway" else "dashscope"
    return "gateway" if "mode" in body else "dashscope"


def _api_base(record: Mapping[str, Any], fmt: WireFormat) -> str:
    """The URL the scripts' paths hang off: the record's provider, or a placeholder."""
    kind, base = record.get("provider"), record.get("base_url")
    if isinstance(base, str) and kind in ("sandbox", "dashscope", "gateway"):
        try:
            return ProviderConfig(kind=kind, wire=fmt, base_url=base).api_base
        except ValidationError:
            pass
    return _FALLBACK_BASE[fmt]


def _cost_line(record: Mapping[str, Any]) -> str | None:
    cost = _cost(record)
    bill, quote = cost["bill"], cost["quote"]
    if isinstance(bill, dict) and bill.get("headline"):
        text = str(bill["headline"])
        return text if cost["counts"] else f"{text} (sandbox: what DashScope would bill; nothing was charged)"
    if isinstance(quote, dict) and quote.get("headline"):
        return f"not billed; quoted at Send: {quote['headline']}"
    return None


def _readme(record: Mapping[str, Any], fmt: WireFormat, has_video: bool) -> str:
    facts = [
        ("run", record.get("run_id")),
        ("provider", record.get("provider")),
        ("base URL", record.get("base_url")),
        ("task id", record.get("task_id")),
        ("state", record.get("state")),
        ("error", record.get("error_text")),
        ("cost", _cost_line(record)),
    ]
    summary = "\n".join(f"{name + ':':<10} {value}" for name, value in facts if value not in (None, ""))
    scenario = record.get("scenario")
    return _README.format(
        summary=summary or "(the run record names no details)",
        wire=fmt,
        video_line=(
            "video.mp4        the generated video"
            if has_video
            else "(no video: the run produced none, or it was not downloaded)"
        ),
        key_env=snippets.DEFAULT_KEY_ENV[fmt],
        scenario_line=(
            f"\n                 The run rehearsed the sandbox scenario {scenario!r}; the scripts do not"
            "\n                 send that header, so they take the normal path."
            if scenario
            else ""
        ),
    )
