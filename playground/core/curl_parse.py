"""Reading a curl command the way a shell and curl would: what it sends, and where.

A command pasted from docs or a browser's devtools ("Copy as cURL (bash)") is split like bash
splits it (line continuations, ``$'...'`` strings, quotes), its options are read like curl reads
them (clustered short flags, ``-XPOST``, ``--json``), and its URL and headers are matched
against the contract's endpoints. :func:`read_curl` answers with a :class:`CurlCommand`: the
body text, the endpoint facts, and one note per thing that is no part of a video request.

Credentials (an ``Authorization`` header, ``-u``, credentials in the URL) are never kept: the
command only says one was there. Header values, query strings and unknown options' values are
never repeated in a note, since any of them may hold a secret.

Pure: :mod:`shlex` and string handling only; nothing is fetched or opened.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from playground.core import contract
from playground.core.wire import WireFormat

Provider = Literal["sandbox", "dashscope", "gateway"]

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
class CurlCommand:
    """What a curl command sends and where, and what it holds that a request does not carry.

    ``url_format`` is the wire format its URL's endpoint speaks; ``api_base`` the URL the API
    paths hang off; ``base_url`` what a provider of kind ``provider`` is configured with (for
    the sandbox, its mount). ``status_task`` is the task id when the URL reads a task's status.
    """

    url: str | None = None
    method: str | None = None
    data: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    file_body: bool = False
    notes: list[str] = field(default_factory=list)
    key_discarded: bool = False
    url_format: WireFormat | None = None
    api_base: str | None = None
    base_url: str | None = None
    provider: Provider | None = None
    status_task: str | None = None
    async_header: bool = False


def looks_like_curl(text: str) -> bool:
    """Whether pasted text is a curl command (possibly after a copied shell prompt)."""
    return _CURL_START.match(text.strip()) is not None


def read_curl(text: str) -> CurlCommand:
    """What a curl command sends; raises ValueError when its quoting cannot be split."""
    tokens = shlex.split(_prepare(text))
    # Skip a copied shell prompt ("$ curl ..."): the options start after the word curl.
    start = next((i + 1 for i, t in enumerate(tokens) if _CURL_START.fullmatch(t + " ")), len(tokens))
    command = _read_options(tokens[start:])
    command.status_task = _read_url(command)
    _read_headers(command)
    if command.method is not None and command.method != "POST":
        command.notes.append(f"method {command.method[:20]} (not imported): the create endpoint takes POST")
    return command


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


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


def _read_options(tokens: list[str]) -> CurlCommand:
    command = CurlCommand()
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


def _take_data(command: CurlCommand, name: str, value: str) -> None:
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


_CREATE_PATHS = {fmt: endpoints.create for fmt, endpoints in contract.ENDPOINTS.items()}
# A status URL: {api base}/tasks/<id> or {api base}/videos/generations/<id>.
_STATUS_PREFIXES = {endpoints.task_prefix().strip("/"): fmt for fmt, endpoints in contract.ENDPOINTS.items()}
_STATUS_URL = re.compile("(.*)/(" + "|".join(map(re.escape, _STATUS_PREFIXES)) + ")/([^/]+)")


def _read_url(command: CurlCommand) -> str | None:
    """Fill in the endpoint facts of the command's URL; the task id when it is a status URL."""
    url = command.url
    if url is None:
        command.notes.append("the URL (not imported): the command names none")
        return None
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)  # curl's own default scheme
        host, port = parts.hostname, parts.port
    except ValueError:
        command.notes.append("the URL (not imported): it could not be read")
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        command.notes.append("the URL (not imported): it is not an http(s) URL")
        return None
    if parts.username or parts.password:
        command.key_discarded = True
        command.notes.append("credentials in the URL (not imported): discarded, not kept")
    if parts.query:
        command.notes.append("the URL's query string (not imported): the create endpoint takes none")
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    origin = f"{parts.scheme.lower()}://{netloc}"
    path = parts.path.rstrip("/")
    for fmt, suffix in _CREATE_PATHS.items():
        if path.endswith(suffix):
            _set_endpoint(command, fmt, origin, path[: -len(suffix)], host)
            return None
    status = _STATUS_URL.fullmatch(path)
    if status is not None:
        fmt = _STATUS_PREFIXES[status.group(2)]
        _set_endpoint(command, fmt, origin, status.group(1), host)
        command.notes.append("the URL (not imported): it reads a task's status; the create endpoint is "
                             f"...{_CREATE_PATHS[fmt]}")
        return status.group(3)
    command.notes.append(
        f"the URL {origin}{path[:120]} (not imported): not a Wan 2.7 create endpoint "
        f"(...{_CREATE_PATHS['dashscope']} or ...{_CREATE_PATHS['gateway']}), so the base URL is unknown"
    )
    return None


def _set_endpoint(command: CurlCommand, fmt: WireFormat, origin: str, prefix: str, host: str) -> None:
    command.url_format = fmt
    command.api_base = origin + prefix
    api_root = contract.API_ROOT[fmt]
    if contract.is_dashscope_host(host):
        command.provider, command.base_url = "dashscope", command.api_base
    elif prefix.endswith("/sandbox" + api_root):
        # The sandbox is configured by its mount; the API paths hang off /api/v1 or /v1 below it.
        command.provider, command.base_url = "sandbox", origin + prefix[: -len(api_root)]
    else:
        # A gateway, or a DashScope pass-through on another host: either way a base URL to keep.
        command.provider = "dashscope" if fmt == "dashscope" else "gateway"
        command.base_url = command.api_base


_CREDENTIAL_HEADERS = {"x-api-key", "api-key", "apikey", "x-dashscope-api-key", "cookie", "proxy-authorization"}
_CARRIED = f"{contract.AUTHORIZATION}, Content-Type and {contract.ASYNC_HEADER}"


def _read_headers(command: CurlCommand) -> None:
    for header in command.headers:
        name, colon, value = header.partition(":")
        key = name.strip().lower()
        shown = name.strip() if re.fullmatch(r"[A-Za-z0-9\-_]{1,60}", name.strip()) else "a header"
        if not colon:
            command.notes.append("a header without 'Name: value' (not imported)")
        elif key == contract.AUTHORIZATION.lower():
            command.key_discarded = True
            command.notes.append(
                "Authorization header (not imported): the API key in it was discarded, not kept; "
                "the playground sends the key from its own settings"
            )
        elif key in _CREDENTIAL_HEADERS:
            command.key_discarded = True
            command.notes.append(f"{shown} header (not imported): a credential; it was discarded, not kept")
        elif key == "content-type":
            if "json" not in value.lower():
                command.notes.append(
                    f"Content-Type {value.strip()[:40]} (not imported): the APIs take application/json"
                )
        elif key == contract.ASYNC_HEADER.lower():
            command.async_header = True
            if value.strip().lower() != contract.ENABLE:
                command.notes.append(f"{contract.ASYNC_HEADER} (not imported): its value must be '{contract.ENABLE}'")
        else:
            command.notes.append(f"{shown} header (not imported): the request carries only {_CARRIED}")
