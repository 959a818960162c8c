"""Reading a JSON file someone hands the command line: one reader, one-line answers.

:func:`read_request_file` is what ``validate`` reads its FILE with (``-`` is stdin), and what
``submit`` is to read it with (``client/cli.py`` still has its own ``_read_request``);
:func:`read_json_file` is the same reading for any JSON document (profile files use it).
Whatever the file holds, the answer is the decoded value or a :class:`JsonFileError` whose
text is one printable line naming the file and what is wrong with it:

* no such file, a folder, no permission;
* more than :data:`MAX_JSON_BYTES` (checked before reading a regular file, and while
  reading stdin, never after reading it all);
* empty or only whitespace; a byte-order mark; UTF-16; bytes that are not UTF-8, with their
  offset; binary data (NUL bytes);
* not JSON, with line and column; nested past Python's recursion limit or past
  :data:`MAX_DEPTH`; a number longer than Python converts;
* (for a request) a JSON value that is not an object.

Text escapes such as ``"\\ud800"`` are valid JSON and decode to unpaired surrogates; they are
kept, not refused here, because the request check names the JSON path that holds one
(``input.prompt: holds an unpaired surrogate``), which says more than a file-level line could.
Names shown in messages are escaped, so a file name with a newline or undecodable bytes
(which Python holds as surrogates) still makes one line that can be printed.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, BinaryIO

# The largest valid request is a video edit with four 20 MB reference images sent as data:
# URIs, about 107 MB of base64; anything beyond this cap cannot be a request.
MAX_JSON_BYTES = 128 * 1024 * 1024
# A request is five levels deep at most (input.media[0].url); a value nested deeper than this
# is not a request, and refusing it early keeps the recursive code after this far from
# Python's recursion limit.
MAX_DEPTH = 32
STDIN = "-"


class JsonFileError(ValueError):
    """A file that cannot be read as the JSON asked for; ``str()`` is one line naming it."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(message))


def printable(text: str) -> str:
    """``text`` as one printable line: line breaks, control characters and surrogates escaped.

    Surrogates stand for undecodable bytes in file names; printing one would raise.
    """
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def shown_name(path: str | Path) -> str:
    """How messages name a file: its path, or "stdin" for ``-``."""
    return "stdin" if str(path) == STDIN else printable(str(path))


def read_request_file(path: str | Path, *, stdin: BinaryIO | None = None,
                      max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The JSON object in a request file (``-``: stdin); raises :class:`JsonFileError`."""
    value = read_json_file(path, stdin=stdin, max_bytes=max_bytes, what="a JSON request")
    if not isinstance(value, dict):
        raise JsonFileError(
            f"{shown_name(path)}: the request must be a JSON object ({{\"model\": ..., \"input\": {{...}}}}), "
            f"not {_kind(value)}"
        )
    return value


def read_json_file(path: str | Path, *, label: str | None = None, what: str = "a JSON document",
                   stdin: BinaryIO | None = None, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The JSON value in a file (``-``: stdin); raises :class:`JsonFileError`.

    ``label`` names the file in messages (default: its path); ``what`` says what it should hold.
    """
    name = label or shown_name(path)
    raw = _read_stdin(name, stdin, max_bytes) if str(path) == STDIN else _read_file(Path(path), name, max_bytes)
    return decode_json(raw, name, what=what)


def decode_json(raw: bytes, name: str, *, what: str = "a JSON document", max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``raw`` (UTF-8 bytes); raises :class:`JsonFileError` naming ``name``."""
    if not raw.strip():
        raise JsonFileError(f"{name}: the file is empty; it should hold {what}")
    text = _text(raw, name)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"{name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise JsonFileError(f"{name}: JSON that cannot be read: nested too deeply") from None
    except ValueError as exc:
        # The decoder refuses an integer longer than Python converts (4300 digits).
        raise JsonFileError(f"{name}: JSON that cannot be read: {str(exc).split(';')[0]}") from None
    if depth_exceeds(value, max_depth):
        raise JsonFileError(f"{name}: JSON nested more than {max_depth} levels deep, far deeper than {what} is")
    return value


def depth_exceeds(value: object, limit: int) -> bool:
    """Whether a decoded JSON value nests deeper than ``limit`` (a scalar is depth 1).

    Iterative, so a value nested past the recursion limit is measured without recursing.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return False


# -- the steps ----------------------------------------------------------------------------------


def _read_file(path: Path, name: str, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as file:
            size = _regular_size(file)
            if size is not None and size > max_bytes:
                raise JsonFileError(_too_big(name, max_bytes, f"it is {_megabytes(size)}"))
            # Read one byte past the cap: files that report no size (pipes, /proc) are capped too.
            raw = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise JsonFileError(f"{name}: no such file") from None
    except OSError as exc:  # a folder, no permission, an I/O error
        raise JsonFileError(f"{name}: cannot read it ({exc.__class__.__name__}: {exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise JsonFileError(_too_big(name, max_bytes, "it is larger"))
    return raw


def _regular_size(file: BinaryIO) -> int | None:
    info = os.fstat(file.fileno())
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _read_stdin(name: str, stdin: BinaryIO | None, max_bytes: int) -> bytes:
    # Bytes, not sys.stdin's text: its decoding depends on the locale and may turn bad bytes
    # into surrogates instead of an error naming them.
    source = stdin if stdin is not None else sys.stdin.buffer
    try:
        raw = source.read(max_bytes + 1)
    except OSError as exc:
        raise JsonFileError(f"{name}: cannot read it ({exc.__class__.__name__}: {exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise JsonFileError(_too_big(name, max_bytes, "it is larger"))
    return raw


def _text(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise JsonFileError(f"{name}: cannot read it: it is UTF-16 text; save it as UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise JsonFileError(f"{name}: not valid JSON: it starts with a byte-order mark; save it as UTF-8 without one")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        raise JsonFileError(
            f"{name}: cannot read it: byte 0x{bad} at offset {exc.start} is not UTF-8 "
            "(a binary file, or text in another encoding?); save it as UTF-8 JSON"
        ) from None
    if "\x00" in text:
        # Valid UTF-8, but no JSON text holds a raw NUL: UTF-16 without a BOM, or binary data.
        raise JsonFileError(f"{name}: not JSON text: it holds a NUL byte at offset {raw.index(0)} "
                            "(a binary file, or UTF-16 text?)")
    return text


def _too_big(name: str, max_bytes: int, size: str) -> str:
    return f"{name}: too large to be a request: {size}; the limit is {_megabytes(max_bytes)}"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    return "null" if value is None else "a number"
