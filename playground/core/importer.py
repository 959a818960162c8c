"""Read a request someone pasted: either wire format's JSON, or a curl command from docs or devtools.

:func:`import_request` never raises on what it is given. It answers with an
:class:`ImportResult`: the detected wire format, the request as the request model reads it,
its problems (each with the JSON path and the fix), and everything that could not be carried
over, line by line: unknown fields, headers, curl options, a URL that is no known endpoint.

An API key in the pasted text (an ``Authorization`` header, ``-u``, credentials in the URL) is
never kept: the result only says that one was there and was discarded. Header values, query
strings and unknown options' values are not repeated in any message, since any of them may
hold a secret.

Pure: the text is read with :mod:`shlex` and :mod:`json`; nothing is fetched or opened.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

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

Provider = Literal["sandbox", "dashscope", "gateway"]
Source = Literal["json", "curl"]
KeyPath = tuple[str | int, ...]

CREATE_PATHS: dict[WireFormat, str] = {
    "dashscope": "/services/aigc/video-generation/video-synthesis",
    "gateway": "/videos/generations",
}
_FORMAT_NAMES: dict[WireFormat, str] = {"dashscope": "DashScope", "gateway": "gateway"}
_DASHSCOPE_HOSTS = ("dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com")
# A request nested deeper than this is not a request; refusing early keeps repr and
# validation far from Python's recursion limit.
_MAX_DEPTH = 32
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
    if _CURL_START.match(stripped):
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


def _depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > _MAX_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _type_name(value: object) -> str:
    return {list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(type(value), "a number")


def _from_body(value: object, profile: Profile, ctx: _Context) -> ImportResult:
    what = "JSON" if ctx.source == "json" else "curl command's body"
    if not isinstance(value, dict):
        return ctx.result(
            f"The {what} is {_type_name(value)}, not a request object; "
            'a request looks like {"model": ..., "input": {...}}.'
        )
    if _depth(value) > _MAX_DEPTH:
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
        f"send it to ...{CREATE_PATHS[said]}, or export the request in the {_FORMAT_NAMES[url_format]} format",
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

_CURL_START = re.compile(r"(?:\$\s*)?(?:\S*[/\\])?curl(?:\.exe)?(?:\s|$)", re.IGNORECASE)
_SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "2>", "2>&1", "<"}
_DATA_OPTIONS = {"--data", "--data-ascii", "--data-binary", "--data-raw", "--json", "--data-urlencode"}
# Options whose value may be a credential: taken, never kept, never repeated.
_CREDENTIAL_OPTIONS = {"--user", "--oauth2-bearer", "--cookie", "--cert", "--key", "--pass", "--proxy-user",
                       "--proxy-header"}
_SHORT_NAMES = {"d": "--data", "H": "--header", "X": "--request", "F": "--form", "u": "--user", "b": "--cookie",
                "E": "--cert", "U": "--proxy-user", "T": "--upload-file", "G": "--get", "I": "--head"}
# Short options that take a value (curl's own list); any other letter is a switch.
_SHORT_WITH_VALUE = set("AbcCdDeEFHKmoPQrtTuUwxXyYz")
# Long options with a value that has no bearing on the request (timeouts, output, TLS...).
_IGNORED_WITH_VALUE = {
    "--output", "--max-time", "--connect-timeout", "--write-out", "--retry", "--retry-delay", "--retry-max-time",
    "--user-agent", "--referer", "--proxy", "--resolve", "--connect-to", "--cacert", "--capath", "--cookie-jar",
    "--limit-rate", "--range", "--time-cond", "--interface", "--dns-servers", "--config", "--expect100-timeout",
    "--keepalive-time", "--output-dir", "--dump-header", "--trace", "--trace-ascii", "--stderr", "--max-redirs",
    "--max-filesize", "--speed-time", "--speed-limit", "--continue-at", "--ciphers", "--cert-type", "--key-type",
    "--noproxy", "--unix-socket", "--abstract-unix-socket", "--local-port", "--aws-sigv4", "--variable",
    "--proxy-cacert", "--socks5", "--socks5-hostname", "--preproxy", "--happy-eyeballs-timeout-ms",
}
_SHORT_IGNORED = {"A": "--user-agent", "c": "--cookie-jar", "C": "--continue-at", "D": "--dump-header",
                  "e": "--referer", "K": "--config", "m": "--max-time", "o": "--output", "P": "--ftp-port",
                  "Q": "--quote", "r": "--range", "t": "--telnet-option", "w": "--write-out", "x": "--proxy",
                  "y": "--speed-time", "Y": "--speed-limit", "z": "--time-cond"}
# Switches that change nothing about what is sent; said nothing about.
_HARMLESS_SWITCHES = {
    "--silent", "--show-error", "--location", "--insecure", "--verbose", "--include", "--fail", "--fail-with-body",
    "--compressed", "--no-buffer", "--globoff", "--http1.0", "--http1.1", "--http2", "--http2-prior-knowledge",
    "--http3", "--ipv4", "--ipv6", "--progress-bar", "--location-trusted", "--no-progress-meter", "--tcp-nodelay",
    "--remote-name", "--remote-header-name", "--retry-all-errors", "--retry-connrefused", "--no-keepalive",
    "--raw", "--path-as-is", "--ssl-no-revoke", "--tr-encoding", "--fail-early", "--no-sessionid",
}
_HARMLESS_SHORT = set("sSLkvifNg#0123456qOjJlnRZ")
_LONG_WITH_VALUE = (
    _DATA_OPTIONS
    | _CREDENTIAL_OPTIONS
    | _IGNORED_WITH_VALUE
    | {"--header", "--request", "--url", "--form", "--form-string", "--upload-file"}
)


@dataclass
class _Command:
    """The parts of a curl command that matter to a request."""

    url: str | None = None
    method: str | None = None
    data: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    file_body: bool = False
    notes: list[str] = field(default_factory=list)
    key_discarded: bool = False


def _from_curl(text: str, profile: Profile) -> ImportResult:
    try:
        tokens = shlex.split(_prepare(text))
    except ValueError as exc:
        return ImportResult(f"Could not split the curl command: {exc} (check its quotes).", source="curl")
    # Skip a copied shell prompt ("$ curl ..."): the options start after the word curl.
    start = next((i + 1 for i, t in enumerate(tokens) if _CURL_START.fullmatch(t + " ")), len(tokens))
    command = _read_options(tokens[start:])
    ctx = _Context(source="curl", notes=command.notes, key_discarded=command.key_discarded)
    status_task = _read_url(command.url, ctx)
    _read_headers(command.headers, ctx)
    if command.method is not None and command.method != "POST":
        ctx.notes.append(f"method {command.method[:20]} (not imported): the create endpoint takes POST")
    if not command.data:
        if command.file_body:
            return ctx.result("The curl command reads its body from a file (@name); paste the file's JSON instead.")
        if status_task is not None:
            return ctx.result(
                f"This curl command asks for the status of task {status_task[:80]}; paste the command that "
                "creates the task (a POST with a JSON body) instead."
            )
        missing = "" if command.url else " and names no URL"
        return ctx.result(
            f"The curl command sends no body (-d, --data, --data-raw or --json){missing}; nothing to import."
        )
    if ctx.url_format == "dashscope" and not ctx.async_header:
        ctx.notes.append(
            "X-DashScope-Async: enable is missing: DashScope refuses synchronous video calls "
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


def _prepare(text: str) -> str:
    """The command with line continuations joined and bash's $'...' strings made plain quotes.

    shlex knows neither: a backslash-newline would stay in a token, and browsers' "Copy as cURL
    (bash)" writes bodies holding quotes or non-ASCII text as $'...'.
    """
    text = text.replace("\r\n", "\n")
    out: list[str] = []
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if quote == "'":
            quote = None if char == "'" else quote
            out.append(char)
            i += 1
        elif char == "\\" and i + 1 < n:
            if text[i + 1] != "\n":  # a backslash-newline outside single quotes joins lines
                out.append(text[i : i + 2])
            i += 2
        elif quote is None and char == "$" and text.startswith("'", i + 1):
            end, decoded = _ansi_c(text, i + 2)
            if end < 0:  # unterminated: leave it for shlex to report
                out.append(text[i:])
                break
            out.append("'" + decoded.replace("'", "'\"'\"'") + "'")
            i = end
        else:
            if char == '"':
                quote = None if quote == '"' else '"'
            elif char == "'" and quote is None:
                quote = "'"
            out.append(char)
            i += 1
    return "".join(out)


_ANSI_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b",
                "E": "\x1b", "\\": "\\", "'": "'", '"': '"', "?": "?"}


def _ansi_c(text: str, start: int) -> tuple[int, str]:
    """Decode a $'...' body from ``start``; (index after the closing quote, text), or (-1, '')."""
    raw = bytearray()
    i, n = start, len(text)
    while i < n:
        char = text[i]
        if char == "'":
            return i + 1, raw.decode("utf-8", errors="replace")
        if char != "\\" or i + 1 >= n:
            raw += char.encode("utf-8", errors="replace")
            i += 1
            continue
        code = text[i + 1]
        if code in _ANSI_SIMPLE:
            raw += _ANSI_SIMPLE[code].encode()
            i += 2
        elif code in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[code]
            digits = re.match(rf"[0-9a-fA-F]{{1,{width}}}", text[i + 2 : i + 2 + width])
            if digits is None:
                raw += text[i : i + 2].encode()
                i += 2
                continue
            number = int(digits.group(), 16)
            # \xHH is one byte (UTF-8 text arrives as several); \u and \U are characters.
            raw += bytes([number]) if code == "x" else chr(min(number, 0x10FFFF)).encode("utf-8", errors="replace")
            i += 2 + len(digits.group())
        elif code in "01234567":
            digits = re.match(r"[0-7]{1,3}", text[i + 1 : i + 4])
            assert digits is not None
            raw += bytes([int(digits.group(), 8) & 0xFF])
            i += 1 + len(digits.group())
        else:
            raw += text[i : i + 2].encode("utf-8", errors="replace")
            i += 2
    return -1, ""


def _options(tokens: list[str]) -> Iterator[tuple[str, str | None, bool]]:
    """(option, value, took_value) per option, and ("", token, False) per plain argument.

    Short options cluster as curl allows (``-sSX POST``, ``-XPOST``): the first letter that
    takes a value takes the rest of the token, or else the next token.
    """
    i = 0
    value: str | None
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":
            yield from (("", rest, False) for rest in tokens[i:])
            return
        if token.startswith("--"):
            if token in _LONG_WITH_VALUE:
                value = tokens[i] if i < len(tokens) else None
                i += 1
                yield token, value, True
            else:
                yield token, None, False
            continue
        if token.startswith("-") and len(token) > 1:
            for j, letter in enumerate(token[1:], start=1):
                if letter in _SHORT_WITH_VALUE:
                    rest = token[j + 1 :]
                    if rest:
                        value = rest
                    else:
                        value = tokens[i] if i < len(tokens) else None
                        i += 1
                    yield "-" + letter, value, True
                    break
                yield "-" + letter, None, False
            continue
        yield "", token, False


def _read_options(tokens: list[str]) -> _Command:
    command = _Command()
    extra_arguments = 0
    for index, token in enumerate(tokens):
        if token in _SHELL_OPERATORS:
            command.notes.append(f"everything from {token!r} on (not imported): it is another shell command")
            tokens = tokens[:index]
            break
    for option, value, took in _options(tokens):
        if option == "":
            if command.url is None and value is not None and _looks_like_url(value):
                command.url = value
            else:
                extra_arguments += 1
            continue
        letter = "" if option.startswith("--") else option[1]
        name = _SHORT_NAMES.get(letter, _SHORT_IGNORED.get(letter, option)) if letter else option
        if took and value is None:
            command.notes.append(f"{option} (not imported): it has no value")
        elif name in _DATA_OPTIONS and value is not None:
            _take_data(command, name, value)
        elif name in ("--header",) and value is not None:
            if value.startswith("@"):
                command.notes.append("headers read from a file (not imported)")
            else:
                command.headers.append(value)
        elif name == "--request" and value is not None:
            command.method = value.upper()
        elif name == "--url" and value is not None:
            command.url = value
        elif name in ("--form", "--form-string"):
            command.notes.append(f"{option} (not imported): a multipart form is not a video request")
        elif name in _CREDENTIAL_OPTIONS:
            command.key_discarded = True
            command.notes.append(f"{option} (not imported): a credential; it was discarded, not kept")
        elif name == "--upload-file":
            command.file_body = True
        elif name == "--get":
            command.method = "GET"
        elif name == "--head":
            command.method = "HEAD"
        elif not _irrelevant(name, letter):
            command.notes.append(f"curl option {option[:40]} (not imported): not something a request carries")
    if extra_arguments:
        command.notes.append(f"{_count(extra_arguments, 'extra argument')} (not imported)")
    return command


def _irrelevant(name: str, letter: str) -> bool:
    """Whether an option only shapes how curl runs (output, timeouts, TLS), not what is sent."""
    if letter:
        return letter in _HARMLESS_SHORT or letter in _SHORT_IGNORED
    return name in _IGNORED_WITH_VALUE or name in _HARMLESS_SWITCHES


def _take_data(command: _Command, name: str, value: str) -> None:
    if name == "--data-urlencode":
        command.notes.append("--data-urlencode (not imported): it sends a form field, not JSON")
    elif name != "--data-raw" and value.startswith("@"):
        command.file_body = True  # curl reads the body from that file; the file is not here
    else:
        command.data.append(value)
        if name == "--json":
            command.headers.append("Content-Type: application/json")


def _looks_like_url(value: str) -> bool:
    """Whether a plain argument is the URL: with a scheme, or a host like curl accepts bare."""
    if "://" in value:
        return True
    host = re.match(r"(?:[^@/\s]*@)?([\w.\-]+)(?::\d+)?(?:[/?#]|$)", value)
    return host is not None and ("." in host.group(1) or host.group(1).lower() == "localhost")


def _read_url(url: str | None, ctx: _Context) -> str | None:
    """Fill in the endpoint facts of the command's URL; the task id when it is a status URL."""
    if url is None:
        ctx.notes.append("the URL (not imported): the command names none")
        return None
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)  # curl's own default scheme
        host, port = parts.hostname, parts.port
    except ValueError:
        ctx.notes.append("the URL (not imported): it could not be read")
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        ctx.notes.append("the URL (not imported): it is not an http(s) URL")
        return None
    if parts.username or parts.password:
        ctx.key_discarded = True
        ctx.notes.append("credentials in the URL (not imported): discarded, not kept")
    if parts.query:
        ctx.notes.append("the URL's query string (not imported): the create endpoint takes none")
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    origin = f"{parts.scheme.lower()}://{netloc}"
    path = parts.path.rstrip("/")
    for fmt, suffix in CREATE_PATHS.items():
        if path.endswith(suffix):
            _set_endpoint(ctx, fmt, origin, path[: -len(suffix)], host)
            return None
    status = re.fullmatch(r"(.*)/(tasks|videos/generations)/([^/]+)", path)
    if status is not None:
        fmt = "dashscope" if status.group(2) == "tasks" else "gateway"
        _set_endpoint(ctx, fmt, origin, status.group(1), host)
        ctx.notes.append("the URL (not imported): it reads a task's status; the create endpoint is "
                         f"...{CREATE_PATHS[fmt]}")
        return status.group(3)
    ctx.notes.append(
        f"the URL {origin}{path[:120]} (not imported): not a Wan 2.7 create endpoint "
        f"(...{CREATE_PATHS['dashscope']} or ...{CREATE_PATHS['gateway']}), so the base URL is unknown"
    )
    return None


