"""Per-tab session data, kept on the server and keyed by Gradio's session hash.

The data never travels to the browser or to API clients (a State returned as an output would),
and the API key a tab typed lives here, in memory, until the tab is closed or reloaded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import SecretStr


@dataclass
class TabSession:
    id: str
    api_key: SecretStr | None = None
    browser: str | None = None  # the browser's lasting id, once its storage has told us

    @property
    def owner(self) -> str:
        """Whose runs these are: the browser's, else (API clients) this session's own."""
        return self.browser or self.id


class SessionStore:
    def __init__(self) -> None:
        self._items: dict[str, TabSession] = {}

    def get(self, sid: str | None) -> TabSession:
        """The session's data; a session the store does not know gets fresh, empty data."""
        sid = sid or uuid.uuid4().hex
        return self._items.setdefault(sid, TabSession(sid))

    def drop(self, sid: str | None) -> None:
        if sid:
            self._items.pop(sid, None)

    def __len__(self) -> int:
        return len(self._items)
