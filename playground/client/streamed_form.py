"""A multipart/form-data body whose one file is read from disk while it is sent, never held whole.

httpx's own ``files=`` either takes the file's bytes (a 100 MB clip held in memory for the
whole upload, retries included) or a file object it reads with blocking calls on the event
loop. This body instead opens the file afresh each time it is sent and reads it in 1 MiB
chunks off the loop, so every attempt of a retried upload starts from the file's first byte
and at most a chunk or two of it is in memory at once.

The wire format is httpx's (fields first, then the file; the same escaping of names), and the
length is known up front (the parts' headers plus the file's size), so the request carries a
``Content-Length``: a server can refuse an oversized upload before reading any of it.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024
# Form parameters are escaped as browsers (and httpx) do: quotes and control characters
# percent-encoded, backslashes doubled, so a file name cannot end the header early.
_ESCAPES = {'"': "%22", "\\": "\\\\", **{chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}}
_ESCAPE_RE = re.compile("|".join(re.escape(c) for c in _ESCAPES))


class FileChanged(OSError):
    """The file came out shorter than it was when the upload began (it changed under us)."""


def _param(name: str, value: str) -> bytes:
    return f'{name}="{_ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], value)}"'.encode()


@dataclass(frozen=True)
class StreamedForm:
    """Text ``fields``, then the file at ``path`` as the form field ``name`` with ``filename``."""

    path: Path
    filename: str
    fields: Mapping[str, str] = field(default_factory=dict)
    name: str = "file"
    boundary: str = field(default_factory=lambda: secrets.token_hex(16))

    def _head(self) -> bytes:
        dash = f"--{self.boundary}\r\n".encode()
        parts = [dash + b"Content-Disposition: form-data; " + _param("name", key) + b"\r\n\r\n"
                 + value.encode() + b"\r\n" for key, value in self.fields.items()]
        kind = mimetypes.guess_type(self.filename)[0] or "application/octet-stream"
        parts.append(dash + b"Content-Disposition: form-data; " + _param("name", self.name) + b"; "
                     + _param("filename", self.filename) + f"\r\nContent-Type: {kind}\r\n\r\n".encode())
        return b"".join(parts)

    def _tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    def headers(self, size: int) -> dict[str, str]:
        """Content-Type and Content-Length for a file of ``size`` bytes."""
        length = len(self._head()) + size + len(self._tail())
        return {"Content-Type": f"multipart/form-data; boundary={self.boundary}", "Content-Length": str(length)}

    async def body(self, size: int) -> AsyncIterator[bytes]:
        """The form, with exactly the ``size`` bytes the file held when the request was built.

        Raises :class:`FileChanged` if the file now holds fewer or more bytes than that, and
        OSError if it cannot be opened or read: the request then fails, and nothing other than
        the file as it was measured is ever sent as complete.
        """
        yield self._head()
        handle = await asyncio.to_thread(_open, self.path)
        try:
            left = size
            while left > 0:
                chunk = await asyncio.to_thread(handle.read, min(CHUNK_BYTES, left))
                if not chunk:
                    raise FileChanged("it became shorter while it was being uploaded; attach it again")
                left -= len(chunk)
                yield chunk
            if await asyncio.to_thread(handle.read, 1):
                raise FileChanged("it grew while it was being uploaded; attach it again")
        finally:
            handle.close()  # not awaited: this also runs when the send is abandoned mid-body
        yield self._tail()


def _open(path: Path) -> BinaryIO:
    return path.open("rb")
