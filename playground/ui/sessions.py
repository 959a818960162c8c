"""Per-tab session data, kept on the server and keyed by Gradio's session hash.

The data never travels to the browser or to API clients (a State returned as an output would),
and the API key a tab typed lives here, in memory, until the tab is closed or reloaded. Each
entry is bound to the owner (browser or API session) that made it: a request from another
owner that presents the same session hash gets fresh, empty data, never this tab's key.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


@dataclass
class TabSession:
    id: str
    owner: str  # the browser's signed id, or (API clients) the session's own id
    api_key: SecretStr | None = None


class SessionStore:
    def __init__(self) -> None:
        self._items: dict[str, TabSession] = {}

    def get(self, sid: str, owner: str) -> TabSession:
        """The session's data for this owner; anything else gets fresh, empty data."""
        found = self._items.get(sid)
        if found is None or found.owner != owner:
            found = self._items[sid] = TabSession(sid, owner)
        return found

    def drop(self, sid: str | None) -> None:
        if sid:
            self._items.pop(sid, None)

    def __len__(self) -> int:
        return len(self._items)