def _set_endpoint(ctx: _Context, fmt: WireFormat, origin: str, prefix: str, host: str) -> None:
    ctx.url_format = fmt
    ctx.api_base = origin + prefix
    api_tail = "/api/v1" if fmt == "dashscope" else "/v1"
    if host.lower() in _DASHSCOPE_HOSTS or host.lower().endswith(".maas.aliyuncs.com"):
        ctx.provider, ctx.base_url = "dashscope", ctx.api_base
    elif prefix.endswith("/sandbox" + api_tail):
        # The sandbox is configured by its mount; the API paths hang off /api/v1 or /v1 below it.
        ctx.provider, ctx.base_url = "sandbox", origin + prefix[: -len(api_tail)]
    else:
        # A gateway, or a DashScope pass-through on another host: either way a base URL to keep.
        ctx.provider = "dashscope" if fmt == "dashscope" else "gateway"
        ctx.base_url = ctx.api_base


_CREDENTIAL_HEADERS = {"x-api-key", "api-key", "apikey", "x-dashscope-api-key", "cookie", "proxy-authorization"}


def _read_headers(headers: list[str], ctx: _Context) -> None:
    for header in headers:
        name, colon, value = header.partition(":")
        key = name.strip().lower()
        shown = name.strip() if re.fullmatch(r"[A-Za-z0-9\-_]{1,60}", name.strip()) else "a header"
        if not colon:
            ctx.notes.append("a header without 'Name: value' (not imported)")
        elif key == "authorization":
            ctx.key_discarded = True
            ctx.notes.append(
                "Authorization header (not imported): the API key in it was discarded, not kept; "
                "the playground sends the key from its own settings"
            )
        elif key in _CREDENTIAL_HEADERS:
            ctx.key_discarded = True
            ctx.notes.append(f"{shown} header (not imported): a credential; it was discarded, not kept")
        elif key == "content-type":
            if "json" not in value.lower():
                ctx.notes.append(f"Content-Type {value.strip()[:40]} (not imported): the APIs take application/json")
        elif key == "x-dashscope-async":
            ctx.async_header = True
            if value.strip().lower() != "enable":
                ctx.notes.append("X-DashScope-Async (not imported): its value must be 'enable'")
        else:
            ctx.notes.append(f"{shown} header (not imported): the request carries only Authorization, "
                             "Content-Type and X-DashScope-Async")
