"""Read a request someone pasted: either wire format's JSON, or a curl command from docs or devtools.

:func:`import_request` never raises on what it is given. It answers with an
:class:`ImportResult`: the detected wire format, the request as the request model reads it,
its problems (each with the JSON path and the fix), and everything that could not be carried
over, line by line: unknown fields, headers, curl options, a URL that is no known endpoint.

An API key in the pasted text (an ``Authorization`` header, ``-u``, credentials in the URL) is
never kept: the result only says that one was there and was discarded. Header values, query
strings and unknown options' values are not repeated in any message, since any of them may
hold a secret.

A curl command is split and read by :mod:`playground.core.curl_parse`; this module reads the
body it sends (or the pasted JSON) into the request model.

Pure: the text is read with :mod:`shlex` and :mod:`json`; nothing is fetched or opened.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from playground.core import contract
from playground.core.curl_parse import CurlCommand, Provider, looks_like_curl, read_curl
from playground.core.jsonfile import MAX_DEPTH, depth_exceeds
from playground.core.problems import Problem, Severity
from playground.core.profile import MODES, Mode, Profile
from playground.core.request import MediaItem, VideoRequest, fields_of
from playground.core.rules import surrogate_problem
from playground.core.wire import (
    DASHSCOPE_PLACES,
    MISTAKEN_GATEWAY_MODEL,
    TOP,
    WireFormat,
    detect_format,
    parse,
    path_of,
)

__all__ = ["Finding", "ImportResult", "Provider", "import_request"]

Source = Literal["json", "curl"]
KeyPath = tuple[str | int, ...]

_FORMAT_NAMES: dict[WireFormat, str] = {"dashscope": "DashScope", "gateway": "gateway"}
_MEDIA_KEYS = frozenset(MediaItem.model_fields)
# What the official SDK adds to every DashScope body; it means nothing to Wan 2.7.
_SDK_NOISE = {("input", "extend_prompt"), ("input", "function")}


@dataclass(frozen=True)
class Finding:
    """One problem of the imported request, at its JSON path in the pasted format."""

    path: str
    message: str
    fix: str
    severity: Severity = "error"

    def line(self) -> str:
        return f"{self.path}: {self.message}; {self.fix}"


@dataclass(frozen=True)
class ImportResult:
    """What was read from the pasted text, what is wrong with it, and what was left behind.

    ``fields`` is the request-model dict of what was imported (``{"mode": ..., "prompt": ...}``)
    and ``request`` the validated request, when the types allow one. ``base_url`` is what a
    provider of kind ``provider`` is configured with (for the sandbox, its mount, e.g.
    ``http://host/sandbox``); ``api_base`` is the URL the API paths hang off.
    """

    message: str
    source: Source | None = None
    format: WireFormat | None = None
    fields: dict[str, Any] | None = None
    request: VideoRequest | None = None
    problems: tuple[Finding, ...] = ()
    unmapped: tuple[str, ...] = ()
    key_discarded: bool = False
    base_url: str | None = None
    api_base: str | None = None
    provider: Provider | None = None

    @property
    def ok(self) -> bool:
        """Whether a request came out and nothing in it is an error."""
        return self.request is not None and not any(f.severity == "error" for f in self.problems)

    def lines(self) -> list[str]:
        """The message, then one line per problem and per thing not imported."""
        return [self.message, *(f.line() for f in self.problems), *self.unmapped]


def import_request(text: str, profile: Profile) -> ImportResult:
    """Read pasted JSON (either wire format) or a curl command into the request model."""
    stripped = text.strip()
    if not stripped:
        return ImportResult("Nothing to import: paste a request's JSON or a curl command.")
    if looks_like_curl(stripped):
        return _from_curl(stripped, profile)
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        return ImportResult(
            f"Not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}) and not a curl command; "
            "paste a request body or a curl command."
        )
    except (ValueError, RecursionError):
        return ImportResult("Not JSON that can be read (nested too deeply or malformed), and not a curl command.")
    return _from_body(value, profile, _Context(source="json"))


# -- the body ----------------------------------------------------------------------------------


@dataclass
class _Context:
    """What the surroundings of a body (a curl command, or nothing) add to the result."""

    source: Source
    url_format: WireFormat | None = None
    notes: list[str] = field(default_factory=list)
    key_discarded: bool = False
    base_url: str | None = None
    api_base: str | None = None
    provider: Provider | None = None
    async_header: bool = False

    def result(self, message: str, unmapped: Sequence[str] = (), **values: Any) -> ImportResult:
        return ImportResult(
            message,
            source=self.source,
            unmapped=(*unmapped, *self.notes),
            key_discarded=self.key_discarded,
            base_url=self.base_url,
            api_base=self.api_base,
            provider=self.provider,
            **values,
        )


def _type_name(value: object) -> str:
    return {list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(type(value), "a number")


def _from_body(value: object, profile: Profile, ctx: _Context) -> ImportResult:
    what = "JSON" if ctx.source == "json" else "curl command's body"
    if not isinstance(value, dict):
        return ctx.result(
            f"The {what} is {_type_name(value)}, not a request object; "
            'a request looks like {"model": ..., "input": {...}}.'
        )
    # A request nested deeper than this is not a request; refusing early keeps repr and
    # validation far from Python's recursion limit.
    if depth_exceeds(value, MAX_DEPTH):
        return ctx.result(f"The {what} is nested too deeply to be a Wan 2.7 request.")
    unwritable = surrogate_problem(value, (TOP,))
    if unwritable is not None:
        # Nothing of it can fill a form: the text could not even be sent back to the page.
        where = path_of("gateway", unwritable.loc)
        return ctx.result(f"The {what} cannot be imported: {where} {unwritable.message}; {unwritable.fix}.")
    fmt, mismatch = _choose_format(value, profile, ctx.url_format)
    # Read the body as pasted once, for the words that explain each field left out; then read
    # it again without those fields, so the rest still makes a request.
    first = parse(value, profile, fmt)
    explained = {path_of(fmt, p.loc): p for p in first.all_problems()}
    kept, dropped = _prune(value, fmt, profile)
    unmapped = [_dropped_line(path, reason, explained, fmt) for path, reason in dropped]
    parsed = parse(kept, profile, fmt)
    findings = [*(_finding(fmt, p) for p in parsed.all_problems()), *mismatch]
    fields = _request_fields(kept, fmt, profile)
    message = _summary(ctx, fmt, fields, parsed.request, findings, unmapped)
    return ctx.result(
        message,
        format=fmt,
        fields=fields,
        request=parsed.request,
        problems=tuple(findings),
        unmapped=unmapped,
    )


def _says_format(body: Mapping[str, Any], profile: Profile) -> WireFormat | None:
    """The format a body names by itself, or None when only a guess would tell."""
    model = body.get("model")
    if "mode" in body or model in (profile.gateway_model, MISTAKEN_GATEWAY_MODEL):
        return "gateway"
    if "parameters" in body or (isinstance(model, str) and profile.mode_for_dashscope_model(model)):
        return "dashscope"
    return None


def _choose_format(
    body: Mapping[str, Any], profile: Profile, url_format: WireFormat | None
) -> tuple[WireFormat, list[Finding]]:
    said = _says_format(body, profile)
    if said is None:
        # The body does not say; the endpoint it was sent to does.
        return url_format or detect_format(body, profile), []
    if url_format is None or url_format == said:
        return said, []
    mismatch = Finding(
        "(url)",
        f"the body is in the {_FORMAT_NAMES[said]} format but the URL is the {_FORMAT_NAMES[url_format]} "
        "create endpoint, which would refuse it",
        f"send it to ...{contract.ENDPOINTS[said].create}, "
        f"or export the request in the {_FORMAT_NAMES[url_format]} format",
    )
    return said, [mismatch]


def _path_text(path: KeyPath) -> str:
    # Cut long keys as wire.path_of does, so the two spell the same path the same way.
    parts = [p if isinstance(p, int) or len(str(p)) <= 80 else f"{str(p)[:76]}..." for p in path]
    return str(parts[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[1:])


def _prune(body: dict[str, Any], fmt: WireFormat, profile: Profile) -> tuple[dict[str, Any], list[tuple[KeyPath, str]]]:
    """The body without the fields the request model has no place for, and those fields' paths."""
    dropped: list[tuple[KeyPath, str]] = []
    top = ("model", "mode", "input") if fmt == "gateway" else ("model", "input", "parameters")
    kept = {k: v for k, v in body.items() if k in top}
    dropped += [((k,), "") for k in body if k not in top]
    if fmt == "gateway":
        mode = body.get("mode")
        allowed = fields_of(mode) if mode in MODES else None
        place_of: dict[tuple[str, str], str] = {}
        containers: tuple[str, ...] = ("input",)
    else:
        model = body.get("model")
        found: Mode | None = profile.mode_for_dashscope_model(model) if isinstance(model, str) else None
        allowed = fields_of(found) if found is not None else None
        place_of = {place: name for name, place in DASHSCOPE_PLACES.items()}
        containers = ("input", "parameters")
    for container in containers:
        values = kept.get(container)
        if not isinstance(values, dict):
            continue
        inner: dict[str, Any] = {}
        for key, value in values.items():
            name = key if fmt == "gateway" else place_of.get((container, key))
            if (container, key) in _SDK_NOISE and fmt == "dashscope":
                dropped.append(((container, key), "added by the official SDK; it means nothing to Wan 2.7"))
            elif name is None or (allowed is not None and name not in allowed):
                dropped.append(((container, key), ""))
            else:
                inner[key] = value
        if isinstance(inner.get("media"), list):
            inner["media"] = _prune_media(inner["media"], (container, "media"), dropped)
        kept[container] = inner
    return kept, dropped


def _prune_media(items: list[Any], at: KeyPath, dropped: list[tuple[KeyPath, str]]) -> list[Any]:
    pruned: list[Any] = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            dropped += [((*at, index, k), "") for k in item if k not in _MEDIA_KEYS]
            item = {k: v for k, v in item.items() if k in _MEDIA_KEYS}
        pruned.append(item)
    return pruned


def _dropped_line(path: KeyPath, reason: str, explained: Mapping[str, Problem], fmt: WireFormat) -> str:
    text = _path_text(path)
    problem = explained.get(text)
    if reason:
        why = reason
    elif problem is not None:
        why = f"{problem.message}; {problem.fix}"
    else:
        why = f"the {_FORMAT_NAMES[fmt]} format has no such field here"
    return f"{text} (not imported): {why}"


def _finding(fmt: WireFormat, problem: Problem) -> Finding:
    return Finding(path_of(fmt, problem.loc), problem.message, problem.fix, problem.severity)


def _request_fields(body: Mapping[str, Any], fmt: WireFormat, profile: Profile) -> dict[str, Any] | None:
    """The request-model dict of a pruned body, even when its values have the wrong types.

    The same reading as the wire module's, kept here because a form can be filled from fields
    that do not (yet) make a valid request.
    """
    if fmt == "gateway":
        mode, inner = body.get("mode"), body.get("input")
        if mode not in MODES or not isinstance(inner, dict):
            return None
        return {"mode": mode, **{k: v for k, v in inner.items() if v is not None}}
    model = body.get("model")
    found = profile.mode_for_dashscope_model(model) if isinstance(model, str) else None
    inner, params = body.get("input"), body.get("parameters") or {}
    if found is None or not isinstance(inner, dict) or not isinstance(params, dict):
        return None
    data: dict[str, Any] = {"mode": found}
    if model != profile.mode(found).dashscope_model:
        data["model_id"] = model
    containers = {"input": inner, "parameters": params}
    for name, (container, key) in DASHSCOPE_PLACES.items():
        value = containers[container].get(key)
        if value is not None:
            data[name] = value
    return data


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _summary(
    ctx: _Context,
    fmt: WireFormat,
    fields: Mapping[str, Any] | None,
    request: VideoRequest | None,
    findings: list[Finding],
    unmapped: list[str],
) -> str:
    source = "JSON" if ctx.source == "json" else "a curl command"
    errors = [f for f in findings if f.severity == "error"]
    warnings = len(findings) - len(errors)
    left = len(unmapped) + len(ctx.notes)
    tail = "".join(
        (
            f"; {_count(warnings, 'warning')}" if warnings else "",
            f"; {_count(left, 'thing')} not imported" if left else "",
            "; the API key in it was discarded" if ctx.key_discarded else "",
        )
    )
    name = _FORMAT_NAMES[fmt]
    if request is None:
        first = errors[0].line() if errors else "it does not read as a request"
        return f"Read {source} in the {name} format, but it is not a usable request: {first}{tail}"
    mode = str(fields["mode"]) if fields else request.mode
    verdict = "valid" if not errors else _count(len(errors), "problem")
    article = "an" if mode[0] in "aeiou" else "a"
    return f"Imported {article} {mode} request ({name} format) from {source}: {verdict}{tail}"


# -- curl ---------------------------------------------------------------------------------------


def _from_curl(text: str, profile: Profile) -> ImportResult:
    try:
        command = read_curl(text)
    except ValueError as exc:
        return ImportResult(f"Could not split the curl command: {exc} (check its quotes).", source="curl")
    ctx = _curl_context(command)
    if not command.data:
        return ctx.result(_no_body_message(command))
    if ctx.url_format == "dashscope" and not ctx.async_header:
        ctx.notes.append(
            f"{contract.ASYNC_HEADER}: {contract.ENABLE} is missing: DashScope refuses synchronous video calls "
            "(the playground always sends it)"
        )
    # Several data options are joined with '&', as curl itself does.
    body_text = "&".join(command.data)
    try:
        value = json.loads(body_text)
    except json.JSONDecodeError as exc:
        return ctx.result(
            f"The curl command's body is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        )
    except (ValueError, RecursionError):
        return ctx.result("The curl command's body is not JSON that can be read.")
    return _from_body(value, profile, ctx)


def _curl_context(command: CurlCommand) -> _Context:
    return _Context(
        source="curl",
        url_format=command.url_format,
        notes=command.notes,
        key_discarded=command.key_discarded,
        base_url=command.base_url,
        api_base=command.api_base,
        provider=command.provider,
        async_header=command.async_header,
    )


def _no_body_message(command: CurlCommand) -> str:
    if command.file_body:
        return "The curl command reads its body from a file (@name); paste the file's JSON instead."
    if command.status_task is not None:
        return (
            f"This curl command asks for the status of task {command.status_task[:80]}; paste the command that "
            "creates the task (a POST with a JSON body) instead."
        )
    missing = "" if command.url else " and names no URL"
    return f"The curl command sends no body (-d, --data, --data-raw or --json){missing}; nothing to import."
